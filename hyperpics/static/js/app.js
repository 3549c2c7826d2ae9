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
    root.querySelectorAll(".flash-success, .flash-info, .toast").forEach(function (flash) {
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

// Hover cards: htmx waits 300 ms after mouseenter/focus, but a delay is not cancelled by
// mouseleave; so when the time comes, ask only if the name is still hovered or focused.
(function () {
  "use strict";
  // Escape closes an open card (WCAG 1.4.13: dismissable without moving the pointer); it
  // stays closed until the pointer or the focus leaves the name, and focus goes back to it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".user-hover").forEach(function (wrapper) {
      if (!wrapper.matches(":hover") && !wrapper.contains(document.activeElement)) return;
      wrapper.classList.add("card-dismissed");
      var slot = wrapper.querySelector(".card-slot");
      if (slot && slot.contains(document.activeElement)) wrapper.querySelector(".user-link").focus();
    });
  });
  function undismiss(event) {
    var wrapper = event.target.closest && event.target.closest(".user-hover.card-dismissed");
    if (wrapper && !wrapper.contains(event.relatedTarget)) wrapper.classList.remove("card-dismissed");
  }
  document.addEventListener("mouseout", undismiss);
  document.addEventListener("focusout", undismiss);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var link = event.detail.elt;
    if (!link.classList || !link.classList.contains("user-link")) return;
    if (!link.matches(":hover") && document.activeElement !== link) event.preventDefault();
    // A card already on the page stays as it is (its follow button keeps it current).
    var slot = link.nextElementSibling;
    if (slot && slot.classList.contains("card-slot") && slot.children.length) event.preventDefault();
  });
})();

// Admin tables: the header checkbox checks or clears every row's box.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.classList || !all.classList.contains("check-all")) return;
    var table = all.closest("table");
    table.querySelectorAll("tbody input[type=checkbox][name=ids]").forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();

// The theme switch (user menu): the server saved the choice; show it now, without a reload.
(function () {
  "use strict";
  document.body.addEventListener("theme-changed", function (event) {
    var theme = event.detail.value;
    if (theme === "light" || theme === "dark") {
      document.documentElement.dataset.theme = theme;
    } else {
      delete document.documentElement.dataset.theme;
    }
    document.querySelectorAll(".theme-switch button[name=theme]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.value === theme));
    });
  });
})();

// After a follow: the new follower count, wherever the page shows it (the profile's tab has an
// id, hover cards a class); a page that shows none has nothing to update.
(function () {
  "use strict";
  document.body.addEventListener("follower-count", function (event) {
    var user = String(event.detail.user), count = String(event.detail.count);
    document.querySelectorAll("#follower-count-" + user + ", .follower-count-" + user).forEach(function (shown) {
      shown.textContent = count;
    });
  });
})();
