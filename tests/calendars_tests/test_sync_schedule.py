"""The worker's scheduler queues each due sync and probe at its next tick, whatever became
of the tick before (#19: freshness measured end to end, ``bench/bench_freshness.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.calendars import sync
from service.storage.models import Calendar, CalendarAccount, OutboxTask
from tests.sqlite_snapshot import commit_between

from .test_sync_db import NOW

pytestmark = [pytest.mark.sqlite_only, pytest.mark.usefixtures("fresh_schedule")]  # the trigger: SQLite's snapshot rule


def conflict_calendar(db, lawyer, kind: str, synced_at) -> Calendar:
    """A conflict calendar of ``kind`` (queueing its sync talks to no server)."""
    account = CalendarAccount(lawyer_id=lawyer.id, kind=kind, label=kind, config={})
    calendar = Calendar(account=account, lawyer_id=lawyer.id, remote_id=f"{kind}-1", name=kind,
                        conflict=True, synced_at=synced_at)
    db.session.add_all([account, calendar])
    db.session.commit()
    return calendar


def pending_syncs(db) -> list[dict]:
    db.session.rollback()
    return [t.payload for t in db.session.scalars(
        sa.select(OutboxTask).where(OutboxTask.kind == "calendar.sync", OutboxTask.status == "pending")
    )]


def test_regression_tick_refused_by_sqlite_when_a_lane_committed_between_its_read_and_write(db, make_lawyer):
    """The scheduler read the due calendars, a lane committed (a claim), and the scheduler's
    insert of the sync task was refused at once ("database is locked", see
    ``tests/sqlite_snapshot.py``). The bench's newly connected Google calendar then waited
    an interval (300 s) for its first sync."""
    calendar = conflict_calendar(db, make_lawyer(), "google", synced_at=None)
    with commit_between(db.engine, "calendar") as committed:
        assert sync.queue_due_syncs(NOW) == 1
    assert committed
    assert pending_syncs(db) == [{"calendar_id": calendar.id}]


@pytest.mark.parametrize(
    ("kind", "synced_ago", "payload"),
    [("google", None, {}), ("caldav", timedelta(seconds=31), {"probe": True})],
    ids=["sync", "probe"],
)
def test_regression_due_calendar_skipped_for_an_interval_after_a_failed_tick(db, make_lawyer, kind, synced_ago,
                                                                              payload):
    """A tick whose queueing failed had already noted the calendar as queued: its sync
    waited a whole SYNC_INTERVAL_SECONDS (its probe a CALDAV_PROBE_SECONDS) instead of
    the next tick, a second later."""
    calendar = conflict_calendar(db, make_lawyer(), kind, None if synced_ago is None else NOW - synced_ago)
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_tasks BEFORE INSERT ON outbox_task "
            "BEGIN SELECT RAISE(ABORT, 'database full'); END"
        )
    with pytest.raises(sa.exc.IntegrityError, match="database full"):
        sync.queue_due_syncs(NOW)
    db.session.rollback()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_tasks")
    assert pending_syncs(db) == []
    assert sync.queue_due_syncs(NOW + timedelta(seconds=1)) == 1  # the next tick
    assert pending_syncs(db) == [{"calendar_id": calendar.id, **payload}]
