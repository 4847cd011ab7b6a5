"""The lawyer steering calls in real headless Chromium: book for a client (with and without
the override), move, cancel after confirmation (the client's mail over SMTP), mark a
no-show, the intake editor, days off removing slots; and a layout check that no page grows
sideways with a 5,000-character word in it."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from service.jobs import worker
from service.storage.models import Booking, Intake, token_hash, utcnow
from service.usecases import steer
from tests.browser.test_admin_browser import watch
from tests.mail.conftest import smtp  # noqa: F401 - the SMTP fixture

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
LONG_WORD = "A" * 5000
LONG_URL = "https://example.com/" + "x" * 3000  # in the notes (the agenda holds 5,000 characters)


@pytest.fixture
def practice(make_lawyer, make_client, db):
    from werkzeug.security import generate_password_hash

    lawyer = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    client, token = make_client(lawyer=lawyer, windows="mon 10:00-12:00,tue 10:00-12:00,wed 10:00-12:00,"
                                "thu 10:00-12:00,fri 10:00-12:00", notice_hours=24, horizon_days=30)
    facts = SimpleNamespace(id=lawyer.id, email=lawyer.email, zone=lawyer.zone), \
        SimpleNamespace(id=client.id, email=client.email), token
    db.session.remove()  # the server thread works on its own sessions
    return facts


def sign_in(page, base, lawyer):
    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", lawyer.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[data-login-form] button[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def weekday_ahead(days: int, zone) -> datetime:
    """A weekday at least ``days`` ahead, 10:00 in ``zone``."""
    day = (utcnow() + timedelta(days=days)).astimezone(zone).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), zone)


def test_book_move_cancel_and_no_show_in_the_browser(browser, live_server, practice, db, smtp):  # noqa: F811
    lawyer, client, _ = practice
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    problems = watch(page)
    sign_in(page, live_server, lawyer)

    # Inside the agreement, from the client's page.
    start = weekday_ahead(3, lawyer.zone)
    page.goto(f"{live_server}/admin/clients/{client.id}")
    page.click("[data-book-call]")
    page.fill("input[name=day]", start.date().isoformat())
    page.fill("input[name=time]", "10:00")
    page.fill("textarea[name=agenda]", "Clause 4 of the lease")
    page.click("[data-book-submit]")
    uid = page.locator("[data-booking-uid]").first.get_attribute("data-booking-uid")
    assert uid and "/admin/bookings/" in page.url

    # Outside the windows: refused in words, then booked with the override.
    page.goto(f"{live_server}/admin/clients/{client.id}/book")
    page.fill("input[name=day]", start.date().isoformat())
    page.fill("input[name=time]", "18:00")
    page.fill("textarea[name=agenda]", "Urgent: hearing moved")
    page.click("[data-book-submit]")
    assert "outside the agreed windows" in page.locator("[data-form-errors]").inner_text()
    page.check("[data-override-terms]")
    page.click("[data-book-submit]")
    assert "outside the agreement" in page.locator("main").inner_text()
    outside_page = page.url

    # Move the first call, then cancel it after the confirmation.
    booking_id = db.session.scalar(sa.select(Booking.id).where(Booking.uid == uid))
    page.goto(f"{live_server}/admin/bookings/{booking_id}")
    page.fill("[data-move-form] input[name=day]", (start + timedelta(days=1)).date().isoformat())
    page.fill("[data-move-form] input[name=time]", "19:00")
    page.check("[data-move-form] [data-override-terms]")
    page.fill("[data-move-form] input[name=reason]", "Court hearing")
    page.click("[data-move-submit]")
    assert "Call moved" in page.locator(".flash").inner_text()
    db.session.remove()
    worker.run_once()  # the moved invite goes out before the next change supersedes it
    moved = [m for m in smtp.to(client.email) if "moved" in m["Subject"].lower()]
    assert moved and "Court hearing" in moved[-1].get_body(("plain",)).get_content()
    page.fill("[data-cancel-form] input[name=reason]", "The hearing takes the whole day")
    page.click("[data-cancel-submit]")
    page.click("[data-confirm-cancel]")
    assert page.locator("[data-status=cancelled]").count() == 1
    db.session.remove()
    worker.run_once()
    cancel = [m for m in smtp.to(client.email) if "cancelled" in m["Subject"].lower()]
    assert cancel and "The hearing takes the whole day" in cancel[-1].get_body(("plain",)).get_content()

    # A call in the past: mark it a no-show.
    past = Booking(uid=secrets.token_hex(16), lawyer_id=lawyer.id, client_id=client.id,
                   start=utcnow() - timedelta(days=2), end=utcnow() - timedelta(days=2) + timedelta(minutes=30),
                   blocked_start=utcnow() - timedelta(days=2), blocked_end=utcnow() - timedelta(days=2, minutes=-30),
                   name="Boris Petrov", email=client.email, agenda="Past call",
                   manage_token_hash=token_hash("past-token-for-the-test"), manage_token_enc="x")
    db.session.add(past)
    db.session.commit()
    page.goto(f"{live_server}/admin/bookings/{past.id}")
    page.click("[data-outcome-form] button[value=no_show]")
    assert page.locator("[data-outcome=no_show]").count() == 1
    page.goto(f"{live_server}/admin/clients")
    assert page.locator(f"tr[data-client-id='{client.id}'] [data-outcome-counts]").get_attribute(
        "data-outcome-counts") == "0/1/0"
    assert outside_page
    assert problems == []


def test_intake_editor_and_days_off_in_the_browser(browser, live_server, practice, db):
    lawyer, client, token = practice
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    problems = watch(page)
    sign_in(page, live_server, lawyer)

    page.goto(f"{live_server}/admin/intakes/new")
    page.fill("input[name=name]", "First consultation, 30 min")
    page.fill("input[name=slug]", "first")
    page.select_option("select[name='windows-0-weekday']", "2")
    page.fill("input[name='windows-0-start']", "10:00")
    page.fill("input[name='windows-0-end']", "12:00")
    page.click("form[data-intake-form] button[value=save]")
    assert "/admin/intakes" in page.url
    snippet = page.locator("[data-embed-snippet]").input_value()
    assert 'data-intake="first"' in snippet and "/embed.js" in snippet
    page.click("[data-intake-pause]")
    assert page.locator("[data-intake-resume]").count() == 1
    db.session.remove()
    assert db.session.scalar(sa.select(Intake.active)) is False

    page.goto(f"{live_server}/b/{token}")
    starts = [s.get_attribute("data-slot-start") for s in page.locator("[data-slot-start]").all()]
    first_day = datetime.fromisoformat(starts[0]).astimezone(lawyer.zone).date()
    page.goto(f"{live_server}/admin/practice")
    page.fill("[data-day-off-form] input[name=first_day]", first_day.isoformat())
    page.fill("[data-day-off-form] input[name=note]", "Court, all day")
    page.click("[data-day-off-form] button[type=submit]")
    page.goto(f"{live_server}/b/{token}")
    after = [s.get_attribute("data-slot-start") for s in page.locator("[data-slot-start]").all()]
    assert after and not any(datetime.fromisoformat(s).astimezone(lawyer.zone).date() == first_day for s in after)
    assert "Court, all day" not in page.content()
    assert problems == []


@pytest.mark.parametrize("width", [1280, 375])
def test_regression_a_5000_character_word_breaks_no_page(browser, live_server, practice, db, width):
    """An agenda of 5,000 × "A" made the dashboard 56,256 px wide."""
    lawyer, client, token = practice
    from service.storage.models import ChangeRequest, Client

    client = db.session.get(Client, client.id)  # the ORM object, for the use case
    client.matter = "M" * 300
    db.session.commit()
    start = weekday_ahead(3, lawyer.zone)
    booking = steer.book_for_client(client, start, LONG_WORD, utcnow())
    booking.notes = LONG_URL
    db.session.add(ChangeRequest(booking_id=booking.id, lawyer_id=lawyer.id, message=LONG_WORD, created_at=utcnow()))
    db.session.commit()
    manage = re.sub(r".*/m/", "", steer.bookings.manage_url(booking))
    monday = start.date() - timedelta(days=start.weekday())
    booking_id, client_id = booking.id, client.id
    db.session.remove()

    page = browser.new_page(viewport={"width": width, "height": 800}, locale="en-GB")
    sign_in(page, live_server, lawyer)
    paths = ["/admin/", "/admin/clients", f"/admin/clients/{client_id}", f"/admin/bookings/{booking_id}",
             f"/admin/week?date={monday.isoformat()}", "/admin/practice", "/admin/intakes",
             f"/admin/clients/{client_id}/book", f"/m/{manage}", f"/embed/m/{manage}", f"/b/{token}"]
    wide = {}
    for path in paths:
        page.goto(f"{live_server}{path}")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            wide[path] = scroll
    assert wide == {}, f"pages wider than the {width} px window: {wide}"
