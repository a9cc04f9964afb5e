// The built-in status page: one self-contained HTML document (inline CSS and
// JavaScript, no external resource, no URL), served at `GET /` by
// mlmon::HttpServer. It fetches `api/v1/status` (relative, so it also works
// behind a path prefix) every 2 s and draws one SVG chart per signal. Each
// chart's <figure> carries `data-points` (points drawn by its longest
// series) and `data-state`; each line carries `data-series`,
// `data-points`, `data-first`, `data-last` and `data-max`, which the
// headless-Chromium test (tests/status_page_chromium_test.py) reads back.
// Model names reach the DOM through textContent only, never as markup.
#include <string_view>

#include "mlmon/status_history.h"

namespace mlmon {
namespace {

constexpr std::string_view kStatusPage = R"mlmon_html(
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlmon status</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f4f6f8; --panel: #ffffff; --line: #dde2e8; --ink: #1c2430;
  --muted: #5d6875; --grid: #eceff3; --axis: #8d97a3;
  --warn: #b45f06; --bad: #c62828; --good: #1a7f37;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header {
  display: flex; align-items: center; gap: 18px; padding: 10px 20px;
  background: #1c2430; color: #fff;
}
header h1 { margin: 0; font-size: 16px; font-weight: 600; letter-spacing: .02em; }
header .model { font-size: 15px; }
header .model b { font-weight: 600; }
header select { font: inherit; padding: 2px 4px; }
#freshness { margin-left: auto; display: flex; align-items: center; gap: 8px; font-size: 13px; color: #d5dae1; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: #8d97a3; display: inline-block; }
.dot.live { background: #3fb950; }
.dot.stale { background: #f85149; }
main { padding: 14px 20px 20px; }
#banner {
  display: none; margin-bottom: 12px; padding: 8px 12px; border-radius: 6px;
  background: #fdecea; border: 1px solid #f5c2c0; color: #8a1c1c;
}
.tiles { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin-bottom: 14px; }
.tile {
  background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--line);
  border-radius: 6px; padding: 8px 12px; min-width: 0;
}
.tile.warn { border-left-color: var(--warn); }
.tile.bad { border-left-color: var(--bad); }
.tile .label { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .05em; }
.tile .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tile.bad .value { color: var(--bad); }
.tile.warn .value { color: var(--warn); }
.tile .sub { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.charts { display: grid; grid-template-columns: repeat(6, 1fr); gap: 14px; }
figure.chart {
  margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 12px 8px; grid-column: span 2; min-width: 0;
}
figure.chart.half { grid-column: span 3; }
figure.chart.wide { grid-column: 1 / -1; }
figcaption { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
figcaption .title { font-weight: 600; }
figcaption .note { color: var(--muted); font-size: 12px; white-space: nowrap; }
figure svg { display: block; width: 100%; overflow: visible; }
svg text { font-size: 11px; fill: var(--muted); font-variant-numeric: tabular-nums; }
svg .gridline { stroke: var(--grid); stroke-width: 1; }
svg .axisline { stroke: var(--axis); stroke-width: 1; }
svg .ref { stroke-width: 1; stroke-dasharray: 5 4; }
svg .ref-text { font-size: 10px; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .line.minor { stroke-width: 1.2; }
svg .cursor { stroke: #5d6875; stroke-width: 1; stroke-dasharray: 2 3; }
svg .nodata { font-size: 13px; fill: #8d97a3; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 16px; font-size: 12px; color: var(--muted); margin-top: 4px; min-height: 18px; }
.legend span.item { white-space: nowrap; }
.legend .key { display: inline-block; width: 14px; height: 3px; border-radius: 2px; vertical-align: middle; margin-right: 5px; }
.legend .val { color: var(--ink); font-variant-numeric: tabular-nums; margin-left: 4px; }
footer { color: var(--muted); font-size: 12px; padding: 0 20px 16px; }
</style>
</head>
<body data-state="loading">
<svg id="svg-ns" width="0" height="0" aria-hidden="true" style="position:absolute"></svg>
<header>
  <h1>mlmon status</h1>
  <span class="model" id="model-name">&#8212;</span>
  <select id="model-select" hidden aria-label="model"></select>
  <span id="freshness"><span class="dot" id="dot"></span><span id="updated">waiting for data</span></span>
</header>
<main>
  <div id="banner" role="alert"></div>
  <section class="tiles" id="tiles"></section>
  <section class="charts" id="charts"></section>
</main>
<footer>
  Sampled in-process from the metrics registry (<code>GET /api/v1/status</code>); rates and quantiles
  are over each sampling interval, precision and drift over the shortest configured window.
  The same data is exported at <code>/metrics</code> for Prometheus.
</footer>
<script>
"use strict";
(function () {
  // The SVG namespace, from an element the HTML parser made (no URL here).
  var SVGNS = document.getElementById("svg-ns").namespaceURI;
  var REFRESH_MS = 2000;
  var STALE_MS = 10000;
  var PALETTE = ["#2f6db5", "#e8710a", "#1a9e75", "#d62f6d", "#7b52c4",
                 "#b0870a", "#0b8fb3", "#8a5a3c", "#5b8c2a"];
  var MINOR = "#c3c9d1";

  function scale(values, k) {
    return values.map(function (v) { return v === null ? null : v * k; });
  }
  function named(obj, label) {
    return Object.keys(obj).map(function (k) { return { name: label(k), values: obj[k] }; });
  }
  function last(values) {
    for (var i = values.length - 1; i >= 0 && i >= values.length - 3; --i) {
      if (values[i] !== null) return values[i];
    }
    return null;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "\u2013";
    var a = Math.abs(v);
    if (digits !== undefined) return v.toFixed(digits);
    if (a !== 0 && (a >= 100000 || a < 0.001)) return v.toExponential(1);
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toFixed(3);
  }
  function clock(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  // One entry per chart: which series of a model it draws, its unit and y range.
  var CHARTS = [
    { id: "traffic", title: "Traffic", unit: "req/s", height: 200,
      note: function () { return "requests per second"; },
      series: function (m) { return [{ name: "requests/s", values: m.request_rate }]; } },
    { id: "latency", title: "Latency", unit: "ms", height: 200,
      note: function () { return "p99 and p50 per interval"; },
      series: function (m) {
        return [{ name: "p99", values: scale(m.latency_p99_seconds, 1000) },
                { name: "p50", values: scale(m.latency_p50_seconds, 1000), dash: true }];
      } },
    { id: "errors", title: "Error ratio", unit: "%", height: 200, atLeast: 1,
      note: function () { return "share of requests that failed"; },
      series: function (m) { return [{ name: "errors", values: scale(m.error_ratio, 100), color: "#c62828" }]; } },
    { id: "precision", title: "Precision", unit: "", height: 210, fixedMax: 1, cls: "half", digits: 3,
      empty: "no outcomes in the window yet",
      note: function (m) { return m.quality_window ? "window " + m.quality_window : "no quality metrics"; },
      series: function (m) {
        return named(m.precision, function (k) { return k === "" ? "macro" : "threshold " + k; });
      } },
    { id: "empty", title: "Empty responses", unit: "%", height: 210, atLeast: 1, cls: "half",
      note: function () { return "empty responses / predictions"; },
      series: function (m) { return [{ name: "empty share", values: scale(m.empty_share, 100) }]; } },
    { id: "drift", title: "Drift (PSI)", unit: "PSI", height: 320, atLeast: 0.3, cls: "wide", digits: 3,
      sortLegend: true, refs: [{ y: 0.1, label: "0.1 moderate", color: "#b45f06" },
                               { y: 0.25, label: "0.25 significant", color: "#c62828" }],
      empty: "no reference profile: drift is not computed",
      note: function (m) { return m.drift_window ? "inputs and score vs. training, window " + m.drift_window : ""; },
      series: function (m) { return named(m.drift_psi, function (k) { return k; }); } }
  ];

  var state = { doc: null, model: 0, figs: {} };

  function el(tag, attrs, parent, ns) {
    var e = ns ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent, true);
    t.textContent = s;
    return t;
  }

  function build() {
    var charts = document.getElementById("charts");
    CHARTS.forEach(function (c) {
      var fig = el("figure", { "class": "chart " + (c.cls || ""), id: "chart-" + c.id,
                               "data-points": "0", "data-state": "empty" }, charts);
      var cap = el("figcaption", {}, fig);
      el("span", { "class": "title" }, cap).textContent = c.title + (c.unit && c.unit !== "PSI" ? " (" + c.unit + ")" : "");
      var note = el("span", { "class": "note" }, cap);
      var svg = el("svg", { role: "img", "aria-label": c.title }, fig, true);
      var legend = el("div", { "class": "legend" }, fig);
      state.figs[c.id] = { cfg: c, fig: fig, svg: svg, legend: legend, note: note };
      svg.addEventListener("mousemove", function (ev) { hover(c.id, ev); });
      svg.addEventListener("mouseleave", function () { hover(c.id, null); });
    });
  }

  // Decimals that show every multiple of `step` exactly (2.5 -> 1).
  function decimals(step) {
    var d = 0;
    while (d < 6 && Math.abs(Math.round(step * Math.pow(10, d)) - step * Math.pow(10, d)) > 1e-6) ++d;
    return d;
  }
  function niceStep(range, count) {
    var raw = range / Math.max(1, count);
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
  }

  function draw(id, m) {
    var f = state.figs[id], c = f.cfg, svg = f.svg;
    var W = Math.max(200, Math.round(svg.getBoundingClientRect().width || 400));
    var H = c.height;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("height", H);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    f.legend.textContent = "";
    f.note.textContent = c.note(m);
    var t = m.t, n = t.length;
    var series = c.series(m);
    var pad = { l: 50, r: c.refs ? 96 : 12, t: 8, b: 22 };
    var pw = W - pad.l - pad.r, ph = H - pad.t - pad.b;
    // The x axis spans the whole history, at least 30 s.
    var t1 = n ? t[n - 1] : Date.now(), t0 = n ? Math.min(t[0], t1 - 30000) : t1 - 30000;
    var ymax = c.atLeast || 0;
    series.forEach(function (s) {
      s.values.forEach(function (v) { if (v !== null && v > ymax) ymax = v; });
    });
    if (c.fixedMax) ymax = c.fixedMax; else ymax = ymax * 1.08;
    if (!(ymax > 0)) ymax = 1;
    var step = niceStep(ymax, 4);
    ymax = Math.ceil(ymax / step - 1e-9) * step;
    function X(ms) { return pad.l + (ms - t0) / (t1 - t0) * pw; }
    function Y(v) { return pad.t + ph - v / ymax * ph; }
    var g = el("g", {}, svg, true);
    for (var v = 0; v <= ymax + step / 2; v += step) {
      el("line", { "class": v === 0 ? "axisline" : "gridline", x1: pad.l, x2: pad.l + pw, y1: Y(v), y2: Y(v) }, g, true);
      text(g, pad.l - 6, Y(v) + 4, v.toFixed(decimals(step)), { "text-anchor": "end" });
    }
    if (c.unit) {
      text(g, 12, pad.t + ph / 2, c.unit, { "text-anchor": "middle",
        transform: "rotate(-90 12 " + (pad.t + ph / 2) + ")" });
    }
    var spanS = (t1 - t0) / 1000, xs = [5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
    var xstep = xs[xs.length - 1];
    for (var i = 0; i < xs.length; ++i) { if (spanS / xs[i] <= pw / 80) { xstep = xs[i]; break; } }
    for (var tick = Math.ceil(t0 / (xstep * 1000)) * xstep * 1000; tick <= t1; tick += xstep * 1000) {
      el("line", { "class": "gridline", x1: X(tick), x2: X(tick), y1: pad.t, y2: pad.t + ph }, g, true);
      text(g, X(tick), H - 6, clock(tick), { "text-anchor": "middle" });
    }
    // Reference lines, labelled on the right; labels kept 11 px apart.
    var labelY = Infinity;
    (c.refs || []).forEach(function (r) {
      if (r.y > ymax) return;
      el("line", { "class": "ref", stroke: r.color, x1: pad.l, x2: pad.l + pw, y1: Y(r.y), y2: Y(r.y) }, g, true);
      labelY = Math.min(Y(r.y) + 3, labelY - 11);
      text(g, pad.l + pw + 6, labelY, r.label, { "class": "ref-text", fill: r.color });
    });
    // Colours: in order, or for a sorted legend the largest latest values
    // first; beyond the palette, thin grey lines.
    var order = series.map(function (s, k) { return k; });
    if (c.sortLegend) {
      order.sort(function (a, b) { return (last(series[b].values) || 0) - (last(series[a].values) || 0); });
    }
    var maxPoints = 0;
    order.slice().reverse().forEach(function (k, rank) {
      var s = series[k];
      var pos = order.length - 1 - rank;
      var color = s.color || (pos < PALETTE.length ? PALETTE[pos] : MINOR);
      s.drawColor = color;
      var d = "", pts = 0, first = null, lastV = null, maxV = null, run = 0;
      for (var j = 0; j < n; ++j) {
        var val = s.values[j];
        if (val === null) { run = 0; continue; }
        var x = X(t[j]).toFixed(1), y = Y(Math.min(val, ymax)).toFixed(1);
        d += (run === 0 ? "M" : "L") + x + " " + y;
        if (run === 0 && (j + 1 >= n || s.values[j + 1] === null)) d += "h0.01";
        ++run; ++pts;
        if (first === null) first = val;
        lastV = val;
        if (maxV === null || val > maxV) maxV = val;
      }
      var path = el("path", { "class": "line" + (color === MINOR ? " minor" : ""), d: d, stroke: color,
                              "data-series": s.name, "data-points": pts }, svg, true);
      if (s.dash) path.setAttribute("stroke-dasharray", "4 3");
      if (first !== null) {
        path.setAttribute("data-first", first);
        path.setAttribute("data-last", lastV);
        path.setAttribute("data-max", maxV);
      }
      maxPoints = Math.max(maxPoints, pts);
    });
    order.forEach(function (k) {
      var s = series[k];
      var item = el("span", { "class": "item", "data-series": s.name }, f.legend);
      el("span", { "class": "key", style: "background:" + s.drawColor }, item);
      item.appendChild(document.createTextNode(s.name));
      var val = el("span", { "class": "val" }, item);
      val.textContent = fmt(last(s.values), c.digits);
      s.legendValue = val;
    });
    if (maxPoints === 0) {
      text(svg, pad.l + pw / 2, pad.t + ph / 2, series.length ? "no data yet" : (c.empty || "no data"),
           { "class": "nodata", "text-anchor": "middle" });
    }
    f.cursor = el("line", { "class": "cursor", x1: 0, x2: 0, y1: pad.t, y2: pad.t + ph, visibility: "hidden" }, svg, true);
    f.view = { t: t, series: series, X: X, t0: t0, t1: t1, pad: pad, pw: pw, W: W, note: c.note(m) };
    f.fig.setAttribute("data-points", maxPoints);
    f.fig.setAttribute("data-series", series.length);
    f.fig.setAttribute("data-state", maxPoints > 0 ? "drawn" : "empty");
    return maxPoints;
  }

  // Legend values follow the pointer; back to the latest when it leaves.
  function hover(id, ev) {
    var f = state.figs[id], v = f.view;
    if (!v || !v.t.length) return;
    if (!ev) {
      f.cursor.setAttribute("visibility", "hidden");
      v.series.forEach(function (s) { s.legendValue.textContent = fmt(last(s.values), f.cfg.digits); });
      f.note.textContent = v.note;
      return;
    }
    var r = f.svg.getBoundingClientRect();
    var x = (ev.clientX - r.left) * v.W / r.width;
    var ms = v.t0 + (x - v.pad.l) / v.pw * (v.t1 - v.t0);
    var best = 0;
    for (var j = 1; j < v.t.length; ++j) {
      if (Math.abs(v.t[j] - ms) < Math.abs(v.t[best] - ms)) best = j;
    }
    var cx = v.X(v.t[best]);
    f.cursor.setAttribute("x1", cx);
    f.cursor.setAttribute("x2", cx);
    f.cursor.setAttribute("visibility", "visible");
    v.series.forEach(function (s) { s.legendValue.textContent = fmt(s.values[best], f.cfg.digits); });
    f.note.textContent = "at " + clock(v.t[best]);
  }

  function tile(parent, label, value, sub, level) {
    var d = el("div", { "class": "tile" + (level ? " " + level : "") }, parent);
    el("div", { "class": "label" }, d).textContent = label;
    el("div", { "class": "value" }, d).textContent = value;
    el("div", { "class": "sub" }, d).textContent = sub;
  }

  function tiles(m) {
    var box = document.getElementById("tiles");
    box.textContent = "";
    var rate = last(m.request_rate), p99 = last(m.latency_p99_seconds), err = last(m.error_ratio);
    tile(box, "Traffic", fmt(rate) + " req/s", "latest interval");
    tile(box, "Latency p99", fmt(p99 === null ? null : p99 * 1000) + " ms",
         "p50 " + fmt(last(m.latency_p50_seconds) === null ? null : last(m.latency_p50_seconds) * 1000) + " ms");
    tile(box, "Error ratio", fmt(err === null ? null : err * 100, 2) + " %", "of requests");
    var pk = Object.keys(m.precision);
    var prec = pk.length ? last(m.precision[pk[0]]) : null;
    tile(box, "Precision", fmt(prec, 3), pk.length ? (pk[0] === "" ? "macro" : "threshold " + pk[0]) +
         ", window " + m.quality_window : "no outcome metrics");
    var es = last(m.empty_share);
    tile(box, "Empty responses", fmt(es === null ? null : es * 100, 2) + " %", "of predictions");
    var worst = null, worstName = "";
    Object.keys(m.drift_psi).forEach(function (k) {
      var v = last(m.drift_psi[k]);
      if (v !== null && (worst === null || v > worst)) { worst = v; worstName = k; }
    });
    tile(box, "Max drift (PSI)", fmt(worst, 3), worst === null ? "no drift scores" : worstName,
         worst !== null && worst >= 0.25 ? "bad" : worst !== null && worst >= 0.1 ? "warn" : "");
  }

  function render() {
    var doc = state.doc;
    var sel = document.getElementById("model-select");
    var name = document.getElementById("model-name");
    if (!doc.models.length) {
      name.textContent = "no model has reported yet";
      document.body.setAttribute("data-state", "no-models");
      return;
    }
    if (state.model >= doc.models.length) state.model = 0;
    sel.hidden = doc.models.length < 2;
    if (sel.options.length !== doc.models.length) {
      sel.textContent = "";
      doc.models.forEach(function (m, k) {
        el("option", { value: k }, sel).textContent = m.model + " v" + m.version;
      });
    }
    sel.value = String(state.model);
    var m = doc.models[state.model];
    name.textContent = "";
    el("b", {}, name).textContent = m.model;
    name.appendChild(document.createTextNode("  version " + m.version));
    var newest = m.t.length ? m.t[m.t.length - 1] : null;
    var age = newest === null ? null : doc.now_ms - newest;
    var stale = age === null || age > STALE_MS;
    document.getElementById("dot").className = "dot " + (stale ? "stale" : "live");
    document.getElementById("updated").textContent = newest === null ? "no samples yet" :
      "last sample " + clock(newest) + (stale ? " \u2014 stale (" + Math.round(age / 1000) + " s old)" : "") +
      " \u00b7 " + m.t.length + "/" + doc.capacity + " points";
    tiles(m);
    CHARTS.forEach(function (c) { draw(c.id, m); });
    document.body.setAttribute("data-state", "drawn");
  }

  function banner(msg) {
    var b = document.getElementById("banner");
    b.style.display = msg ? "block" : "none";
    b.textContent = msg || "";
  }

  function refresh() {
    fetch("api/v1/status", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (doc) {
        state.doc = doc;
        banner("");
        render();
      })
      .catch(function (e) {
        banner("Cannot load api/v1/status: " + e.message + ". Showing the last data received.");
        document.getElementById("dot").className = "dot stale";
        if (document.body.getAttribute("data-state") !== "drawn") {
          document.body.setAttribute("data-state", "error");
        }
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }

  document.getElementById("model-select").addEventListener("change", function (ev) {
    state.model = Number(ev.target.value);
    if (state.doc) render();
  });
  window.addEventListener("resize", function () { if (state.doc) render(); });
  build();
  refresh();
})();
</script>
</body>
</html>
)mlmon_html";

}  // namespace

std::string_view StatusPageHtml() noexcept { return kStatusPage.substr(1); }

}  // namespace mlmon
