/* Counsel Hours booking widget. One tag per widget, several per page are fine:
 *   <script src="https://HOST/embed.js" data-token="CLIENT_TOKEN" async></script>
 *   <script src="https://HOST/embed.js" data-intake="first-consultation" data-mode="button"
 *           data-label="Book a first consultation" async></script>
 * Inline mode puts the booking UI in an iframe where the tag stands; button mode puts a
 * button there that opens it in a modal dialog. The iframe grows with its content, and
 * a finished booking fires `counselhours:booked` (detail: {start, end}, bubbling) on the
 * widget's container element. Only global: `window.CounselHours`. No inline styles or
 * scripts are injected (styles are set through CSSOM), so strict host CSPs keep working.
 */
(function () {
  "use strict";
  if (window.CounselHours && window.CounselHours.mount) {
    window.CounselHours.mountAll(document.currentScript);
    return;
  }

  var widgets = [];

  function css(element, styles) {
    for (var name in styles) {
      if (Object.prototype.hasOwnProperty.call(styles, name)) element.style[name] = styles[name];
    }
    return element;
  }

  function frameUrl(origin, script) {
    var token = script.getAttribute("data-token");
    var intake = script.getAttribute("data-intake");
    var path = token
      ? "/embed/b/" + encodeURIComponent(token)
      : "/embed/i/" + encodeURIComponent(intake);
    var zone = null;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { zone = null; }
    return origin + path + (zone ? "?tz=" + encodeURIComponent(zone) : "");
  }

  function makeFrame(widget, title) {
    var iframe = document.createElement("iframe");
    iframe.src = widget.url;
    iframe.title = title;
    // No scrolling="no": should a height message ever be lost, the frame still scrolls.
    css(iframe, {
      display: "block", width: "100%", height: "480px", border: "0",
      colorScheme: "light", background: "#fff"
    });
    widget.iframe = iframe;
    return iframe;
  }

  function focusGuard(onFocus) {
    var guard = document.createElement("span");
    guard.tabIndex = 0;
    guard.setAttribute("data-counselhours-focus-guard", "");
    css(guard, { position: "fixed", width: "1px", height: "1px", opacity: "0", outline: "none",
                 pointerEvents: "none", overflow: "hidden" });
    guard.addEventListener("focus", onFocus);
    return guard;
  }

  function makeDialog(widget, title) {
    var dialog = document.createElement("dialog");
    dialog.setAttribute("aria-label", title);
    dialog.className = "counselhours-dialog";
    css(dialog, {
      width: "min(44rem, calc(100vw - 1rem))", maxWidth: "calc(100vw - 1rem)",
      maxHeight: "calc(100vh - 2rem)", padding: "0", border: "0", borderRadius: "8px",
      overflow: "auto", background: "#fff", boxShadow: "0 10px 40px rgba(0, 0, 0, .35)"
    });
    var bar = css(document.createElement("div"), {
      display: "flex", justifyContent: "flex-end", position: "sticky", top: "0",
      background: "#fff", zIndex: "1"
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "counselhours-close";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    css(close, {
      font: "inherit", fontSize: "1.5rem", lineHeight: "1", padding: ".5rem .8rem",
      margin: "0", border: "0", background: "transparent", color: "#1d2330", cursor: "pointer"
    });
    close.addEventListener("click", function () { dialog.close(); });
    bar.appendChild(close);
    // Focus guards keep Tab inside the dialog: past the end back to the close button, and
    // back from the close button to the frame's last control (the frame is asked to).
    var startGuard = focusGuard(function () {
      widget.iframe.focus();
      widget.iframe.contentWindow.postMessage({ source: "counselhours", type: "focus-last" }, widget.origin);
    });
    var endGuard = focusGuard(function () { close.focus(); });
    dialog.appendChild(startGuard);
    dialog.appendChild(bar);
    dialog.appendChild(makeFrame(widget, title));
    dialog.appendChild(endGuard);
    dialog.addEventListener("close", function () {
      if (widget.button) widget.button.focus();
    });
    // Clicks on the backdrop land on the dialog element itself.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });
    widget.dialog = dialog;
    widget.close = close;
    return dialog;
  }

  function open(widget) {
    if (!widget.dialog) widget.container.appendChild(makeDialog(widget, widget.title));
    if (!widget.dialog.open) widget.dialog.showModal();
    widget.close.focus();
  }

  function mount(script) {
    if (!script || script.hasAttribute("data-counselhours-mounted")) return null;
    if (!script.getAttribute("data-token") && !script.getAttribute("data-intake")) return null;
    // A tag in <head> puts its widget at the end of <body>, once there is one.
    var inHead = !script.parentNode || script.parentNode === document.head;
    var parent = inHead ? document.body : script.parentNode;
    if (!parent) return null;
    script.setAttribute("data-counselhours-mounted", "");
    var origin = new URL(script.src, document.baseURI).origin;
    var mode = script.getAttribute("data-mode") === "button" ? "button" : "inline";
    var title = script.getAttribute("data-title") || "Book a consultation";
    var container = document.createElement("div");
    container.className = "counselhours counselhours-" + mode;
    var widget = { origin: origin, url: frameUrl(origin, script), container: container, title: title };
    if (mode === "button") {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "counselhours-button";
      button.setAttribute("aria-haspopup", "dialog");
      button.textContent = script.getAttribute("data-label") || title;
      css(button, {
        font: "inherit", padding: ".65rem 1.2rem", border: "0", borderRadius: "6px",
        background: "#1f5f8b", color: "#fff", cursor: "pointer"
      });
      button.addEventListener("click", function () { open(widget); });
      widget.button = button;
      container.appendChild(button);
    } else {
      container.appendChild(makeFrame(widget, title));
    }
    parent.insertBefore(container, inHead ? null : script.nextSibling);
    widgets.push(widget);
    return widget;
  }

  function onMessage(event) {
    var data = event.data;
    if (!data || data.source !== "counselhours") return;
    for (var i = 0; i < widgets.length; i++) {
      var widget = widgets[i];
      if (event.origin !== widget.origin || !widget.iframe || event.source !== widget.iframe.contentWindow) continue;
      if (data.type === "resize" && typeof data.height === "number" && data.height >= 0) {
        widget.iframe.style.height = Math.ceil(data.height) + "px";
      } else if (data.type === "booked") {
        widget.container.dispatchEvent(new CustomEvent("counselhours:booked", {
          bubbles: true,
          detail: { start: String(data.start), end: String(data.end) }
        }));
      } else if (data.type === "escape" && widget.dialog && widget.dialog.open) {
        widget.dialog.close();
      }
      return;
    }
  }

  function mountAll(current) {
    mount(current);
    var scripts = document.querySelectorAll("script[data-token], script[data-intake]");
    for (var i = 0; i < scripts.length; i++) {
      var src = scripts[i].src;
      if (current ? src === current.src : /\/embed\.js(\?|$)/.test(src)) mount(scripts[i]);
    }
  }

  window.addEventListener("message", onMessage);
  window.CounselHours = { mount: mount, mountAll: mountAll, widgets: widgets };

  var current = document.currentScript;
  mountAll(current);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { mountAll(current); });
  }
})();
