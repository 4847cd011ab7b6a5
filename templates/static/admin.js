/* Counsel Hours admin: copy buttons and the searchable time-zone picker. Works without it. */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = button.parentElement.querySelector("[data-embed-snippet]");
      if (!field) return;
      field.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value).catch(function () {}); }
      else { try { document.execCommand("copy"); } catch (e) { /* selected: the user copies */ } }
    });
  });
  document.querySelectorAll("[data-zone-search]").forEach(function (search) {
    var select = search.parentElement.querySelector("[data-zone-select]");
    if (!select) return;
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
  });
})();
