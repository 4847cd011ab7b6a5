"""The CalDAV change probe (#19): every CALDAV_PROBE_SECONDS the worker asks each
calendar for its ctag / sync-token (one depth-0 PROPFIND) and syncs only if it moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from booking.intervals import Interval
from service.calendars import sync
from service.storage import outbox
from service.storage.models import Calendar, OutboxTask
from tests.calendar_servers import unique

from .test_sync_db import NOW, at, connect_calendar, mirror, put

pytestmark = [pytest.mark.db_matrix, pytest.mark.usefixtures("fresh_schedule")]


def synced_calendar(db, lawyer, server) -> tuple[Calendar, str]:
    url = server.make_calendar(unique())
    put(server, url, "a.ics", at(3, 9))
    calendar = connect_calendar(db, lawyer, server, url)
    assert sync.sync_calendar(calendar, NOW)["ok"]
    return db.session.get(Calendar, calendar.id), url


def sync_tasks(db) -> list[OutboxTask]:
    return list(db.session.scalars(
        sa.select(OutboxTask).where(OutboxTask.kind == "calendar.sync", OutboxTask.status == "pending")
    ))


def test_a_change_appears_after_one_probe_round(db, make_lawyer, server):
    calendar, url = synced_calendar(db, make_lawyer(), server)
    put(server, url, "b.ics", at(4, 9))  # the lawyer adds an event in their own client
    later = NOW + timedelta(seconds=30)
    with freeze_time(later):
        assert sync.queue_due_syncs(later) == 1
        [task] = sync_tasks(db)
        assert task.payload == {"calendar_id": calendar.id, "probe": True}
        assert outbox.run_due(now=later)["done"] == 1
    assert mirror(db, calendar.id) == [Interval(at(3, 9), at(3, 10)), Interval(at(4, 9), at(4, 10))]
    assert db.session.get(Calendar, calendar.id).synced_at == later


def test_an_unchanged_calendar_costs_one_request_per_probe(db, make_lawyer, server):
    calendar, _url = synced_calendar(db, make_lawyer(), server)
    state = calendar.sync_state
    for seconds in (30, 60, 90):
        report = sync.probe_calendar(db.session.get(Calendar, calendar.id),
                                     NOW + timedelta(seconds=seconds))
        assert report == {"moved": False, "requests": 1}
    calendar = db.session.get(Calendar, calendar.id)
    assert calendar.synced_at == NOW and calendar.sync_state == state  # nothing written


def test_probe_is_queued_once_per_interval_and_not_before(db, make_lawyer, radicale):
    synced_calendar(db, make_lawyer(), radicale)
    assert sync.queue_due_syncs(NOW + timedelta(seconds=10)) == 0  # synced 10 s ago
    assert sync.queue_due_syncs(NOW + timedelta(seconds=31)) == 1
    db.session.execute(sa.delete(OutboxTask))  # as if the lane ran it
    db.session.commit()
    assert sync.queue_due_syncs(NOW + timedelta(seconds=45)) == 0  # next one at 61 s
    assert sync.queue_due_syncs(NOW + timedelta(seconds=62)) == 1


def test_no_probe_when_probing_is_off(db, app, make_lawyer, radicale):
    synced_calendar(db, make_lawyer(), radicale)
    app.config["CALDAV_PROBE_SECONDS"] = 0
    assert sync.queue_due_syncs(NOW + timedelta(seconds=60)) == 0


def test_a_due_sync_is_not_swallowed_by_a_waiting_probe(db, make_lawyer, radicale):
    """A regular sync asked while a probe of the same calendar waits turns the probe into
    a sync (else an unchanged probe would skip it and the mirror would age)."""
    calendar, _url = synced_calendar(db, make_lawyer(), radicale)
    assert sync.queue_sync(calendar, probe=True)
    assert sync.queue_sync(calendar)
    [task] = sync_tasks(db)
    assert task.payload == {"calendar_id": calendar.id}
    assert not sync.queue_sync(calendar, probe=True)  # a sync waits: nothing more


def test_window_moved_past_the_state_syncs_without_asking(db, make_lawyer, radicale):
    calendar, _url = synced_calendar(db, make_lawyer(), radicale)
    much_later = NOW + timedelta(days=3)
    with freeze_time(much_later):
        report = sync.probe_calendar(calendar, much_later)
    assert report["moved"] and report["ok"]
