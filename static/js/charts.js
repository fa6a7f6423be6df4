/* Draws the charts of templates/catalog/_cost_chart.html: each element with a data-chart
   attribute holds {"type", "data", "options"} as JSON, drawn with Chartkick (chartkick
   package, loaded before this file). No inline script, so the Content-Security-Policy
   allows only the app's own scripts. */
(function () {
  "use strict";

  function drawCharts(root) {
    root.querySelectorAll("[data-chart]:not([data-chart-drawn])").forEach(function (element, index) {
      var chart = JSON.parse(element.dataset.chart);
      element.setAttribute("data-chart-drawn", "");
      // Chartkick keeps charts with an id in Chartkick.charts (redraws, destroyAll).
      element.id = element.id || "chart-" + (index + 1);
      new Chartkick[chart.type](element, chart.data, chart.options);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      drawCharts(document);
    });
  } else {
    drawCharts(document);
  }
})();
