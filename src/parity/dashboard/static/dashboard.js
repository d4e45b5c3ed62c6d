// Draws every chart of the page with uPlot from its <script type="application/json"> block.
// No data leaves the page, nothing is fetched: the server put everything here.
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];

  function fmt(unit) {
    return function (u, v) {
      if (v == null) return "—";
      if (unit === "%") return (v * 100).toFixed(1) + "%";
      if (unit === "s") return v.toFixed(3) + " s";
      return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(2) : v.toPrecision(3);
    };
  }

  function withAlpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  function build(spec, width) {
    var data = [spec.x];
    var series = [{ label: "time (UTC)" }];
    var bands = [];
    var hidden = [];  // the band edges: drawn, but not listed in the legend
    var value = fmt(spec.unit);
    spec.series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length];
      var yi = data.length;
      data.push(s.y);
      series.push({ label: s.label, stroke: color, width: 2, spanGaps: true, value: value,
                    points: { show: spec.x.length < 60 } });
      if (s.band) {
        hidden.push(data.length, data.length + 1);
        data.push(s.hi, s.lo);
        series.push({ label: s.label + " 95% high", stroke: withAlpha(color, 0.35), width: 1, spanGaps: true, value: value },
                    { label: s.label + " 95% low", stroke: withAlpha(color, 0.35), width: 1, spanGaps: true, value: value });
        bands.push({ series: [yi + 1, yi + 2], fill: withAlpha(color, 0.15) });
      }
    });
    spec.thresholds.forEach(function (t) {
      data.push(spec.x.map(function () { return t.y; }));
      series.push({ label: t.label, stroke: "#6b7280", width: 1, dash: [6, 4], points: { show: false }, value: value });
    });
    return {
      opts: {
        width: width, height: Math.max(180, Math.min(280, Math.round(width * 0.45))),
        series: series, bands: bands, legend: { live: true },
        scales: { x: { time: true }, y: spec.log ? { distr: 3 } : {} },
        axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return value(u, v); }); }, size: 64 }],
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); }
      },
      data: data,
      hidden: hidden
    };
  }

  function draw() {
    if (typeof uPlot === "undefined") return;
    var plots = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var block = document.getElementById(el.getAttribute("data-chart"));
      if (!block) return;
      var spec = JSON.parse(block.textContent);
      var b = build(spec, el.clientWidth || 320);
      var plot = new uPlot(b.opts, b.data, el);
      var rows = plot.root.querySelectorAll(".u-legend .u-series");
      b.hidden.forEach(function (i) { if (rows[i]) rows[i].classList.add("band-edge"); });
      plots.push({ el: el, plot: plot });
    });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (p) {
          var w = p.el.clientWidth || 320;
          p.plot.setSize({ width: w, height: Math.max(180, Math.min(280, Math.round(w * 0.45))) });
        });
      }, 150);
    });
    document.documentElement.setAttribute("data-charts-drawn", String(plots.length));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
