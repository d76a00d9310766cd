// Review page: clicking "show in text" highlights the clause in the source pane.
document.addEventListener("click", function (event) {
  const link = event.target.closest(".show-source");
  if (!link) return;
  const position = link.dataset.position;
  const marks = document.querySelectorAll("#source mark");
  let found = null;
  marks.forEach(function (mark) {
    const hit = mark.dataset.positions.split(" ").includes(position);
    mark.classList.toggle("active", hit);
    if (hit && !found) found = mark;
  });
  if (found) {
    event.preventDefault();
    found.scrollIntoView({ block: "center", behavior: "smooth" });
  }
});

// Plotly charts: a <div data-figure="{json}"> becomes a chart once plotly.min.js is loaded.
// A point whose customdata is a local URL drills down to the list behind it. When every
// chart is drawn, <html data-charts-ready> says so (the browser tests wait for it).
window.addEventListener("load", function () {
  const charts = document.querySelectorAll("[data-figure]");
  if (!window.Plotly || !charts.length) return;
  const drawn = Array.prototype.map.call(charts, function (el) {
    const figure = JSON.parse(el.dataset.figure);
    const config = { displaylogo: false, responsive: true };
    return window.Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
      const drills = figure.data.some(function (trace) {
        return (trace.customdata || []).some(function (url) {
          return typeof url === "string" && url.startsWith("/");
        });
      });
      if (!drills) return;
      el.classList.add("drills");
      el.on("plotly_click", function (data) {
        const point = data.points && data.points[0];
        if (point && typeof point.customdata === "string" && point.customdata.startsWith("/")) {
          window.location.href = point.customdata;
        }
      });
    });
  });
  Promise.all(drawn).then(function () {
    document.documentElement.dataset.chartsReady = String(charts.length);
  });
});

// Wall display: reload on the interval the page asks for, once the server answers (a wall
// left on an error page would never come back), and offer the browser's full screen.
window.addEventListener("load", function () {
  const wall = document.querySelector("[data-refresh-seconds]");
  if (!wall) return;
  const delay = 1000 * Number(wall.dataset.refreshSeconds);
  function schedule() {
    wall.dataset.refreshAt = String(Date.now() + delay);
    setTimeout(refresh, delay);
  }
  function refresh() {
    fetch(window.location.href, { method: "HEAD", cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) window.location.reload();
        else schedule();
      })
      .catch(schedule);
  }
  schedule();
  const button = document.querySelector("[data-fullscreen]");
  if (button && document.documentElement.requestFullscreen) {
    button.hidden = false;
    button.addEventListener("click", function () {
      document.documentElement.requestFullscreen().catch(function () {});
    });
  }
});
