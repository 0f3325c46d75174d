// Metrics charts of a deployment's detail page, drawn by static/js/chart.js: one small chart per
// figure the provider reports (a figure absent from every sample gets no chart). Starts from the
// JSON embedded in the page, reloads on the 1 h / 24 h toggle, appends live samples that
// log-viewer.js forwards as `computehub:metric` events.
(function () {
  "use strict";

  var WINDOW_MS = { "1h": 3600e3, "24h": 86400e3 };
  var CHARTS = [
    { id: "gpu", title: "GPU utilisation", keys: [["gpu_util_percent", "GPU %"]], unit: "%", floorZero: true },
    { id: "vram", title: "GPU memory", keys: [["gpu_mem_used_gb", "VRAM used"]], unit: "GB", floorZero: true },
    { id: "temp", title: "GPU temperature", keys: [["gpu_temp_c", "Temperature"]], unit: "°C" },
    { id: "cpu", title: "CPU", keys: [["cpu_percent", "CPU %"]], unit: "%", floorZero: true },
    { id: "ram", title: "Memory", keys: [["ram_used_gb", "RAM used"]], unit: "GB", floorZero: true },
    { id: "net", title: "Network", keys: [["net_rx_bps", "Received"], ["net_tx_bps", "Sent"]], unit: "B/s", floorZero: true },
  ];
  var points = [], windowName = "1h";

  function format(value, unit) {
    if (unit === "B/s") {
      var units = ["B/s", "kB/s", "MB/s", "GB/s"], i = 0;
      while (value >= 1000 && i < units.length - 1) { value /= 1000; i++; }
      return value.toFixed(value >= 100 || i === 0 ? 0 : 1) + " " + units[i];
    }
    if (unit === "GB") return value < 1 ? (value * 1024).toFixed(0) + " MB" : value.toFixed(value >= 10 ? 0 : 1) + " GB";
    var digits = Math.abs(value) < 10 && value % 1 !== 0 ? 1 : 0;  // 0.4% stays 0.4%, not 0%
    return value.toFixed(digits) + (unit === "%" ? "%" : " " + unit);
  }

  function present(chart) {
    return chart.keys.some(function (pair) { return points.some(function (p) { return pair[0] in p.values; }); });
  }

  function box(grid, chart) {
    var node = grid.querySelector('[data-metric="' + chart.id + '"]');
    if (node) return node;
    node = document.createElement("div");
    node.className = "metric";
    node.setAttribute("data-metric", chart.id);
    node.innerHTML = '<h3><span></span><span class="metric-now"></span></h3><div class="chart" role="img"></div><ul class="chart-legend"></ul>';
    node.querySelector("h3 span").textContent = chart.title;
    node.querySelector(".chart").setAttribute("aria-label", chart.title + " chart");
    grid.appendChild(node);
    return node;
  }

  function draw() {
    var card = document.querySelector("[data-metrics]");
    var grid = card.querySelector("[data-metrics-grid]"), cutoff = Date.now() - WINDOW_MS[windowName];
    points = points.filter(function (p) { return p.t >= cutoff; });
    var shown = CHARTS.filter(present);
    grid.querySelectorAll("[data-metric]").forEach(function (node) {
      if (!shown.some(function (c) { return c.id === node.getAttribute("data-metric"); })) node.remove();
    });
    card.querySelector("[data-metrics-empty]").hidden = shown.length > 0;
    shown.forEach(function (chart) { drawOne(box(grid, chart), chart); });
  }

  function drawOne(node, chart) {
    var series = chart.keys.map(function (pair) {
      return { key: pair[0], label: pair[1], points: points.filter(function (p) { return pair[0] in p.values; })
        .map(function (p) { return { t: p.t, v: p.values[pair[0]] }; }) };
    });
    var last = series[0].points[series[0].points.length - 1];
    node.querySelector(".metric-now").textContent = last ? format(last.v, chart.unit) : "";
    window.ComputeHub.lineChart(node.querySelector(".chart"), chart.keys.length > 1 ? node.querySelector(".chart-legend") : null, {
      series: series, height: 170, left: 64, shortTimes: true, floorZero: chart.floorZero,
      yFormat: function (v) { return format(v, chart.unit); }, empty: "No readings in this period.",
    });
  }

  function load(payload) {
    points = payload.points.map(function (p) { return { t: Date.parse(p.t), values: p.values }; });
    draw();
  }

  function choose(button) {
    windowName = button.getAttribute("data-metrics-window");
    button.parentNode.querySelectorAll("[data-metrics-window]").forEach(function (other) {
      other.setAttribute("aria-pressed", String(other === button));
    });
    var url = document.querySelector("[data-metrics]").getAttribute("data-url") + "?window=" + windowName;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(load)
      .catch(function () { window.ComputeHub.toast("error", "Could not load the metrics. Try again."); });
  }

  var redraw;
  function onSample(event) {
    var data = event.detail;
    if (!data || !data.values) return;
    points.push({ t: Date.parse(data.at), values: data.values });
    clearTimeout(redraw);
    redraw = setTimeout(draw, 250);  // a burst of samples redraws once
  }

  function start() {
    var initial = document.getElementById("metrics-data");
    if (!initial) return;
    load(JSON.parse(initial.textContent));
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-metrics-window]");
      if (button) choose(button);
    });
    document.addEventListener("computehub:metric", onSample);
    window.addEventListener("resize", function () { clearTimeout(redraw); redraw = setTimeout(draw, 200); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
