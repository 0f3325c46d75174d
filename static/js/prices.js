// The Prices page: filters toggle and GPU search, compare selection (max 4) and drawer, and the
// price history chart (static/js/chart.js) from JSON (embedded first, then /api/v1/price-history/).
(function () {
  "use strict";

  var MAX_COMPARE = 4;
  var TYPING_MS = 400;
  var selected = []; // offer ids, kept across HTMX swaps of the results

  // --- Filters ---------------------------------------------------------------------------
  function toggleFilters(button) {
    var box = button.closest("[data-filters]");
    var open = box.getAttribute("data-open") !== "true";
    box.setAttribute("data-open", String(open));
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Hide filters" : "Show filters";
  }

  function searchPicker(input) {
    var needle = input.value.trim().toLowerCase();
    input.closest(".picker-panel").querySelectorAll(".picker-option").forEach(function (option) {
      option.hidden = needle !== "" && option.getAttribute("data-name").indexOf(needle) === -1;
    });
  }

  function updatePickerLabel(picker) {
    var count = picker.querySelectorAll("input[type=checkbox]:checked").length;
    var summary = picker.querySelector("summary");
    summary.textContent = count ? count + " selected" : summary.getAttribute("data-any");
  }

  // The server reports field errors into #error-<name>; mark the input so it reads as invalid.
  function markInvalid() {
    document.querySelectorAll("#offer-filters .field-error").forEach(function (slot) {
      var field = slot.closest(".field");
      var invalid = slot.textContent.trim() !== "";
      field.classList.toggle("field--invalid", invalid);
      field.querySelectorAll("input:not([type=checkbox]), select").forEach(function (el) {
        el.setAttribute("aria-invalid", String(invalid));
      });
    });
  }

  // --- Compare ---------------------------------------------------------------------------
  function renderCompareBar(message) {
    var bar = document.querySelector("[data-compare-bar]");
    if (!bar) return;
    bar.hidden = selected.length === 0 && !message;
    bar.querySelector("[data-compare-count]").textContent = selected.length;
    bar.querySelector("[data-compare-message]").textContent = message || "";
    bar.querySelector("[data-compare-open]").disabled = selected.length === 0;
  }

  function toggleCompare(box) {
    var id = box.value;
    if (!box.checked) {
      selected = selected.filter(function (other) { return other !== id; });
      return renderCompareBar();
    }
    if (selected.length >= MAX_COMPARE) {
      box.checked = false;
      return renderCompareBar("You can compare up to " + MAX_COMPARE + " offers. Untick one first.");
    }
    selected.push(id);
    renderCompareBar();
  }

  function restoreChecks() {
    document.querySelectorAll("[data-compare]").forEach(function (box) {
      box.checked = selected.indexOf(box.value) !== -1;
    });
  }

  function openCompare(button) {
    var drawer = document.querySelector("[data-compare-drawer]");
    var url = button.getAttribute("data-url") + "?ids=" + selected.join(",");
    htmx.ajax("GET", url, { target: "#compare-body", swap: "innerHTML" }).then(function () {
      if (!drawer.open) drawer.showModal();
    });
  }

  function clearCompare() {
    selected = [];
    restoreChecks();
    renderCompareBar();
  }

  // --- History chart (drawn by static/js/chart.js) ----------------------------------------
  function drawChart(data) {
    var chart = document.querySelector("[data-history-chart]"), legend = document.querySelector("[data-history-legend]");
    if (!chart) return;
    var series = data.series.map(function (s) {
      return {
        key: s.provider + (s.spot ? ":spot" : ""), dash: s.spot,
        label: (s.provider_name || s.provider) + (s.spot ? " (spot)" : " (on-demand)"),
        points: s.points.map(function (p) { return { t: Date.parse(p.t), v: p.price_per_gpu_hour }; }),
      };
    });
    window.ComputeHub.lineChart(chart, legend, {
      series: series, yLabel: "$/GPU-h", shortTimes: data.days <= 1,
      yFormat: function (v) { return "$" + v.toFixed(2); },
      empty: "No prices recorded for this GPU in this period.",
    });
  }

  function loadHistory() {
    var chart = document.querySelector("[data-history-chart]");
    var gpu = document.querySelector("[data-history-gpu]").value;
    var pressed = document.querySelector("[data-history-days][aria-pressed=true]");
    var url = chart.getAttribute("data-url") + "?gpu=" + encodeURIComponent(gpu) + "&days=" + pressed.getAttribute("data-history-days");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(drawChart)
      .catch(function () { chart.innerHTML = '<p class="muted chart-empty">Could not load the price history. Try again.</p>'; });
  }

  function chooseDays(button) {
    button.parentNode.querySelectorAll("[data-history-days]").forEach(function (other) {
      other.setAttribute("aria-pressed", String(other === button));
    });
    loadHistory();
  }

  // --- Wiring ----------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var t = event.target;
    if (t.closest("[data-filters-toggle]")) toggleFilters(t.closest("[data-filters-toggle]"));
    if (t.closest("[data-compare-open]")) openCompare(t.closest("[data-compare-open]"));
    if (t.closest("[data-compare-clear]")) clearCompare();
    if (t.closest("[data-compare-close]")) t.closest("dialog").close();
    if (t.closest("[data-history-days]")) chooseDays(t.closest("[data-history-days]"));
    document.querySelectorAll("details[data-picker][open]").forEach(function (d) { if (!d.contains(t)) d.removeAttribute("open"); });
  });
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.matches("[data-compare]")) toggleCompare(t);
    if (t.matches("[data-history-gpu]")) loadHistory();
    if (t.closest("details[data-picker]") && t.type === "checkbox") updatePickerLabel(t.closest("details[data-picker]"));
  });
  // Typed fields ask for results once typing pauses, not per keystroke (and not again on blur).
  var typing;
  document.addEventListener("input", function (event) {
    var t = event.target;
    if (t.matches("[data-picker-search]")) searchPicker(t);
    if (!t.matches("[data-debounce]")) return;
    clearTimeout(typing);
    typing = setTimeout(function () { htmx.trigger(t.form, "filters:typed"); }, TYPING_MS);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "results") { restoreChecks(); markInvalid(); }
  });
  function start() {
    markInvalid();
    var data = document.getElementById("history-data");
    if (data) drawChart(JSON.parse(data.textContent));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
