// The one toast renderer. Server-rendered flash toasts (partials/toasts.html, also swapped in
// out-of-band by HTMX) and toasts made here share one markup and one dismissal; other scripts
// call window.ComputeHub.toast(level, message).
// On signed-in pages (<body data-live>), live toasts are pushed over /ws/workspace/
// (accounts/consumers.py). Reconnects with capped exponential backoff; stops when the server says
// the session is gone (4401) or the workspace is not ours (4403), since retrying cannot help then.
(function () {
  "use strict";

  var DISMISS_MS = 6000;
  var LEAVE_MS = 200; // matches .toast.is-leaving's transition in app.css
  var MIN_RETRY_MS = 1000;
  var MAX_RETRY_MS = 30000;
  var FINAL_CLOSE_CODES = [4401, 4403];
  var LEVELS = ["info", "success", "warning", "error"];

  function container() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.className = "toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function dismiss(toast) {
    if (!toast || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, LEAVE_MS);
  }

  function scheduleDismiss(toast) {
    // Errors stay until dismissed: they usually ask the reader to do something.
    if (toast.classList.contains("toast--error")) return;
    setTimeout(function () { dismiss(toast); }, DISMISS_MS);
  }

  function toast(level, message) {
    // Unknown levels fall back to info, so a caller's or server's typo cannot inject a class name.
    var safeLevel = LEVELS.indexOf(level) >= 0 ? level : "info";
    var node = document.createElement("div");
    node.className = "toast toast--" + safeLevel;
    node.setAttribute("role", safeLevel === "error" ? "alert" : "status");
    var text = document.createElement("p");
    text.textContent = String(message); // text, never HTML: messages may echo user input
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-toast-close", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    node.append(text, close);
    container().append(node); // the observer below schedules its dismissal
    return node;
  }

  // Every toast that enters #toasts (server-rendered, swapped in by HTMX, or made above) gets
  // the same timed dismissal, so no code path has to remember to schedule it.
  function watchToasts() {
    var box = container();
    box.querySelectorAll(".toast").forEach(scheduleDismiss);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.nodeType === 1 && node.classList.contains("toast")) scheduleDismiss(node);
        });
      });
    }).observe(box, { childList: true });
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-toast-close]");
    if (close) dismiss(close.closest(".toast"));
  });

  window.ComputeHub = window.ComputeHub || {};
  window.ComputeHub.toast = toast;

  // --- Live toasts over the workspace socket ------------------------------------------------

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws/workspace/";
  }

  // Exposed as <body data-live="on|off"> so styles (and tests) can tell whether updates flow.
  function setLive(state) {
    document.body.setAttribute("data-live", state);
  }

  var retryMs = MIN_RETRY_MS, everOpened = false;

  function connect() {
    var socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      retryMs = MIN_RETRY_MS;
      setLive("on");
      // Messages sent while the socket was down are gone: pages re-read what they show.
      if (everOpened) document.dispatchEvent(new CustomEvent("computehub:reconnected"));
      everOpened = true;
    });
    socket.addEventListener("message", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data && data.type === "toast") toast(data.level, data.message);
      // Other scripts (deployments.js: live status chips) listen here instead of opening a socket.
      if (data) document.dispatchEvent(new CustomEvent("computehub:message", { detail: data }));
    });
    socket.addEventListener("close", function (event) {
      setLive("off");
      if (FINAL_CLOSE_CODES.indexOf(event.code) >= 0) return;
      // Jitter spreads reconnects when a server restart drops every browser at once.
      var delay = retryMs * (0.5 + Math.random() / 2);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      setTimeout(connect, delay);
    });
  }

  function start() {
    watchToasts();
    // Signed-out pages (the auth layout) have no workspace to listen to.
    if (document.body.hasAttribute("data-live")) connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
