"""Reading a feed stops when the budget is spent: ``MAX_STEPS`` bounds one event's
expansion, not a feed of hundreds of such events (``/poison/`` of the hostile server:
each event costs about a second of CPU). The web's live check answers 503
calendar_unavailable within its budget; a worker sync records a cut-off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.intervals import Interval
from service.calendars import bounded
from service.calendars.base import ProviderError
from service.calendars.ics.provider import ICSProvider
from service.core.crypto import encrypt_json
from service.storage.models import Calendar, CalendarAccount, utcnow
from service.usecases.calendar_connect import plain_error
from tests.hostile_calendar import HostileServer

SLACK = 3.0  # one event's expansion (~1.3 s) past the budget, on a loaded machine


@pytest.fixture
def app_overrides() -> dict:
    return {"CALENDAR_WEB_BUDGET_SECONDS": 1, "ALLOW_PRIVATE_CALENDAR_HOSTS": True}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def test_poison_feed_reading_cut_off_at_the_task_budget(app, hostile):
    """Regression: a 100 KB feed of 500 events, each repeating daily from 1470 with a COUNT
    just under the per-event cap, cost ten minutes of CPU per sync."""
    provider = ICSProvider({}, {"url": hostile.url("poison", "500/cal.ics")}, ZoneInfo("UTC"),
                           allow_private=True)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    started = time.monotonic()
    try:
        with bounded.budget(2), pytest.raises(ProviderError) as caught:
            provider.sync("feed", None, Interval(now, now + timedelta(days=30)))
    finally:
        provider.close()
    assert isinstance(caught.value, bounded.TooSlow)
    assert time.monotonic() - started < 2 + SLACK
    assert "took longer than allowed" in plain_error(str(caught.value))


def test_live_check_on_a_poison_feed_fails_closed_within_the_budget(client, make_client, db, hostile):
    """Regression: the booking's live check expanded every recurring event of the feed in
    the web worker, for minutes, until gunicorn killed it. (Real time: the budget is a
    monotonic clock, which a frozen clock would stop.)"""
    from service.usecases.availability import slots_for

    booked_client, token = make_client()
    lawyer = booked_client.lawyer
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="Office feed", config={},
                              secret_enc=encrypt_json({"url": hostile.url("poison", "500/cal.ics")}))
    db.session.add_all([account, Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed",
                                          name="Office", conflict=True, synced_at=utcnow())])
    db.session.commit()
    start = slots_for(booked_client, utcnow())[0].start.isoformat()
    started = time.monotonic()
    answer = client.post("/api/v1/bookings", json={
        "token": token, "start": start, "name": "B",
        "email": "b@client.example", "agenda": "x"})
    assert answer.status_code == 503, answer.get_data(as_text=True)[:500]
    assert answer.get_json()["error"]["code"] == "calendar_unavailable"
    assert time.monotonic() - started < 1 + SLACK
