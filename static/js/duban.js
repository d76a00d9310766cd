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
