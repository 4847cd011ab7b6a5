"""Google through the whole service: mirror sync, push → outbox, booking check, write-back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from service.calendars import sync
from service.calendars.google import accounts
from service.calendars.google.events import event_id
from service.calendars.google.models import GoogleChannel
from service.core.crypto import decrypt_json
from service.jobs import worker
from service.storage import outbox
from service.storage.models import BusyBlock, OutboxTask
from service.usecases import bookings
from service.usecases.errors import Refused
from service.web.errors import status_of
from tests.google.conftest import timed

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
# The first slot of the default agreement: Wed 4 Mar 14:00 Berlin, 30 min, 30 min prep.
CALL = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
PRIMARY = "lawyer@example.com"


@pytest.fixture
def account(db, lawyer, fake):
    fake.add_calendar(PRIMARY, primary=True, time_zone="Europe/Berlin")
    fake.add_calendar("court@group.calendar.google.com", "Court", access_role="reader")
    with freeze_time(NOW):
        result = accounts.connect(
            lawyer,
            fake.authorize(),
            calendars=("primary", "court@group.calendar.google.com"),
            write_to="primary",
        )
    return result.account


def calendar_of(account, remote_id):
    return next(c for c in account.calendars if c.remote_id == remote_id)


def mirror(db, calendar):
    rows = db.session.execute(
        sa.select(BusyBlock.start, BusyBlock.end)
        .where(BusyBlock.calendar_id == calendar.id)
        .order_by(BusyBlock.start)
    )
    return [(s, e) for s, e in rows]


def run_outbox(at):
    assert worker.run_once  # importing the worker registers every outbox handler
    with freeze_time(at):
        return outbox.run_due(now=at + timedelta(seconds=1))


def test_sync_mirrors_both_conflict_calendars(db, account, fake):
    fake.add_event(PRIMARY, **timed(CALL, CALL + timedelta(hours=1)))
    court = CALL + timedelta(days=1)
    fake.add_event("court@group.calendar.google.com", **timed(court, court + timedelta(hours=3)))
    fake.add_event(PRIMARY, start={"date": "2026-03-06"}, end={"date": "2026-03-07"})
    with freeze_time(NOW):
        summary = sync.sync_lawyer(account.lawyer_id, NOW)
    assert summary["ok"] == 2 and summary["failed"] == 0
    assert mirror(db, calendar_of(account, PRIMARY)) == [
        (CALL, CALL + timedelta(hours=1)),
        (datetime(2026, 3, 5, 23, tzinfo=UTC), datetime(2026, 3, 6, 23, tzinfo=UTC)),
    ]
    assert mirror(db, calendar_of(account, "court@group.calendar.google.com")) == [
        (court, court + timedelta(hours=3))
    ]


def test_push_notification_queues_a_sync_the_worker_runs(db, client, account, fake):
    primary = calendar_of(account, PRIMARY)
    with freeze_time(NOW):
        sync.sync_calendar(primary, NOW)
    event = fake.add_event(PRIMARY, **timed(CALL, CALL + timedelta(hours=1)))
    channel = db.session.scalar(
        sa.select(GoogleChannel).where(GoogleChannel.calendar_id == primary.id)
    )
    listed_before = len(fake.calls("events.list"))
    with freeze_time(NOW):
        response = client.post("/hooks/google", headers=fake.notification(channel.channel_id))
    assert response.status_code == 204
    assert len(fake.calls("events.list")) == listed_before  # nothing synced inline
    assert run_outbox(NOW)["done"] >= 1
    assert mirror(db, primary) == [(CALL, CALL + timedelta(hours=1))]
    incremental = fake.calls("events.list")[-1].query
    assert "syncToken" in incremental and "timeMin" not in incremental
    assert db.session.scalars(sa.select(BusyBlock.key)).all() == [event["id"]]


def test_revoked_token_marks_the_account_broken(db, account, fake):
    fake.revoke(decrypt_json(account.secret_enc)["refresh_token"])
    with freeze_time(NOW):
        report = sync.sync_calendar(calendar_of(account, PRIMARY), NOW)
    assert not report["ok"] and "revoked" in report["error"]
    db.session.refresh(account)
    assert account.broken and "reconnect" in account.last_error
    with freeze_time(NOW):
        assert sync.sync_due(NOW + timedelta(hours=1)) == {"synced": 0, "failed": 0}


def test_booking_is_checked_against_google_free_busy(db, make_client, lawyer, account, fake):
    client, _token = make_client(lawyer=lawyer)
    # Entered in Google after the last sync: only the live check can see it.
    fake.add_event("court@group.calendar.google.com", **timed(CALL, CALL + timedelta(hours=2)))
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW), pytest.raises(Refused) as refused:
        bookings.book(client, CALL, contact, NOW)
    assert status_of(refused.value) == 409
    asked = {item["id"] for r in fake.calls("freebusy.query") for item in r.body["items"]}
    assert asked == {PRIMARY, "court@group.calendar.google.com"}


def test_booking_fails_closed_when_google_is_revoked(db, make_client, lawyer, account, fake):
    client, _token = make_client(lawyer=lawyer)
    fake.revoke(decrypt_json(account.secret_enc)["refresh_token"])
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW), pytest.raises(Refused) as refused:
        bookings.book(client, CALL, contact, NOW)
    assert status_of(refused.value) == 503


def test_write_back_booking_reschedule_cancel(db, make_client, lawyer, account, fake):
    client, _token = make_client(lawyer=lawyer)
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW):
        booking, _manage = bookings.book(client, CALL, contact, NOW)
    fake.lose_responses(1)  # the first insert is stored, its answer lost
    assert run_outbox(NOW)["failed"] == 0
    call_id = event_id(f"{booking.uid}-call@counselhours")
    prep_id = event_id(f"{booking.uid}-prep@counselhours")
    events = {e["id"]: e for e in fake.live_events(PRIMARY)}
    assert set(events) == {call_id, prep_id}
    assert events[call_id]["start"] == {"dateTime": "2026-03-04T13:00:00Z"}
    assert events[prep_id]["end"] == {"dateTime": "2026-03-04T13:00:00Z"}

    # The service's own events never come back as busy time, and never block a move
    # onto an overlapping time (live check included).
    with freeze_time(NOW):
        sync.sync_calendar(calendar_of(account, PRIMARY), NOW)
        assert mirror(db, calendar_of(account, PRIMARY)) == []
        moved = bookings.reschedule(booking, CALL + timedelta(minutes=30), NOW)
    assert run_outbox(NOW)["failed"] == 0
    events = {e["id"]: e for e in fake.live_events(PRIMARY)}
    assert set(events) == {call_id, prep_id}
    assert events[call_id]["start"] == {"dateTime": "2026-03-04T13:30:00Z"}

    with freeze_time(NOW):
        bookings.cancel(moved, NOW)
    assert run_outbox(NOW)["failed"] == 0
    assert fake.live_events(PRIMARY) == []
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxTask).where(OutboxTask.status != "done")
        )
        == 0
    )
