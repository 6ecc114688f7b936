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
