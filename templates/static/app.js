/* Counsel Hours booking pages: time zone detection and selection. Works without it. */
(function () {
  "use strict";
  var form = document.querySelector("[data-tz-form]");
  if (!form) return;
  var select = form.querySelector("[data-tz-select]");
  select.addEventListener("change", function () { form.submit(); });
  if (form.hasAttribute("data-tz-detect")) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { zone = null; }
    if (zone && zone !== select.value) {
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].value === zone) {
          select.value = zone;
          form.submit();
          return;
        }
      }
    }
  }
})();
