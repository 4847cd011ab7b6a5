/* Counsel Hours widget, inside the iframe: tells the embedding page (embed.js) the content
   height, a finished booking (start/end only) and Esc. Messages go only to the lawyer's
   allow-listed origins, which are also the only ones the page may be framed by. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var body = document.body;
  var allowed = (body.getAttribute("data-parent-origins") || "").split(" ").filter(Boolean);
  var ancestors = window.location.ancestorOrigins;
  var targets = ancestors && ancestors.length
    ? allowed.filter(function (o) { return o === ancestors[0]; })
    : allowed;

  function post(message) {
    message.source = "counselhours";
    for (var i = 0; i < targets.length; i++) window.parent.postMessage(message, targets[i]);
  }

  var lastHeight = -1;
  function measure() {
    var height = Math.ceil(body.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ type: "resize", height: height });
    }
  }
  if (window.ResizeObserver) new ResizeObserver(measure).observe(body);
  window.addEventListener("load", measure);
  measure();

  var booked = document.querySelector("[data-booking-uid][data-just-booked]");
  if (booked) {
    post({
      type: "booked",
      start: booked.getAttribute("data-booking-start"),
      end: booked.getAttribute("data-booking-end")
    });
    // Reloading the confirmation must not report the booking again.
    var url = new URL(window.location.href);
    url.searchParams.delete("booked");
    window.history.replaceState(null, "", url.toString());
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") post({ type: "escape" });
  });

  // Shift+Tab from the dialog's first control wraps to this page's last one.
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || targets.indexOf(event.origin) < 0) return;
    var data = event.data;
    if (!data || data.source !== "counselhours" || data.type !== "focus-last") return;
    var candidates = document.querySelectorAll(FOCUSABLE);
    for (var i = candidates.length - 1; i >= 0; i--) {
      var element = candidates[i];
      if (element.type === "radio" && !element.checked && element.form &&
          element.form.querySelector("input[type=radio][name='" + element.name + "']:checked")) continue;
      if (element.getClientRects().length) { element.focus(); return; }
    }
  });
})();
