// The Prices page: filters toggle and GPU search, compare selection (max 4) and drawer, and the
// price history chart drawn as inline SVG from JSON (embedded first, then /api/v1/price-history/).
(function () {
  "use strict";

  var MAX_COMPARE = 4;
  var TYPING_MS = 400;
  var selected = []; // offer ids, kept across HTMX swaps of the results
  var COLORS = ["#4338ca", "#0e9384", "#dc6803", "#c11574", "#1570ef", "#667085", "#7a5af8"];
  var SVG = "http://www.w3.org/2000/svg";

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

  // --- History chart ---------------------------------------------------------------------
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function bounds(series) {
    var xs = [], ys = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { xs.push(Date.parse(p.t)); ys.push(p.price_per_gpu_hour); });
    });
    var yMax = Math.max.apply(null, ys), yMin = Math.min.apply(null, ys);
    var pad = (yMax - yMin) * 0.1 || yMax * 0.1 || 1;
    return { x0: Math.min.apply(null, xs), x1: Math.max.apply(null, xs) || 1, y0: Math.max(0, yMin - pad), y1: yMax + pad };
  }

  function drawAxes(svg, b, box, days) {
    var axis = el("g", { class: "axis" }, svg), grid = el("g", { class: "grid" }, svg);
    for (var i = 0; i <= 4; i++) {
      var value = b.y0 + (b.y1 - b.y0) * i / 4, y = box.y(value);
      el("line", { x1: box.left, x2: box.right, y1: y, y2: y }, grid);
      el("text", { x: box.left - 8, y: y + 4, "text-anchor": "end" }, axis).textContent = "$" + value.toFixed(2);
    }
    var ticks = b.x1 === b.x0 ? [2] : [0, 1, 2, 3, 4];  // one refresh so far: one date, centred
    ticks.forEach(function (j) {
      var t = b.x0 + (b.x1 - b.x0) * j / 4, date = new Date(t);
      var label = days <= 1 ? date.toTimeString().slice(0, 5) : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
      // The outer labels hang inwards, so the last date is not cut off at the chart's edge.
      var anchor = j === 0 ? "start" : j === 4 ? "end" : "middle";
      el("text", { x: box.x(t), y: box.bottom + 18, "text-anchor": anchor }, axis).textContent = label;
    });
    el("text", { x: 12, y: box.top - 8 }, axis).textContent = "$/GPU-h";
  }

  function drawChart(data) {
    var chart = document.querySelector("[data-history-chart]"), legend = document.querySelector("[data-history-legend]");
    if (!chart) return;
    chart.textContent = ""; legend.textContent = "";
    if (!data.series.length) { chart.innerHTML = '<p class="muted chart-empty">No prices recorded for this GPU in this period.</p>'; return; }
    // Drawn at the container's own width, so 11px labels stay 11px on phones and wide screens.
    var W = Math.max(300, chart.clientWidth || 720), H = 260, b = bounds(data.series);
    var box = { left: 56, right: W - 12, top: 22, bottom: H - 28 };
    box.x = function (t) { return box.left + (b.x1 === b.x0 ? 0.5 : (t - b.x0) / (b.x1 - b.x0)) * (box.right - box.left); };
    box.y = function (v) { return box.bottom - (v - b.y0) / (b.y1 - b.y0) * (box.bottom - box.top); };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "aria-hidden": "true" }, chart);
    drawAxes(svg, b, box, data.days);
    data.series.forEach(function (s, i) { drawSeries(svg, legend, s, COLORS[i % COLORS.length], box); });
  }

  function drawSeries(svg, legend, s, color, box) {
    var points = s.points.map(function (p) { return box.x(Date.parse(p.t)).toFixed(1) + "," + box.y(p.price_per_gpu_hour).toFixed(1); });
    var dash = s.spot ? "6 4" : "none";
    el("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": dash, "data-series": s.provider + (s.spot ? ":spot" : "") }, svg);
    // A dot per refresh, so a series with a single refresh so far (a new workspace) still shows.
    s.points.forEach(function (p) {
      el("circle", { cx: box.x(Date.parse(p.t)), cy: box.y(p.price_per_gpu_hour), r: 3, fill: color }, svg);
    });
    var item = document.createElement("li");
    var swatch = el("svg", { width: 22, height: 8 }, item);
    el("line", { x1: 0, x2: 22, y1: 4, y2: 4, stroke: color, "stroke-width": 2, "stroke-dasharray": dash }, swatch);
    item.appendChild(document.createTextNode((s.provider_name || s.provider) + (s.spot ? " (spot)" : " (on-demand)")));
    legend.appendChild(item);
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
