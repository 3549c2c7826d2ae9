// The nav search box as an ARIA 1.2 combobox (templates/partials/nav.html). htmx fills
// #search-suggestions with a listbox of link options; here: aria-expanded follows it, the
// arrow keys move the active option (aria-activedescendant + aria-selected) while focus stays
// in the box, Enter follows the active option (or submits the search when there is none),
// Escape closes. Without JavaScript the box is a plain GET form to /search.
(function () {
  "use strict";

  function parts(input) {
    var form = input && input.closest && input.closest("form.nav-search");
    var box = form && form.querySelector("#search-suggestions");
    return box ? { input: input, box: box } : null;
  }

  function options(box) {
    return Array.prototype.slice.call(box.querySelectorAll("[role=option]"));
  }

  function activate(input, box, option) {
    options(box).forEach(function (each) { each.setAttribute("aria-selected", String(each === option)); });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function sync(input, box) {
    var open = options(box).length > 0;
    input.setAttribute("aria-expanded", String(open));
    input.removeAttribute("aria-activedescendant");
  }

  function close(input, box) {
    box.textContent = "";
    box.removeAttribute("role");  // an empty listbox would lack its required options
    box.removeAttribute("aria-label");
    sync(input, box);
  }

  // A new answer replaced #search-suggestions (outerHTML): nothing in it is active yet.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("form.nav-search input[role=combobox]").forEach(function (input) {
      var found = parts(input);
      if (found) sync(found.input, found.box);
    });
  });

  document.addEventListener("keydown", function (event) {
    var found = parts(event.target);
    if (!found || event.target.getAttribute("role") !== "combobox") return;
    var input = found.input, box = found.box, all = options(box);
    var active = document.getElementById(input.getAttribute("aria-activedescendant") || "");
    var at = active ? all.indexOf(active) : -1;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) {
        // Closed (Escape) with text in the box: ask again, as typing would.
        if (event.key === "ArrowDown" && input.value.trim() && window.htmx) window.htmx.trigger(input, "search");
        return;
      }
      event.preventDefault();  // the caret stays where it is
      var step = event.key === "ArrowDown" ? 1 : -1;
      var next = at === -1 ? (step === 1 ? 0 : all.length - 1) : (at + step + all.length) % all.length;
      activate(input, box, all[next]);
    } else if (event.key === "Enter") {
      if (active && all.indexOf(active) !== -1) {
        event.preventDefault();
        window.location.assign(active.href);
      }  // else: the form submits, a plain search
    } else if (event.key === "Escape") {
      if (all.length || box.textContent.trim()) {
        event.preventDefault();  // a type=search box would also clear its text
        close(input, box);
      }
    } else if (event.key === "Home" || event.key === "End") {
      activate(input, box, null);  // they move the caret in the box, as in the APG example
    }
  });

  // The pointer shows which option it is on, as the keys do.
  document.addEventListener("mouseover", function (event) {
    var option = event.target.closest && event.target.closest("#search-suggestions [role=option]");
    var found = option && parts(option.closest("form.nav-search").querySelector("input[role=combobox]"));
    if (found) activate(found.input, found.box, option);
  });

  // Focus leaving the box and its list closes it (after a moment, so that a click on an option lands).
  document.addEventListener("focusout", function (event) {
    var form = event.target.closest && event.target.closest("form.nav-search");
    if (!form || form.contains(event.relatedTarget)) return;
    var found = parts(form.querySelector("input[role=combobox]"));
    if (found) setTimeout(function () { if (!form.contains(document.activeElement)) close(found.input, found.box); }, 150);
  });
})();
