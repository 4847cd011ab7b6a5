"""Booked calls and prep blocks in the lawyer's calendar, through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import caldav
import pytest
import sqlalchemy as sa

from service.calendars import sync, writeback
from service.core import urls
from service.jobs import worker
from service.storage import outbox
from service.storage.models import BusyBlock, OutboxTask, utcnow
from service.usecases import bookings
from tests.calendar_servers import USER, unique

from .test_sync_db import connect_calendar

pytestmark = pytest.mark.db_matrix

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday
# First free slot of the default agreement (wed 14:00-16:00 Berlin, 24 h notice).
CALL = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)


def seen(server, url: str) -> dict[str, object]:
    """UID -> VEVENT, as a second, independent CalDAV client sees the calendar."""
    with caldav.DAVClient(url=url, username=USER, password=server.password()) as dav:
        return {
            str(e.icalendar_component["UID"]): e.icalendar_component
            for e in dav.calendar(url=url).get_events()
        }


def run_outbox(_booking_now: datetime) -> dict[str, int]:
    """Run what is due, as ``worker --once`` does (tasks are due by the real clock)."""
    assert worker.run_once  # importing the worker registers every outbox handler
    return outbox.run_due(now=utcnow() + timedelta(seconds=1))


def book(make_client, db, server, **agreement):
    client, _token = make_client(**agreement)
    url = server.make_calendar(unique())
    connect_calendar(db, client.lawyer, server, url, write_to=True)
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease dispute")
    booking, _manage = bookings.book(client, CALL, contact, NOW)
    return booking, url


def test_booking_writes_call_and_prep_seen_by_another_client(db, make_client, server):
    booking, url = book(make_client, db, server)
    assert run_outbox(NOW)["failed"] == 0
    events = seen(server, url)
    call = events[f"{booking.uid}-call@counselhours"]
    prep = events[f"{booking.uid}-prep@counselhours"]
    assert len(events) == 2
    assert str(call["SUMMARY"]) == "Call: Boris Petrov"
    assert "Lease dispute" in str(call["DESCRIPTION"])
    assert f"http://counsel.test/admin/clients/{booking.client_id}#booking-{booking.id}" in str(call["DESCRIPTION"])
    assert str(call["ATTENDEE"]) == "mailto:boris@client.example"
    assert (call["DTSTART"].dt, call["DTEND"].dt) == (CALL, CALL + timedelta(minutes=30))
    assert str(prep["SUMMARY"]) == "Prep: Boris Petrov"
    assert "Lease dispute" in str(prep["DESCRIPTION"])
    assert (prep["DTSTART"].dt, prep["DTEND"].dt) == (CALL - timedelta(minutes=30), CALL)


def test_client_manage_link_is_never_written_into_the_lawyers_calendar(db, make_client, server):
    """The client's manage link (a bearer token) was written into the lawyer's events,
    where anyone the calendar is shared with could move or cancel the call."""
    booking, url = book(make_client, db, server)
    run_outbox(NOW)
    manage = urls.manage_url(booking)
    token = manage.rsplit("/", 1)[-1]
    for event in seen(server, url).values():
        text = event.to_ical().decode()
        assert token not in text.replace("\r\n ", "") and "/m/" not in text


def test_retried_put_leaves_exactly_one_event(db, make_client, server):
    booking, url = book(make_client, db, server)
    run_outbox(NOW)
    writeback.put_task({"booking_id": booking.id, "event": "call"})  # a retry
    writeback.put_task({"booking_id": booking.id, "event": "call"})
    assert len(seen(server, url)) == 2


def test_cancel_removes_both_events(db, make_client, server):
    booking, url = book(make_client, db, server)
    run_outbox(NOW)
    bookings.cancel(booking, NOW)
    assert run_outbox(NOW)["failed"] == 0
    assert seen(server, url) == {}


def test_reschedule_moves_both_events(db, make_client, server):
    booking, url = book(make_client, db, server)
    run_outbox(NOW)
    later = CALL + timedelta(hours=1)
    bookings.reschedule(booking, later, NOW)
    run_outbox(NOW)
    events = seen(server, url)
    assert len(events) == 2
    assert events[f"{booking.uid}-call@counselhours"]["DTSTART"].dt == later
    assert events[f"{booking.uid}-prep@counselhours"]["DTSTART"].dt == later - timedelta(minutes=30)


def test_no_prep_time_no_prep_event(db, make_client, server):
    booking, url = book(make_client, db, server, prep_min=0)
    assert [e.summary for e in writeback.events_for(booking)] == ["Call: Boris Petrov"]
    run_outbox(NOW)
    assert list(seen(server, url)) == [f"{booking.uid}-call@counselhours"]


def test_written_events_are_not_mirrored_as_busy(db, make_client, server):
    """The destination is also a conflict source: the service's own events are skipped
    (the booking already blocks that time from the database)."""
    booking, url = book(make_client, db, server)
    run_outbox(NOW)
    [calendar] = writeback.destinations(booking.lawyer_id)
    assert sync.sync_calendar(calendar, NOW)["ok"]
    assert db.session.scalar(sa.select(sa.func.count(BusyBlock.id))) == 0


def test_enqueue_deletes_removes_events(db, make_client, server):
    booking, url = book(make_client, db, server)
    run_outbox(NOW)
    writeback.enqueue_deletes(booking)
    db.session.commit()
    run_outbox(NOW)
    assert seen(server, url) == {}


def test_no_destination_no_tasks(db, make_client):
    client, _token = make_client()
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease dispute")
    booking, _manage = bookings.book(client, CALL, contact, NOW)
    writeback.enqueue_writes(booking)
    writeback.enqueue_deletes(booking)
    db.session.commit()
    kinds = db.session.scalars(sa.select(OutboxTask.kind)).all()
    assert not [k for k in kinds if k.startswith("calendar.")]


def test_server_down_task_is_retried_later(db, make_client, tmp_path):
    from tests.calendar_servers import start_server

    server = start_server("xandikos", tmp_path / "x")
    booking, url = book(make_client, db, server)
    server.stop()
    counts = run_outbox(NOW)
    assert counts["failed"] == 2
    tasks = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == "calendar.put")).all()
    assert {t.status for t in tasks} == {"pending"}
    assert all("cannot reach the CalDAV server" in t.last_error for t in tasks)
