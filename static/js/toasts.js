// Live toasts for the current workspace, pushed over /ws/workspace/ (accounts/consumers.py).
// Reconnects with capped exponential backoff; stops when the server says the session is gone
// (4401) or the workspace is not ours (4403), since retrying cannot help then.
(function () {
  "use strict";

  var DISMISS_MS = 6000;
  var MIN_RETRY_MS = 1000;
  var MAX_RETRY_MS = 30000;
  var FINAL_CLOSE_CODES = [4401, 4403];
  var LEVELS = ["info", "success", "warning", "error"];

  function container() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function dismiss(toast) {
    if (toast.parentNode) toast.parentNode.removeChild(toast);
  }

  function show(level, message) {
    // Unknown levels fall back to info so a server typo cannot inject a class name.
    var safeLevel = LEVELS.indexOf(level) >= 0 ? level : "info";
    var toast = document.createElement("div");
    toast.className = "toast toast--" + safeLevel;
    toast.setAttribute("role", "status");
    var text = document.createElement("p");
    text.textContent = message; // text, never HTML: messages may echo user input
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { dismiss(toast); });
    toast.appendChild(text);
    toast.appendChild(close);
    container().appendChild(toast);
    setTimeout(function () { dismiss(toast); }, DISMISS_MS);
  }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws/workspace/";
  }

  // Exposed as <body data-live="on|off"> so styles (and tests) can tell whether updates flow.
  function setLive(state) {
    document.body.setAttribute("data-live", state);
  }

  var retryMs = MIN_RETRY_MS;

  function connect() {
    var socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      retryMs = MIN_RETRY_MS;
      setLive("on");
    });
    socket.addEventListener("message", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data && data.type === "toast") show(data.level, String(data.message));
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
