"""The web never waits long on a calendar: the live re-check before a booking and the
admin's connect have a strict budget, then fail closed; slow calendars never occupy
every web worker (a hostile calendar server on loopback)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from service.calendars import bounded
from service.core.crypto import encrypt_json
from service.storage.models import Calendar, CalendarAccount, utcnow
from tests.admin.conftest import post
from tests.hostile_calendar import HostileServer

BUDGET = 1
SLACK = 2.5


@pytest.fixture
def app_overrides() -> dict:
    return {"CALENDAR_WEB_BUDGET_SECONDS": BUDGET, "CALENDAR_READ_TIMEOUT_SECONDS": 60,
            "ALLOW_PRIVATE_CALENDAR_HOSTS": True, "CALENDAR_WEB_SLOTS": 2}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer(drip=0.3) as server:
        yield server


def dripping_feed(db, lawyer, hostile):
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="Office feed", config={},
                              secret_enc=encrypt_json({"url": hostile.url("drip")}))
    db.session.add_all([account, Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed",
                                          name="Office", conflict=True, synced_at=utcnow())])
    db.session.commit()


def test_live_check_on_a_dripping_calendar_fails_closed_within_the_budget(client, make_client, frozen, db, hostile):
    """Regression: a dripping feed held a web worker until gunicorn killed it."""
    booked_client, token = make_client()
    dripping_feed(db, booked_client.lawyer, hostile)
    started = time.monotonic()
    answer = client.post("/api/v1/bookings", json={
        "token": token, "start": "2026-03-04T13:00:00+00:00", "name": "B",
        "email": "b@client.example", "agenda": "x"})
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "calendar_unavailable"
    assert time.monotonic() - started < BUDGET + SLACK


def test_connect_to_a_dripping_server_gives_a_form_message_within_the_budget(admin, hostile):
    started = time.monotonic()
    page = post(admin, "/admin/calendars/ics", {"url": hostile.url("drip")}, token_from="/admin/calendars",
                follow_redirects=True)
    text = page.get_data(as_text=True)
    assert time.monotonic() - started < BUDGET + 5 + SLACK  # the page's own requests included
    assert page.status_code in (200, 422) and f"within {BUDGET}" in text, text[:3000]


def test_with_every_slot_taken_a_connect_is_refused_at_once(app, admin, hostile):
    """Three slow connects must not occupy every web worker: past CALENDAR_WEB_SLOTS
    requests waiting on calendars, the next is answered at once."""
    held = [bounded._take_slot(app.instance_path, 2) for _ in range(2)]
    try:
        assert all(held)
        started = time.monotonic()
        page = post(admin, "/admin/calendars/ics", {"url": hostile.url("drip")},
                    token_from="/admin/calendars", follow_redirects=True)
        elapsed = time.monotonic() - started
    finally:
        for handle in held:
            handle.close()
    assert "Too many calendars are being checked at once" in page.get_data(as_text=True)
    assert elapsed < 5
    again = bounded._take_slot(app.instance_path, 2)
    assert again is not None  # released again
    again.close()


def test_calendars_page_says_when_a_calendar_was_cut_off(app, admin, lawyer, db, hostile):
    """The lawyer sees why the busy times are not up to date: "larger than 20 MB"."""
    from service.calendars.sync import sync_calendar

    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="Giant feed", config={},
                              secret_enc=encrypt_json({"url": hostile.url("giant")}))
    calendar = Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed", name="Giant",
                        conflict=True)
    db.session.add_all([account, calendar])
    db.session.commit()
    report = sync_calendar(calendar, utcnow())
    assert not report["ok"] and "answer larger than 20 MB" in report["error"]
    page = admin.get("/admin/calendars").get_data(as_text=True)
    assert "larger than 20 MB and was cut off" in page
