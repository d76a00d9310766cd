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
window.addEventListener("load", function () {
  if (!window.Plotly) return;
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    const figure = JSON.parse(el.dataset.figure);
    window.Plotly.newPlot(el, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });
});

// Drill-down: a chart point whose customdata is a URL opens the list behind it.
window.addEventListener("load", function () {
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    if (!el.on) return;
    el.on("plotly_click", function (data) {
      const point = data.points && data.points[0];
      if (point && typeof point.customdata === "string" && point.customdata.startsWith("/")) {
        window.location.href = point.customdata;
      }
    });
  });
  // Wall display: reload on the interval the page asks for.
  const wall = document.querySelector("[data-refresh-seconds]");
  if (wall) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(wall.dataset.refreshSeconds));
  }
});
