(function () {
  "use strict";
  // a cell's sort value: its number (data-v) or its text
  function val(td) {
    var v = td ? td.getAttribute("data-v") : null;
    return v === null ? (td ? td.textContent : "") : parseFloat(v);
  }
  function sortTable(t, key, desc) {
    var ths = t.tHead.rows[0].cells, idx = -1;
    for (var i = 0; i < ths.length; i++) {
      ths[i].classList.remove("sorted", "desc");
      if (ths[i].getAttribute("data-key") === key) idx = i;
    }
    if (idx < 0) return;
    var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = val(a.cells[idx]), y = val(b.cells[idx]);
      var nx = typeof x === "number", ny = typeof y === "number";
      var c = nx && ny ? x - y : nx ? -1 : ny ? 1 : String(x).localeCompare(String(y));
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    ths[idx].classList.add("sorted");
    if (desc) ths[idx].classList.add("desc");
    t.setAttribute("data-sorted", (desc ? "-" : "") + key);
  }
  var tables = document.querySelectorAll("table.sortable");
  tables.forEach(function (t) {
    Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () {
        var key = th.getAttribute("data-key");
        sortTable(t, key, t.getAttribute("data-sorted") === key);
      });
    });
  });
  // #sort=median sorts every table by that column, #sort=-median descending
  function fromHash() {
    var m = /sort=(-?)([A-Za-z0-9_]+)/.exec(location.hash);
    if (m) tables.forEach(function (t) { sortTable(t, m[2], m[1] === "-"); });
  }
  fromHash();
  window.addEventListener("hashchange", fromHash);
  // one run's samples over time at a time
  document.querySelectorAll("select.run-pick").forEach(function (s) {
    var box = s.closest(".over-time");
    function show() {
      box.querySelectorAll("[data-run]").forEach(function (e) {
        e.hidden = e.getAttribute("data-run") !== s.value;
      });
    }
    s.addEventListener("change", show);
    show();
  });
})();
