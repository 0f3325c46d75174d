// Small behaviours HTMX does not cover: the mobile menu, the workspace switcher, toast dismissal,
// copy buttons, and a toast when an HTMX request is refused (htmx does not swap 4xx/5xx bodies).
(function () {
  "use strict";

  var TOAST_MS = 6000;

  function dismiss(toast) {
    if (!toast || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, 200);
  }

  function scheduleDismiss(toast) {
    // Errors stay until dismissed: they usually ask the reader to do something.
    if (toast.classList.contains("toast--error")) return;
    setTimeout(function () { dismiss(toast); }, TOAST_MS);
  }

  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast toast--" + (level || "info");
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    var text = document.createElement("p");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-toast-close", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    toast.append(text, close);
    box.append(toast);
  }

  function watchToasts() {
    var box = document.getElementById("toasts");
    if (!box) return;
    box.querySelectorAll(".toast").forEach(scheduleDismiss);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.nodeType === 1 && node.classList.contains("toast")) scheduleDismiss(node);
        });
      });
    }).observe(box, { childList: true });
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
    var close = target.closest("[data-toast-close]");
    if (close) dismiss(close.closest(".toast"));
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
    showToast(REFUSALS[status] || "Something went wrong (" + status + "). Please try again.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("Could not reach ComputeHub. Check your connection and try again.", "error");
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watchToasts);
  } else {
    watchToasts();
  }
})();
