"""The call's channel in a real headless Chromium: the booking page asks for the phone
number only in phone mode, and the confirmation shows the video call's join link."""

from __future__ import annotations

import pytest

from tests.live import CHROMIUM, CHROMIUM_ARGS, make_live_app, require_chromium, serve

pytestmark = pytest.mark.browser

require_chromium()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ALL_WEEK = ",".join(f"{d} 08:00-12:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    app = make_live_app(tmp_path_factory.mktemp("live"))
    with serve(app) as server:
        url = f"http://127.0.0.1:{server.server_port}"
        app.config["BASE_URL"] = url
        yield app, url


def _client(app, **agreement) -> str:
    from service.storage.extensions import db
    from service.storage.models import Lawyer
    from service.usecases.clients import create_client

    with app.app_context():
        count = db.session.query(Lawyer).count()
        lawyer = Lawyer(name="Anna Keller", email=f"anna{count}@counsel.example", timezone="Europe/Berlin")
        db.session.add(lawyer)
        fields = {"name": "Boris Petrov", "email": "boris@client.example", "windows": ALL_WEEK,
                  "duration_min": 30, "prep_min": 15, "notice_hours": 1, "horizon_days": 3}
        fields.update(agreement)
        _, token = create_client(lawyer, **fields)
        db.session.commit()
        return token


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(timezone_id="Europe/Berlin")
        yield context.new_page()
        browser.close()


def test_phone_mode_asks_for_the_number_and_books_with_it(live, page):
    app, url = live
    token = _client(app, channels="video,phone")
    page.goto(f"{url}/b/{token}")
    phone = page.locator("input[name=phone]")
    expect(phone).to_be_hidden()  # video, the default: no number asked
    page.locator("input[name=channel][value=phone]").check()
    expect(phone).to_be_visible()
    page.locator("[data-slot-start]").first.check()
    page.fill("textarea[name=agenda]", "Lease")
    page.locator("form[data-booking-form] button[type=submit]").click()
    # The browser itself refuses the empty number (required in phone mode).
    assert page.evaluate("document.querySelector('input[name=phone]').validity.valueMissing")
    expect(page.locator("[data-booking-uid]")).to_have_count(0)
    phone.fill("+49 30 1234567")
    page.locator("form[data-booking-form] button[type=submit]").click()
    expect(page.locator("[data-booking-uid]")).to_be_visible()
    # Shown as dialled in the client's country (the browser's zone is Berlin).
    expect(page.locator("p.channel")).to_contain_text("will call you on 030 1234567")


def test_the_confirmation_shows_the_join_link(live, page):
    app, url = live
    token = _client(app)
    page.goto(f"{url}/b/{token}")
    expect(page.locator("input[name=phone]")).to_have_count(0)  # video only: no phone field
    page.locator("[data-slot-start]").first.check()
    page.fill("textarea[name=agenda]", "Lease")
    page.locator("form[data-booking-form] button[type=submit]").click()
    link = page.locator("a[data-join-link]")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href.startswith("https://meet.jit.si/CounselHours-") and len(href) > 40
