// Deployments pages: live status (list rows and the detail header re-rendered by the server when a
// status message arrives on the workspace socket, see toasts.js), the launch form's environment
// rows and spot toggle, and copy buttons.
(function () {
  "use strict";

  // --- Live status ------------------------------------------------------------------------
  // One refresh per fragment at a time, however many messages arrive; a message that arrives while
  // one is in flight asks for one more afterwards (the fetched state may predate it).
  var pending = {};

  function refresh(target, url) {
    if (!target) return;
    if (pending[url]) { pending[url] = "again"; return; }
    pending[url] = true;
    htmx.ajax("GET", url, { target: target, swap: "outerHTML" }).finally(function () {
      var again = pending[url] === "again";
      delete pending[url];
      if (again) refresh(document.getElementById(target.id) || target, url);
    });
  }

  function onStatus(id) {
    var row = document.getElementById("dep-" + id);
    if (row) refresh(row, row.getAttribute("data-row-url"));
    var head = document.getElementById("deployment-head");
    if (head && head.getAttribute("data-head-url").indexOf(id) !== -1) {
      refresh(head, head.getAttribute("data-head-url"));
      var connect = document.getElementById("dep-connect");  // SSH, endpoints, files come and go with it
      if (connect) refresh(connect, connect.getAttribute("data-connect-url"));
    }
  }

  function refreshElement(element) {
    var url = element.getAttribute("data-row-url") || element.getAttribute("data-head-url");
    if (url) refresh(element, url);
  }

  // A message can be missed (the socket was reconnecting), so whatever is mid-change is also
  // re-read every few seconds, a bounded number at a time, and everything after a reconnect.
  var SAFETY_POLL_MS = 5000, SAFETY_POLL_MAX = 25;
  setInterval(function () {
    if (document.hidden) return;
    var changing = document.querySelectorAll("[data-changing]");
    for (var i = 0; i < changing.length && i < SAFETY_POLL_MAX; i++) refreshElement(changing[i]);
  }, SAFETY_POLL_MS);
  document.addEventListener("computehub:reconnected", function () {
    document.querySelectorAll("[data-row-url], [data-head-url]").forEach(refreshElement);
  });

  document.addEventListener("computehub:message", function (event) {
    var data = event.detail || {};
    if ((data.type === "deployment.status" || data.type === "status") && data.id) onStatus(String(data.id));
  });
  window.ComputeHub = window.ComputeHub || {};
  window.ComputeHub.deploymentStatusChanged = onStatus;

  // --- Launch form: environment rows ---------------------------------------------------------
  function addEnvRow(button) {
    var section = button.closest("section");
    var rows = section.querySelector("[data-env-rows]");
    var index = Number(rows.getAttribute("data-next-index"));
    rows.setAttribute("data-next-index", String(index + 1));
    var html = section.querySelector("template[data-env-template]").innerHTML.replace(/__i__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    rows.lastElementChild.querySelector("input").focus();
  }

  function removeEnvRow(button) {
    var row = button.closest("[data-env-row]"), next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    var focus = next ? next.querySelector("input") : document.querySelector("[data-env-add]");
    if (focus) focus.focus();
  }

  // A secret's value is typed into a password input, so it is not shown on screen.
  function toggleSecret(box) {
    box.closest("[data-env-row]").querySelector("[data-env-value]").type = box.checked ? "password" : "text";
  }

  function toggleBid() {
    var spot = document.querySelector("[data-launch-form] input[name=spot]"), bid = document.querySelector("[data-bid]");
    if (spot && bid) bid.hidden = !spot.checked;
  }

  // --- Copy buttons ------------------------------------------------------------------------
  function copy(button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    var text = source.value || source.textContent;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () { source.select(); });
    else { source.select(); document.execCommand("copy"); done(); }
  }

  document.addEventListener("click", function (event) {
    var t = event.target;
    if (t.closest("[data-env-add]")) addEnvRow(t.closest("[data-env-add]"));
    if (t.closest("[data-env-remove]")) removeEnvRow(t.closest("[data-env-remove]"));
    if (t.closest("[data-copy]")) copy(t.closest("[data-copy]"));
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-env-secret]")) toggleSecret(event.target);
    if (event.target.matches("[data-launch-form] input[name=spot]")) toggleBid();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", toggleBid); else toggleBid();
})();
