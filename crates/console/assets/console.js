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
    // Two columns fill SKU and quantity; one column fills only the column pasted into.
    var names = input.name === "sku" ? ["sku", "quantity"] : ["quantity"];
    text.replace(/\r/g, "").split("\n").filter(function (line) { return line.trim() !== ""; })
      .forEach(function (line, n) {
        var cells = line.split(/\t|;/);
        var row = lineRows(tbody)[start + n] || addRow(tbody);
        names.forEach(function (name, i) {
          if (cells[i] !== undefined) row.querySelector("input[name=" + name + "]").value = cells[i].trim();
        });
      });
  });
  // A refused form comes back as a page of its own. What was typed into it is kept in this
  // tab's session storage when it is sent, and put back when the page says it was refused;
  // the reason is also shown next to the field it is about.
  var KEPT = "sklad.form";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // The stock panel shows what is saved, never what was only typed.
    if (!form.id || (form.method || "").toLowerCase() !== "post" || form.getAttribute("data-keep") === "no") return;
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf" && typeof value === "string") fields.push([name, value]);
    });
    try {
      sessionStorage.setItem(KEPT, JSON.stringify({ form: form.id, action: form.action, fields: fields }));
    } catch (e) { /* storage full or off: nothing is restored */ }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var notice = document.getElementById("notice");
    var refused = notice && notice.classList.contains("error");
    var kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(KEPT) || "null"); } catch (e) { kept = null; }
    if (!refused) {
      try { sessionStorage.removeItem(KEPT); } catch (e) { /* nothing kept */ }
      return;
    }
    var form = kept && document.getElementById(kept.form);
    // Only into the very form that was sent (another product's form has another action).
    if (form && form.action !== kept.action) form = null;
    if (form) {
      var seen = {};
      kept.fields.forEach(function (pair) {
        var name = pair[0], value = pair[1];
        var inputs = form.querySelectorAll("[name=\"" + CSS.escape(name) + "\"]");
        var n = seen[name] || 0;
        seen[name] = n + 1;
        inputs.forEach(function (input) {
          if (input.type === "checkbox" || input.type === "radio") {
            if (input.value === value || (value === "on" && input.value === "on")) input.checked = true;
          } else if (input.tagName === "SELECT" && input.multiple) {
            Array.prototype.forEach.call(input.options, function (o) { if (o.value === value) o.selected = true; });
          }
        });
        var one = inputs[n];
        if (one && one.type !== "checkbox" && one.type !== "radio" && !(one.tagName === "SELECT" && one.multiple)
            && one.type !== "hidden" && one.type !== "password" && one.value === "") {
          one.value = value;
        }
      });
      // Boxes ticked in what was sent stay ticked; the others were unticked by the person.
      form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        box.checked = kept.fields.some(function (p) { return p[0] === box.name && (p[1] === box.value || p[1] === "on"); });
      });
    }
    var field = notice.getAttribute("data-field");
    if (field) {
      // The field of the form that was sent, else the first form's with that name.
      var name = "[name=\"" + CSS.escape(field) + "\"]";
      var target = (form && form.querySelector(name)) || document.querySelector("form " + name);
      if (target && !target.closest("tr.error-row")) {
        target.setAttribute("aria-invalid", "true");
        var why = document.createElement("p");
        why.className = "field-error";
        why.setAttribute("role", "alert");
        why.textContent = notice.textContent;
        target.insertAdjacentElement("afterend", why);
      }
    }
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
  // Spreadsheets: a chosen CSV file is read into the form's text field, so the same form
  // works by choosing a file or by pasting.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-fills]")) return;
    var field = document.getElementById(input.getAttribute("data-fills"));
    var file = input.files && input.files[0];
    if (!field || !file) return;
    var reader = new FileReader();
    reader.onload = function () { field.value = String(reader.result || ""); };
    reader.readAsText(file, "utf-8");
  });
})();
