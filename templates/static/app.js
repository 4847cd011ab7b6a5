/* Counsel Hours booking pages: time zone detection and selection. Works without it. */
(function () {
  "use strict";
  var form = document.querySelector("[data-tz-form]");
  if (!form) return;
  var select = form.querySelector("[data-tz-select]");
  select.addEventListener("change", function () { form.submit(); });
  var search = form.querySelector("[data-zone-search]");
  if (search) {
    search.hidden = false;
    search.addEventListener("input", function () {
      var needle = search.value.trim().toLowerCase().replace(/ /g, "_");
      var first = null;
      Array.prototype.forEach.call(select.querySelectorAll("option"), function (option) {
        var hit = !needle || option.value.toLowerCase().indexOf(needle) !== -1;
        option.hidden = !hit;
        if (hit && !first) first = option;
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (first && needle) select.value = first.value;
    });
  }
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
      // An old name the list does not carry (Asia/Calcutta): the server knows its current
      // one. Once only: a page already showing a chosen zone is not reloaded again.
      if (/[?&]tz=/.test(window.location.search)) return;
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "tz"; hidden.value = zone;
      select.disabled = true;
      form.appendChild(hidden);
      form.submit();
    }
  }
})();

/* The call's channel: the phone field is shown (and required) only for phone calls. */
(function () {
  "use strict";
  var groups = document.querySelectorAll("[data-channel-form]");
  Array.prototype.forEach.call(groups, function (group) {
    var phone = group.querySelector("[data-phone-field]");
    if (!phone) return;
    var input = phone.querySelector("input");
    var radios = group.querySelectorAll("input[name=channel]");
    function update() {
      var chosen = group.querySelector("input[name=channel]:checked");
      var wanted = chosen ? chosen.value === "phone" : radios.length === 0;
      phone.hidden = !wanted;
      input.required = wanted;
    }
    Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", update); });
    update();
  });
})();
