// The live log viewer of a deployment's detail page. Connects to /ws/deployments/<id>/ and renders
// {"type": "logs", "first_seq", "lines"}; on every (re)connect it sends {"type": "resume", "after":
// <last seq seen>} so the server replays exactly what was missed. Status and metric messages are
// handed to deployments.js and metrics-chart.js. Follow/pause, a text filter, at most MAX_LINES.
(function () {
  "use strict";

  var MAX_LINES = 10000;
  var MIN_RETRY_MS = 1000, MAX_RETRY_MS = 30000, FINAL_CLOSE_CODES = [4401, 4403, 4404];

  function start() {
    var card = document.querySelector("[data-log-viewer]");
    if (!card) return;
    var pane = card.querySelector("[data-log-lines]"), state = card.querySelector("[data-log-state]");
    var filterInput = card.querySelector("[data-log-filter]"), followButton = card.querySelector("[data-log-follow]");
    var empty = card.querySelector("[data-log-empty]");
    var lastSeq = Number(card.getAttribute("data-last-seq")) || 0, following = true, filter = "", retryMs = MIN_RETRY_MS;

    function setState(text, live) { state.textContent = text; state.setAttribute("data-state", live ? "live" : "off"); }

    function matches(text) { return !filter || text.toLowerCase().indexOf(filter) !== -1; }

    function appendLines(firstSeq, lines) {
      var fragment = document.createDocumentFragment();
      lines.forEach(function (text, offset) {
        var seq = firstSeq + offset;
        if (seq <= lastSeq) return;  // a replay overlapping what we have: keep each line once
        var line = document.createElement("span");
        line.className = "log-line" + (matches(text) ? "" : " is-hidden");
        line.setAttribute("data-seq", String(seq));
        line.textContent = text + "\n";  // text, never HTML: logs are the workload's output
        fragment.appendChild(line);
        lastSeq = seq;
      });
      pane.appendChild(fragment);
      while (pane.childElementCount > MAX_LINES) pane.removeChild(pane.firstElementChild);
      if (empty) empty.hidden = pane.childElementCount > 0;
      if (following) pane.scrollTop = pane.scrollHeight;
    }

    function applyFilter() {
      filter = filterInput.value.trim().toLowerCase();
      pane.querySelectorAll(".log-line").forEach(function (line) {
        line.classList.toggle("is-hidden", !matches(line.textContent));
      });
      if (following) pane.scrollTop = pane.scrollHeight;
    }

    function setFollowing(on) {
      following = on;
      followButton.setAttribute("aria-pressed", String(on));
      followButton.textContent = on ? "Following" : "Paused";
      if (on) pane.scrollTop = pane.scrollHeight;
    }

    // A new timeline entry: fetch the server-rendered list (no HTML is built from socket data).
    // Several events in a burst (a stop and its status changes) cost one request.
    var timelineTimer = null;
    function refreshTimeline() {
      var timeline = document.getElementById("timeline");
      if (!timeline || timelineTimer) return;
      timelineTimer = setTimeout(function () {
        timelineTimer = null;
        window.htmx.ajax("GET", timeline.getAttribute("data-timeline-url"), { target: "#timeline", swap: "outerHTML" });
      }, 300);
    }

    function onMessage(event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "logs" && Array.isArray(data.lines)) appendLines(Number(data.first_seq), data.lines);
      else if (data.type === "status" || data.type === "deployment.status") {
        if (window.ComputeHub.deploymentStatusChanged && data.id) window.ComputeHub.deploymentStatusChanged(String(data.id));
      } else if (data.type === "metric" || data.type === "deployment.metric") {
        document.dispatchEvent(new CustomEvent("computehub:metric", { detail: data }));
      } else if (data.type === "event") {
        refreshTimeline();
      }
    }

    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + card.getAttribute("data-socket"));
      socket.addEventListener("open", function () {
        retryMs = MIN_RETRY_MS;
        setState("live", true);
        socket.send(JSON.stringify({ type: "resume", after: lastSeq }));
      });
      socket.addEventListener("message", onMessage);
      socket.addEventListener("close", function (event) {
        setState("reconnecting…", false);
        if (FINAL_CLOSE_CODES.indexOf(event.code) >= 0) return setState("disconnected", false);
        var delay = retryMs * (0.5 + Math.random() / 2);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
        setTimeout(connect, delay);
      });
    }

    // Scrolling up pauses following (reading an old line should not be yanked away); the button
    // or scrolling back to the bottom resumes it.
    pane.addEventListener("scroll", function () {
      var atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 24;
      if (atBottom !== following) setFollowing(atBottom);
    });
    followButton.addEventListener("click", function () { setFollowing(!following); });
    filterInput.addEventListener("input", applyFilter);
    pane.scrollTop = pane.scrollHeight;
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
