// sklad console: the few behaviours plain HTML lacks. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  // Movement lines: "Add a row" copies the last row, empty; pasting two columns (SKU and
  // quantity, as copied from a spreadsheet) fills as many rows as the paste has, adding rows.
  function lineRows(tbody) {
    return tbody.querySelectorAll("tr:not(.row-error)");
  }
  function addRow(tbody) {
    var rows = lineRows(tbody);
    var row = rows[rows.length - 1].cloneNode(true);
    row.classList.remove("error-row");
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    tbody.appendChild(row);
    if (window.htmx) window.htmx.process(row);
    return row;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) return;
    var tbody = document.getElementById(button.getAttribute("data-add-row"));
    if (tbody) addRow(tbody).querySelector("input").focus();
  });
  document.addEventListener("paste", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("table.lines input[name=sku], table.lines input[name=quantity]")) return;
    var text = (event.clipboardData || window.clipboardData).getData("text");
    if (!/[\t\n;]/.test(text.trim())) return;
    event.preventDefault();
    var tbody = input.closest("tbody");
    var start = Array.prototype.indexOf.call(lineRows(tbody), input.closest("tr"));
    text.replace(/\r/g, "").split("\n").filter(function (line) { return line.trim() !== ""; })
      .forEach(function (line, n) {
        var cells = line.split(/\t|;/);
        var row = lineRows(tbody)[start + n] || addRow(tbody);
        row.querySelector("input[name=sku]").value = (cells[0] || "").trim();
        row.querySelector("input[name=quantity]").value = (cells[1] || "").trim();
      });
  });
  // Long actions (reconcile, "update the list") say they are working until the page comes back.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var id = form.getAttribute("data-working");
    if (!id) return;
    var note = document.getElementById(id);
    if (note) note.classList.add("on");
    var button = form.querySelector("button");
    if (button) button.disabled = true;
  });
})();
