"""In real headless Chromium, with JavaScript on and off: the admin books and moves a call
by clicking one of the client's offered slots (the slot then leaves the client's offer),
and the time-zone pickers' search works (booking page: "Show" beside it; the lawyer's
profile: saved with the form)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, Lawyer
from tests.browser.test_admin_browser import watch
from tests.browser.test_steer_browser import practice, sign_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def _page(browser, js: bool, **context):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                              java_script_enabled=js, timezone_id="Europe/Berlin", **context)
    return ctx.new_page()


def _offered(page, base, token) -> list[str]:
    page.goto(f"{base}/b/{token}")
    return [s.get_attribute("data-slot-start") for s in page.locator("[data-slot-start]").all()]


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_regression_book_and_move_by_clicking_a_clients_slot(browser, live_server, practice, db, js):  # noqa: F811
    """The admin's forms took only a typed date and time; the client's slots are buttons now."""
    lawyer, client, token = practice
    page = _page(browser, js)
    problems = watch(page)
    sign_in(page, live_server, lawyer)
    before = _offered(page, live_server, token)

    page.goto(f"{live_server}/admin/clients/{client.id}/book")
    buttons = page.locator("[data-book-form] [data-offered-slots] button[data-slot-start]")
    assert [b.get_attribute("data-slot-start") for b in buttons.all()] == before  # the client's very offer
    chosen = buttons.nth(1).get_attribute("data-slot-start")
    page.fill("textarea[name=agenda]", "Clause 4 of the lease")
    buttons.nth(1).click()
    page.wait_for_url("**/admin/bookings/*")
    uid = page.locator("[data-booking-uid]").first.get_attribute("data-booking-uid")
    db.session.remove()
    booking = db.session.scalar(sa.select(Booking).where(Booking.uid == uid))
    assert booking.start == datetime.fromisoformat(chosen) and not booking.outside_terms
    assert chosen not in _offered(page, live_server, token)

    page.goto(f"{live_server}/admin/bookings/{booking.id}")
    moves = page.locator("[data-move-form] [data-offered-slots] button[data-slot-start]")
    target = moves.last.get_attribute("data-slot-start")
    assert target != chosen
    page.fill("[data-move-form] input[name=reason]", "Court hearing")
    moves.last.click()
    assert "Call moved" in page.locator(".flash").inner_text()
    db.session.remove()
    assert db.session.get(Booking, booking.id).start == datetime.fromisoformat(target)
    offer = _offered(page, live_server, token)
    assert target not in offer and chosen in offer  # the freed time is offered again at once
    assert problems == []


def test_enter_in_the_other_time_fields_never_books_a_slot(browser, live_server, practice, db):  # noqa: F811
    """The first slot's button would be the form's default: Enter takes the other-time path."""
    lawyer, client, _ = practice
    page = _page(browser, js=False)
    sign_in(page, live_server, lawyer)
    page.goto(f"{live_server}/admin/clients/{client.id}/book")
    page.fill("textarea[name=agenda]", "x")
    page.fill("input[name=time]", "03:00")
    page.press("input[name=time]", "Enter")
    assert 'Tick "outside the agreement"' in page.locator("[data-form-errors]").inner_text()  # typed time refused
    db.session.remove()
    assert db.session.scalar(sa.select(Booking)) is None


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_booking_page_zone_search(browser, live_server, practice, js):  # noqa: F811
    _, _, token = practice
    page = _page(browser, js)
    problems = watch(page)
    page.goto(f"{live_server}/b/{token}")
    search, select = page.locator("[data-tz-form] [data-zone-search]"), page.locator("[data-tz-form] select")
    show = page.locator("[data-tz-show]")
    assert search.is_visible() and select.input_value() == "Europe/Berlin"
    for old in ("Asia/Calcutta", "US/Eastern", "Europe/Kiev"):
        assert page.locator(f"[data-tz-form] option[value='{old}']").count() == 0
    assert page.locator("[data-tz-form] optgroup[label='Asia']").count() == 1
    s, b = select.bounding_box(), show.bounding_box()
    assert b["x"] >= s["x"] + s["width"] and abs((b["y"] + b["height"] / 2) - (s["y"] + s["height"] / 2)) < 20

    search.fill("tokyo")
    if js:  # the live filter chose it already
        assert select.input_value() == "Asia/Tokyo"
    show.click()
    page.wait_for_load_state()
    assert page.locator("[data-tz-form] select").input_value() == "Asia/Tokyo"

    if not js:  # several matches narrow the list; the answer says so
        page.locator("[data-tz-form] [data-zone-search]").fill("new")
        page.locator("[data-tz-show]").click()
        values = [o.get_attribute("value") for o in page.locator("[data-tz-form] option").all()]
        assert values == ["America/New_York", "America/North_Dakota/New_Salem"]
        assert "2 time zones match" in page.locator("[data-zone-search-result]").inner_text()
        page.locator("[data-tz-show]").click()
        assert page.locator("[data-tz-form] select").input_value() == "America/New_York"
    assert problems == []


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_profile_zone_search(browser, live_server, practice, db, js):  # noqa: F811
    lawyer, _, _ = practice
    page = _page(browser, js)
    sign_in(page, live_server, lawyer)
    page.goto(f"{live_server}/admin/practice")
    form = page.locator("[data-profile-form]")
    form.locator("[data-zone-search]").fill("Moscow")
    form.locator("button[type=submit]").click()
    assert "Saved" in page.locator(".flash").inner_text()
    db.session.remove()
    assert db.session.get(Lawyer, lawyer.id).timezone == "Europe/Moscow"
