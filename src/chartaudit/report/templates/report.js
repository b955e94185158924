document.querySelectorAll("table.sortable th[data-sort]").forEach(function (th) {
  th.tabIndex = 0;
  th.title = "Sort by this column";
  function sort() {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var numeric = th.dataset.sort === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    function key(row) {
      var cell = row.cells[col], v = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
      if (!numeric) return v.toLowerCase();
      return v === "" ? Infinity : parseFloat(v);
    }
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      if (numeric) return (x === y ? 0 : x < y ? -1 : 1) * dir;
      return x.localeCompare(y) * dir;
    }).forEach(function (row) { body.appendChild(row); });
  }
  th.addEventListener("click", sort);
  th.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
  });
});
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
