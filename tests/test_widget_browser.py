"""The embeddable widget in a real headless Chromium, on a host page from another origin.

The app runs on ``http://127.0.0.1:P1`` (real server, real clock, migrated SQLite); the
lawyer's website is ``http://localhost:P2`` (another site: the widget's frame is a
third-party context there) and ``http://localhost:P3`` is a site nobody allow-listed.
Host pages send a strict CSP of their own, so the widget must work without inline
scripts or styles on the host as well.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HostSite,
    make_live_app,
    require_chromium,
    serve,
    widget_page,
    widget_tag,
)

pytestmark = pytest.mark.browser

require_chromium()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ALL_WEEK = ",".join(f"{d} 08:00-12:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))

HOST_JS = """
window.__booked = [];
window.__violations = [];
document.addEventListener("counselhours:booked", function (event) {
  window.__booked.push({ container: event.target.className, detail: event.detail,
                         bubbles: event.bubbles });
});
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

PROBE_COOKIE = """() => {
  document.cookie = "probe=1; SameSite=None; Secure; Path=/";
  return document.cookie.indexOf("probe=1") >= 0;
}"""


class Live:
    """The running app and host sites, and a way to add lawyers with their widgets."""

    def __init__(self, app, app_url: str, site: HostSite, site_url: str, other: HostSite, other_url: str):
        self.app, self.app_url = app, app_url
        self.site, self.site_url = site, site_url
        self.other, self.other_url = other, other_url

    def lawyer_with_client(self, **agreement) -> str:
        """A new lawyer who allows ``site_url`` and a client with slots every day; the token."""
        from service.storage.extensions import db
        from service.storage.models import EmbedOrigin, Lawyer
        from service.usecases.clients import create_client

        with self.app.app_context():
            count = db.session.query(Lawyer).count()
            lawyer = Lawyer(name="Anna Keller", email=f"anna{count}@counsel.example", timezone="Europe/Berlin")
            lawyer.embed_origins.append(EmbedOrigin(origin=self.site_url))
            db.session.add(lawyer)
            fields = {"name": "Boris Petrov", "email": "boris@client.example", "windows": ALL_WEEK,
                      "duration_min": 30, "prep_min": 15, "notice_hours": 1, "horizon_days": 3}
            fields.update(agreement)
            _, token = create_client(lawyer, **fields)
            db.session.commit()
            return token

    def intake(self, slug: str) -> None:
        from service.storage.extensions import db
        from service.storage.models import EmbedOrigin, Intake, Lawyer

        with self.app.app_context():
            lawyer = Lawyer(name="Anna Keller", email=f"{slug}@counsel.example", timezone="Europe/Berlin")
            lawyer.embed_origins.append(EmbedOrigin(origin=self.site_url))
            db.session.add(Intake(lawyer=lawyer, slug=slug, title="First consultation, 30 min",
                                  windows=ALL_WEEK, duration_min=30, prep_min=15, notice_hours=1,
                                  horizon_days=2))
            db.session.commit()

    def page(self, site: HostSite, path: str, *tags: str) -> None:
        app_origin = self.app_url
        csp = (f"default-src 'self'; script-src 'self' {app_origin}; frame-src {app_origin}; "
               "style-src 'self'; img-src 'self'")
        site.add(path, widget_page(self.app_url, "Anna Keller, attorney", *tags, script="/host.js"),
                 **{"Content-Security-Policy": csp})


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    app = make_live_app(tmp_path_factory.mktemp("live"))
    site, other = HostSite(), HostSite()
    for host in (site, other):
        host.add("/host.js", HOST_JS, content_type="text/javascript")
    with serve(app) as app_server, serve(site) as site_server, serve(other) as other_server:
        app_url = f"http://127.0.0.1:{app_server.server_port}"
        app.config["BASE_URL"] = app_url
        yield Live(app, app_url, site, f"http://localhost:{site_server.server_port}",
                   other, f"http://localhost:{other_server.server_port}")


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def persistent_context(playwright, *, third_party_cookies: bool, **options):
    """A regular (not incognito) profile with third-party cookies allowed or blocked."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    (profile / "Default").mkdir()
    mode = 0 if third_party_cookies else 1  # Chromium's cookie_controls_mode: 1 blocks 3P cookies
    prefs = {"profile": {"cookie_controls_mode": mode, "block_third_party_cookies": not third_party_cookies}}
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, timezone_id="Europe/Berlin", **options)
    return context, profile


def open_page(context):
    context.set_default_timeout(10_000)
    return context.new_page()


def csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return errors


def widget_frame(page, index: int = 0):
    """The Playwright frame of the ``index``-th widget's iframe, once it has loaded."""
    handle = page.locator(".counselhours iframe").nth(index).element_handle()
    frame = handle.content_frame()
    frame.wait_for_load_state()
    return frame


def assert_frame_fits_content(page, index: int = 0, showing: str = "[data-slot-start]") -> None:
    """The iframe is exactly as tall as its content, so it never scrolls inside.

    The frame runs in another process and reports its height asynchronously: poll until
    the page ``showing`` that element has been measured and the iframe follows it.
    """
    iframe = page.locator(".counselhours iframe").nth(index)
    expect(page.frame_locator(".counselhours iframe").nth(index).locator(showing).first).to_be_attached()
    frame = widget_frame(page, index)
    reading = None
    for _ in range(100):
        content = frame.evaluate(
            "document.readyState === 'complete' ? [Math.ceil(document.body.getBoundingClientRect().height),"
            " document.documentElement.scrollHeight, document.documentElement.clientHeight,"
            " document.documentElement.scrollWidth, document.documentElement.clientWidth] : null")
        outer = iframe.evaluate("e => e.getBoundingClientRect().height")
        reading = (content, outer)
        if content and content[0] == outer and content[1] <= content[2]:
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail(f"the iframe never fitted its content: [body, scrollHeight, clientHeight, "
                    f"scrollWidth, clientWidth], iframe height = {reading}")
    content, outer = reading
    assert content[0] > 200
    assert content[3] <= content[4], f"inner horizontal scrollbar: {reading}"


def book_in_widget(page, index: int = 0, name: str = "Boris Petrov") -> dict:
    """Pick the first slot, fill the form, book; returns the slot start and the uid."""
    frame = page.frame_locator(".counselhours iframe").nth(index)
    slot = frame.locator("[data-slot-start]").first
    start = slot.get_attribute("data-slot-start")
    slot.click()
    frame.locator("input[name=name]").fill(name)
    frame.locator("input[name=email]").fill("boris@client.example")
    frame.locator("textarea[name=agenda]").fill("Lease dispute: draft reply to the landlord's letter")
    frame.locator("form[data-booking-form] button[type=submit]").click()
    confirmation = frame.locator("[data-booking-uid]")
    expect(confirmation).to_be_visible()
    return {"start": start, "uid": confirmation.get_attribute("data-booking-uid")}


def assert_booked_event(page, start: str, container_index: int = 0) -> None:
    page.wait_for_function("() => window.__booked.length > 0")
    events = page.evaluate("window.__booked")
    assert len(events) == 1
    event = events[0]
    assert event["bubbles"] is True
    assert set(event["detail"]) == {"start", "end"}  # no personal data
    assert event["detail"]["start"] == start
    containers = page.locator(".counselhours")
    assert event["container"] == containers.nth(container_index).get_attribute("class")


def assert_booking_flow(page, live, path: str, index: int = 0) -> None:
    errors = csp_errors(page)
    page.goto(live.site_url + path)
    assert_frame_fits_content(page, index)
    booked = book_in_widget(page, index)
    assert len(booked["uid"]) == 32
    assert_booked_event(page, booked["start"], index)
    assert_frame_fits_content(page, index, showing="[data-booking-uid]")
    assert page.evaluate("window.__violations") == []
    assert errors == []


def test_inline_widgets_book_with_third_party_cookies_allowed(playwright, live):
    first, second = live.lawyer_with_client(), live.lawyer_with_client()
    live.page(live.site, "/two-widgets", widget_tag(live.app_url, token=first),
              "<p>Or book with my colleague:</p>", widget_tag(live.app_url, token=second))
    context, profile = persistent_context(playwright, third_party_cookies=True)
    try:
        page = open_page(context)
        page.goto(live.site_url + "/two-widgets")
        assert widget_frame(page, 0).evaluate(PROBE_COOKIE) is True  # 3P cookies really work here
        assert_booking_flow(page, live, "/two-widgets", index=1)
        assert_frame_fits_content(page, 0)  # the other widget is untouched and still fits
        expect(page.frame_locator(".counselhours iframe").nth(0).locator("[data-booking-uid]")).to_have_count(0)
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def test_inline_widget_books_with_third_party_cookies_blocked(playwright, live):
    token = live.lawyer_with_client()
    live.page(live.site, "/blocked", widget_tag(live.app_url, token=token))
    context, profile = persistent_context(playwright, third_party_cookies=False)
    try:
        page = open_page(context)
        page.goto(live.site_url + "/blocked")
        assert widget_frame(page).evaluate(PROBE_COOKIE) is False  # 3P cookies really blocked
        assert_booking_flow(page, live, "/blocked")
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def test_intake_widget_at_375_px(browser, live):
    live.intake("first-375")
    live.page(live.site, "/narrow", widget_tag(live.app_url, intake="first-375"))
    context = browser.new_context(viewport={"width": 375, "height": 700}, timezone_id="Europe/Berlin")
    try:
        page = open_page(context)
        assert_booking_flow(page, live, "/narrow")
        assert page.locator(".counselhours iframe").evaluate("e => e.getBoundingClientRect().width") <= 375
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
    from service.storage.extensions import db
    from service.storage.models import Client, Intake

    with live.app.app_context():
        intake = db.session.query(Intake).filter_by(slug="first-375").one()
        client = db.session.query(Client).filter_by(intake_id=intake.id).one()
        assert client.is_new and client.name == "Boris Petrov"


def test_button_opens_an_accessible_modal(browser, live):
    token = live.lawyer_with_client()
    live.page(live.site, "/button", "<p>Need advice?</p>",
              widget_tag(live.app_url, token=token, mode="button", label="Book a consultation"),
              '<p><a href="#after">after the widget</a></p>')
    context = browser.new_context(timezone_id="Europe/Berlin")
    page = open_page(context)
    try:
        page.goto(live.site_url + "/button")
        button = page.get_by_role("button", name="Book a consultation")
        dialog = page.locator("dialog.counselhours-dialog")
        expect(page.locator(".counselhours iframe")).to_have_count(0)  # loads on first open
        button.click()
        expect(dialog).to_be_visible()
        assert page.evaluate("document.querySelector('dialog').open") is True
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Close"
        expect(page.frame_locator(".counselhours iframe").locator("[data-slot-start]").first).to_be_visible()
        assert_frame_fits_content(page)
        # Tab cycles inside the dialog: through the frame's controls and back to Close.
        frame = widget_frame(page)
        seen = []
        for _ in range(20):
            page.keyboard.press("Tab")
            # The frame runs in another process: focus moves there asynchronously.
            page.wait_for_function("() => document.activeElement.tagName === 'IFRAME' || "
                                   "document.activeElement.className === 'counselhours-close'",
                                   timeout=3000)
            outer = page.evaluate("document.activeElement.getAttribute('aria-label') || "
                                  "document.activeElement.tagName")
            seen.append(outer if outer == "Close" else frame.evaluate("document.activeElement.name"))
        assert seen.count("Close") >= 2 and {"name", "email", "agenda"} <= set(seen)
        # Shift+Tab from Close wraps to the frame's last control (the submit button).
        page.locator(".counselhours-close").focus()
        page.keyboard.press("Shift+Tab")
        page.wait_for_function("() => document.activeElement.tagName === 'IFRAME'")
        frame.wait_for_function("() => document.activeElement.type === 'submit'")
        # Esc closes and focus returns to the button.
        page.locator(".counselhours-close").focus()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        assert page.evaluate("document.activeElement.className") == "counselhours-button"
        # Esc while focus is inside the booking frame closes it too (the frame reports it).
        button.click()
        expect(dialog).to_be_visible()
        page.frame_locator(".counselhours iframe").locator("input[name=name]").focus()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        assert page.evaluate("document.activeElement.className") == "counselhours-button"
        # The close button closes it as well.
        button.click()
        page.locator(".counselhours-close").click()
        expect(dialog).to_be_hidden()
    finally:
        context.close()


def test_a_site_not_allow_listed_cannot_frame_the_widget(browser, live):
    token = live.lawyer_with_client()
    live.page(live.other, "/thief", widget_tag(live.app_url, token=token))
    context = browser.new_context()
    page = open_page(context)
    try:
        with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refusal, \
                page.expect_response(lambda r: "/embed/b/" in r.url) as response_info:
            page.goto(live.other_url + "/thief")
        assert "has been blocked" in refusal.value.text
        csp = response_info.value.headers["content-security-policy"]
        assert f"frame-ancestors {live.site_url};" in csp
        frame = page.locator(".counselhours iframe").element_handle().content_frame()
        frame.wait_for_load_state()
        assert frame.url.startswith("chrome-error://")
        assert frame.locator("[data-slot-start]").count() == 0
        # No message came through from a blocked page: the iframe kept its initial height.
        assert page.locator(".counselhours iframe").evaluate("e => e.style.height") == "480px"
    finally:
        context.close()
