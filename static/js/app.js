// Small behaviours HTMX does not cover: the mobile menu, the workspace switcher, copy buttons, and
// a toast (through toasts.js) when an HTMX request is refused (htmx does not swap 4xx/5xx bodies).
(function () {
  "use strict";

  // Toasts are rendered and dismissed by toasts.js (loaded before this file) only.
  function showToast(level, message) {
    if (window.ComputeHub && window.ComputeHub.toast) window.ComputeHub.toast(level, message);
  }

  function toggleMenu(button) {
    var header = button.closest(".site-header");
    var open = header.getAttribute("data-nav-open") !== "true";
    header.setAttribute("data-nav-open", String(open));
    button.setAttribute("aria-expanded", String(open));
  }

  function copyFrom(button) {
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied!";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done);
    } else if (document.execCommand("copy")) {
      done();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var menu = target.closest("[data-menu-toggle]");
    if (menu) toggleMenu(menu);
    var copy = target.closest("[data-copy]");
    if (copy) copyFrom(copy);
    document.querySelectorAll("details.user-menu[open]").forEach(function (details) {
      if (!details.contains(target)) details.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (d) { d.removeAttribute("open"); });
  });

  // The server sends "__new__" to the create page, so every choice is just a submit.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-workspace-switcher] select");
    if (select) select.form.requestSubmit();
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  var REFUSALS = {
    403: "You don't have permission to do that. Ask an Admin of this workspace.",
    404: "That item no longer exists. Reload the page to see the current state.",
    429: "Too many requests. Wait a minute and try again.",
  };
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    showToast("error", REFUSALS[status] || "Something went wrong (" + status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("error", "Could not reach ComputeHub. Check your connection and try again.");
  });
})();
