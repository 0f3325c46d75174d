// A small SVG line chart shared by the Prices page (price history) and the deployment detail page
// (metrics). No library: a few hundred points per series, drawn at the container's own width so
// 11px labels stay 11px on phones and wide screens.
//   ComputeHub.lineChart(container, legend, {series: [{label, color, dash, points: [{t, v}]}],
//                        yFormat: fn(v) -> text, yLabel: "unit", shortTimes: true, empty: "text"})
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#4338ca", "#0e9384", "#dc6803", "#c11574", "#1570ef", "#667085", "#7a5af8"];

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function bounds(series, floorZero) {
    var xs = [], ys = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { xs.push(p.t); ys.push(p.v); });
    });
    var yMax = Math.max.apply(null, ys), yMin = Math.min.apply(null, ys);
    var pad = (yMax - yMin) * 0.1 || yMax * 0.1 || 1;
    var y0 = floorZero ? 0 : Math.max(0, yMin - pad);
    return { x0: Math.min.apply(null, xs), x1: Math.max.apply(null, xs) || 1, y0: y0, y1: yMax + pad };
  }

  // Seconds only when the whole chart spans a few minutes (a fresh deployment), else HH:MM or dates.
  function timeLabel(t, short, span) {
    var date = new Date(t);
    if (!short) return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
    return date.toTimeString().slice(0, span < 600e3 ? 8 : 5);
  }

  function drawAxes(svg, b, box, options) {
    var axis = el("g", { class: "axis" }, svg), grid = el("g", { class: "grid" }, svg);
    for (var i = 0; i <= 4; i++) {
      var value = b.y0 + (b.y1 - b.y0) * i / 4, y = box.y(value);
      el("line", { x1: box.left, x2: box.right, y1: y, y2: y }, grid);
      el("text", { x: box.left - 8, y: y + 4, "text-anchor": "end" }, axis).textContent = options.yFormat(value);
    }
    var ticks = b.x1 === b.x0 ? [2] : [0, 1, 2, 3, 4];  // a single reading: one label, centred
    ticks.forEach(function (j) {
      var t = b.x0 + (b.x1 - b.x0) * j / 4;
      // The outer labels hang inwards, so the last one is not cut off at the chart's edge.
      var anchor = j === 0 ? "start" : j === 4 ? "end" : "middle";
      el("text", { x: box.x(t), y: box.bottom + 18, "text-anchor": anchor }, axis).textContent = timeLabel(t, options.shortTimes, b.x1 - b.x0);
    });
    if (options.yLabel) el("text", { x: 12, y: box.top - 8 }, axis).textContent = options.yLabel;
  }

  function drawSeries(svg, legend, s, color, box) {
    var dash = s.dash ? "6 4" : "none";
    var points = s.points.map(function (p) { return box.x(p.t).toFixed(1) + "," + box.y(p.v).toFixed(1); });
    el("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": dash, "data-series": s.key || s.label }, svg);
    // Dots only while they stay readable; a series with a single reading still shows as one.
    if (s.points.length <= 60) {
      s.points.forEach(function (p) { el("circle", { cx: box.x(p.t), cy: box.y(p.v), r: 3, fill: color }, svg); });
    }
    if (!legend) return;
    var item = document.createElement("li");
    var swatch = el("svg", { width: 22, height: 8 }, item);
    el("line", { x1: 0, x2: 22, y1: 4, y2: 4, stroke: color, "stroke-width": 2, "stroke-dasharray": dash }, swatch);
    item.appendChild(document.createTextNode(s.label));
    legend.appendChild(item);
  }

  function emptyNote(container, text) {
    var note = document.createElement("p");
    note.className = "muted chart-empty";
    note.textContent = text;
    container.appendChild(note);
  }

  function lineChart(container, legend, options) {
    container.textContent = "";
    if (legend) legend.textContent = "";
    var series = options.series.filter(function (s) { return s.points.length; });
    if (!series.length) return emptyNote(container, options.empty || "No data in this period.");
    var W = Math.max(300, container.clientWidth || 720), H = options.height || 260, b = bounds(series, options.floorZero);
    var box = { left: options.left || 56, right: W - 12, top: 22, bottom: H - 28 };
    box.x = function (t) { return box.left + (b.x1 === b.x0 ? 0.5 : (t - b.x0) / (b.x1 - b.x0)) * (box.right - box.left); };
    box.y = function (v) { return box.bottom - (v - b.y0) / (b.y1 - b.y0) * (box.bottom - box.top); };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "aria-hidden": "true" }, container);
    drawAxes(svg, b, box, options);
    series.forEach(function (s, i) { drawSeries(svg, legend, s, s.color || COLORS[i % COLORS.length], box); });
  }

  window.ComputeHub = window.ComputeHub || {};
  window.ComputeHub.lineChart = lineChart;
  window.ComputeHub.chartColors = COLORS;
})();
