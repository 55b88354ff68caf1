// Charts of the portal, drawn from JSON data blocks (no inline script: CSP).
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var lang = document.documentElement.lang || "ru";
  var percent = function (v) { return v === null ? null : Math.round(v * 1000) / 10; };
  var labels = {
    ru: { share: "Доля невозврата, %", within: "Вернулось за {d} дн., %" },
    en: { share: "Non-return share, %", within: "Returned within {d} days, %" },
    be: { share: "Доля невяртання, %", within: "Вярнулася за {d} дз., %" }
  }[lang] || { share: "Доля невозврата, %", within: "Вернулось за {d} дн., %" };
  var percentAxis = { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } } };

  function draw(dataId, build) {
    var block = document.getElementById(dataId);
    if (!block) { return; }
    build(JSON.parse(block.textContent));
  }

  // A bar or point with a `url` (the drill-down of its cell) opens it when clicked.
  function linked(rows) {
    return {
      onClick: function (event, elements) {
        var row = elements.length ? rows[elements[0].index] : null;
        if (row && row.url) { window.location.assign(row.url); }
      },
      onHover: function (event, elements) {
        event.native.target.style.cursor = elements.length && rows[elements[0].index].url ? "pointer" : "default";
      }
    };
  }

  // A canvas inside .chart-box takes the box's height (CSS) instead of an aspect ratio of the page's width.
  function boxed(canvas) { return !!(canvas.parentElement && canvas.parentElement.classList.contains("chart-box")); }

  function trendChart(canvasId, rows) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return r.cohort; }),
        datasets: [{ label: labels.share, data: rows.map(function (r) { return percent(r.share); }),
                     backgroundColor: "#0b4f8a" }]
      },
      options: Object.assign({ animation: false, scales: percentAxis, maintainAspectRatio: !boxed(canvas) }, linked(rows))
    });
  }

  function curveChart(canvasId, rows) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) { return; }
    var colours = { "30": "#9ecae1", "90": "#4292c6", "180": "#2171b5", "365": "#08306b" };
    new Chart(canvas, {
      type: "line",
      data: {
        labels: rows.map(function (r) { return r.cohort; }),
        datasets: ["30", "90", "180", "365"].map(function (d) {
          return { label: labels.within.replace("{d}", d), borderColor: colours[d], backgroundColor: colours[d],
                   data: rows.map(function (r) { return percent(r[d]); }), spanGaps: true };
        })
      },
      options: Object.assign({ animation: false, scales: percentAxis, maintainAspectRatio: !boxed(canvas) }, linked(rows))
    });
  }

  draw("dashboard-data", function (data) {
    trendChart("trend-chart", data.trend);
    curveChart("curve-chart", data.curve);
  });
  draw("dossier-data", function (data) { trendChart("operator-trend-chart", data.trend); });
})();
