// The little JavaScript hyperpics needs; htmx does the rest. Every page works without it.
(function () {
  "use strict";

  // Dismiss a message; success and info messages also fade out on their own.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".flash-close");
    if (button) {
      button.closest(".flash").remove();
    }
  });

  function autoDismiss(root) {
    root.querySelectorAll(".flash-success, .flash-info").forEach(function (flash) {
      if (flash.dataset.timer) return;
      flash.dataset.timer = "1";
      setTimeout(function () { flash.remove(); }, 6000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { autoDismiss(document); });
  document.addEventListener("htmx:afterSettle", function () { autoDismiss(document); });

  // Close an open dropdown menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
})();
