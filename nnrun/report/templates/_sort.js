document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    var button = th.querySelector("button.sort");
    if (!button) return;
    button.addEventListener("click", function () {
      var order = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", order);
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col];
        var text = cell.getAttribute("data-value");
        if (text === null) text = cell.textContent.trim();
        var number = parseFloat(text);
        return { text: text, number: text === "" || isNaN(number) ? null : number };
      };
      var sign = order === "ascending" ? 1 : -1;
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x.number !== null && y.number !== null) return sign * (x.number - y.number);
        if (x.number !== null) return -1;
        if (y.number !== null) return 1;
        return sign * x.text.localeCompare(y.text);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
