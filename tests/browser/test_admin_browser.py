"""The lawyer's area in real headless Chromium: sign in, the dashboard, the week picture."""

from __future__ import annotations

import pytest

from tests.browser.conftest import chromium_or_skip, shots

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app, db):
    from service.cli.demo import DEMO_EMAIL, DEMO_PASSWORD, seed, seed_week

    seed()
    seed_week(shots.WEEK)
    db.session.remove()  # the server thread works on its own sessions
    return DEMO_EMAIL, DEMO_PASSWORD


def watch(page) -> list[str]:
    """Console errors such as CSP violations (HTTP statuses like the 401 of a refused
    sign-in are reported separately as "Failed to load resource" and ignored here)."""
    problems: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_sign_in_and_read_the_week_picture(browser, live_server, demo):
    email, password = demo
    page = browser.new_page(viewport={"width": 1366, "height": 800}, locale="en-GB")
    problems = watch(page)

    page.goto(f"{live_server}/admin/week?date={shots.WEEK.isoformat()}")
    assert "/admin/login" in page.url  # signed out: the login form first
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[data-login-form] button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/week?date={shots.WEEK.isoformat()}")

    svg = page.locator("svg[data-week-picture]")
    assert svg.get_attribute("data-week") == shots.WEEK.isoformat()
    assert page.locator("[data-kind=call]").count() == 5
    assert page.locator("[data-kind=prep]").count() == 5
    assert page.locator("[data-kind=busy]").count() == 5
    assert page.locator("[data-kind=window]").count() == 7  # 2 + 3 + 2 weekly windows
    assert page.locator("[data-kind=call][data-alert]").count() == 0
    # Readable on a laptop: the whole week fits the window, no sideways scrolling.
    box = svg.bounding_box()
    assert box["width"] <= 1366 and box["height"] > 400
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The picture names its clients.
    legend = page.locator("ul.legend").inner_text()
    assert "Boris Petrov" in legend and "Clara Schmidt" in legend

    page.click("[data-week-next]")
    page.wait_for_url("**/admin/week?date=2026-03-09")
    assert page.locator("svg[data-week-picture]").get_attribute("data-week") == "2026-03-09"
    assert page.locator("[data-kind=call]").count() == 0
    assert problems == []


def test_wrong_password_in_the_browser(browser, live_server, demo):
    email, _ = demo
    page = browser.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "not the password")
    page.click("form[data-login-form] button[type=submit]")
    assert page.locator(".flash.error").inner_text() == "E-mail or password is wrong."
    assert "/admin/login" in page.url
    assert problems == []


def test_russian_browser_gets_the_russian_admin(browser, live_server, demo):
    email, password = demo
    page = browser.new_page(locale="ru-RU", extra_http_headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    page.goto(f"{live_server}/admin/login")
    assert page.locator("h1").inner_text() == "Вход"
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[data-login-form] button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Обзор"


def test_screenshot_script_writes_the_week_png(tmp_path):
    """``docs/screenshot_week.py`` still works (it made docs/week.png)."""
    chromium_or_skip()
    out = tmp_path / "week.png"
    shots.main(out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
