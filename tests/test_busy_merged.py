"""The writers keep each lawyer's busy time merged, stamped with the mirror state (#19).

A slot-cache miss reads the lawyer's one ``busy_merged`` row instead of the busy rows when
its stamp is the state the miss keyed on. Whatever writes the mirror through the session
(objects, bulk inserts, insert values, bulk updates and deletes, calendars added, changed
or removed; the syncs, a disconnect, the lawyer's choice of calendars) leaves it current;
a writer that skips it leaves it stale, and a stale one is never read.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.intervals import Interval, merge
from service.storage import busy_merged
from service.storage.db_setup import write_transaction
from service.storage.models import BusyBlock, BusyMerged, Calendar, CalendarAccount, new_token
from service.usecases import slot_cache
from service.usecases.availability import fresh_slots_for, slots_for
from service.usecases.slot_cache import ALL_TIME, BUSY_ROWS, MERGED_BUSY, busy_lists
from tests.conftest import NOW
from tests.test_booking_busy_read import VACATION, WRITES, write_busy_row
from tests.test_booking_statements import counted
from tests.test_live_check_feed import AWAY, OVER_SLOT, CountingFeed, connect_synced_feed, feed_text

pytestmark = [pytest.mark.db_matrix, pytest.mark.usefixtures("mirror_always_fresh")]

WINDOWS = "mon 09:00-12:00,tue 14:00-17:00,wed 09:00-11:00,thu 10:00-16:00,fri 09:00-10:00"
HOUR = timedelta(hours=1)
EXAMPLES = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def practice(db, make_lawyer, make_client):
    lawyer = make_lawyer()
    client, token = make_client(lawyer=lawyer, windows=WINDOWS, step_min=15, horizon_days=40)
    other = make_lawyer()  # a second lawyer's rows never count for the first
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="court.ics", config={})
    theirs = CalendarAccount(lawyer_id=other.id, kind="ics", label="other.ics", config={})
    db.session.add_all([account, theirs])
    db.session.flush()
    calendars = [
        Calendar(account_id=account.id, lawyer_id=lawyer.id, remote_id=name, name=name,
                 conflict=conflict, synced_at=NOW)
        for name, conflict in (("court", True), ("holidays", True), ("ignored", False))
    ]
    calendars.append(Calendar(account_id=theirs.id, lawyer_id=other.id, remote_id="other",
                              name="other", conflict=True, synced_at=NOW))
    db.session.add_all(calendars)
    db.session.commit()
    return {"lawyer": lawyer, "client": client, "calendars": calendars, "token": token}


def reference(db, lawyer_id: int) -> list[Interval]:
    """The plain rule: the lawyer's rows from the lawyer's conflict calendars, merged."""
    block = BusyBlock.__table__.c
    rows = db.session.execute(
        sa.select(block.start, block.end).join(Calendar, Calendar.id == block.calendar_id)
        .where(block.lawyer_id == lawyer_id, Calendar.lawyer_id == lawyer_id,
               Calendar.conflict.is_(True))
    )
    return merge(Interval(start, end) for start, end in rows)


def keyed_mirror(db, client) -> tuple[str, ...]:
    """The state of the mirror as a slot read of ``client`` keys on it."""
    row = slot_cache.FINGERPRINT_BY_ID.row(db.session.connection(), client.id, NOW - timedelta(days=32))
    return slot_cache.mirror_of(slot_cache.key(row, NOW, None))


def merged_for(db, client) -> list[Interval] | None:
    """What a miss of ``client`` reads as the lawyer's whole busy time (None: stale)."""
    return MERGED_BUSY.whole(db.session.connection(), client.lawyer_id, keyed_mirror(db, client))


def clipped(intervals: list[Interval], window: Interval) -> list[Interval]:
    return [Interval(max(i.start, window.start), min(i.end, window.end))
            for i in intervals if i.start < window.end and window.start < i.end]


def _row(calendar: Calendar, hour: int, length: float) -> dict:
    start = NOW + hour * HOUR
    return {"calendar_id": calendar.id, "lawyer_id": calendar.lawyer_id, "key": new_token(),
            "start": start, "end": start + length * HOUR}


def _apply(db, practice, operation: tuple) -> None:
    """One write of the mirror, as the code or a test may write it through the session."""
    what, n, hour, length = operation
    calendars = practice["calendars"]
    calendar = calendars[n % len(calendars)]
    block = BusyBlock.__table__.c
    some = db.session.scalars(sa.select(BusyBlock).order_by(BusyBlock.id)).all()
    picked = some[(hour * 7) % len(some)] if some else None
    if what == "object":
        db.session.add(BusyBlock(**_row(calendar, hour, length)))
    elif what == "bulk insert":
        db.session.execute(sa.insert(BusyBlock), [_row(calendar, hour, length),
                                                  _row(calendar, hour + 30, length)])
    elif what == "insert values":
        db.session.execute(sa.insert(BusyBlock).values(**_row(calendar, hour, length)))
    elif what == "change object" and picked is not None:
        picked.start = NOW + hour * HOUR
        picked.end = picked.start + length * HOUR
    elif what == "move object" and picked is not None:  # to another calendar of the lawyer
        picked.calendar_id = calendars[n % 3].id
    elif what == "bulk update" and picked is not None:
        db.session.execute(sa.update(BusyBlock).where(block.key == picked.key)
                           .values(start=NOW + hour * HOUR, end=NOW + (hour + length) * HOUR))
    elif what == "bulk move" and picked is not None:
        db.session.execute(sa.update(BusyBlock).where(block.key == picked.key)
                           .values(calendar_id=calendars[n % 3].id))
    elif what == "delete object" and picked is not None:
        db.session.delete(picked)
    elif what == "bulk delete":
        db.session.execute(sa.delete(BusyBlock).where(block.calendar_id == calendar.id,
                                                      block.end <= NOW + hour * HOUR))
    elif what == "conflict":
        calendar.conflict = not calendar.conflict
    elif what == "bulk conflict":
        db.session.execute(sa.update(Calendar).where(Calendar.id == calendar.id)
                           .values(conflict=sa.not_(Calendar.conflict)))
        db.session.expire(calendar)
    elif what == "synced":  # a sync that changed nothing
        calendar.synced_at = NOW + length * HOUR


operations = st.lists(
    st.tuples(
        st.sampled_from(["object", "bulk insert", "insert values", "change object", "move object",
                         "bulk update", "bulk move", "delete object", "bulk delete", "conflict",
                         "bulk conflict", "synced"]),
        st.integers(0, 3),
        st.integers(-24 * 30, 24 * 50),
        st.sampled_from([0.25, 1, 2, 23, 25, 72, 480]),
    ),
    min_size=1, max_size=10,
)
commits = st.lists(st.booleans(), min_size=10, max_size=10)
windows = st.lists(st.tuples(st.integers(-24 * 40, 24 * 60), st.integers(1, 24 * 30)),
                   min_size=1, max_size=3)


@EXAMPLES
@given(drawn=operations, commit_after=commits, reads=windows)
def test_merged_busy_time_is_the_plain_merge_after_any_writes(app, db, practice, frozen, drawn,
                                                              commit_after, reads):
    """After every commit, whatever was written, a miss reads the merged form (it is of the
    state it keys on) and it is the plain merge of the rows that count; cut to any window
    it is what the bounded read of that window merges; and the slots are the reference's."""
    db.session.execute(sa.delete(BusyBlock))
    db.session.commit()
    client, lawyer_id = practice["client"], practice["lawyer"].id
    for operation, commit in zip(drawn, commit_after, strict=False):
        _apply(db, practice, operation)
        if commit:
            db.session.commit()
            assert merged_for(db, client) == reference(db, lawyer_id)
    db.session.commit()
    merged = merged_for(db, client)
    assert merged == reference(db, lawyer_id)
    for hour, length in reads:
        window = Interval(NOW + hour * HOUR, NOW + (hour + length) * HOUR)
        bounded = BUSY_ROWS.merged(db.session.connection(), lawyer_id, window)
        assert clipped(merged, window) == clipped(bounded, window)
    slot_cache.slot_cache().clear()
    busy_lists().clear()
    first, length = reads[0]
    start = NOW + first * HOUR
    end = start + length * HOUR
    assert slots_for(client, NOW, start, end) == fresh_slots_for(client, NOW, start, end)
    assert slots_for(client, NOW) == fresh_slots_for(client, NOW)
    held = busy_lists()._entries[(lawyer_id, keyed_mirror(db, client))]
    assert held.span == ALL_TIME  # the miss used the merged form, not the rows


@pytest.mark.parametrize("how", WRITES)
def test_a_long_absence_written_any_way_is_merged_and_offers_nothing(app, db, practice, frozen, how):
    """A seven-week absence, however it was written, is in the merged form a miss reads,
    and no slot inside it is offered; the miss reads no busy row."""
    calendar, client = practice["calendars"][0], practice["client"]
    row = {**_row(calendar, 0, 1), "key": "vacation", "start": VACATION[0], "end": VACATION[1]}
    write_busy_row(db, row, how)
    with counted() as seen:
        offered = slots_for(client, NOW)
    assert not [s for s in offered if s.start < VACATION[1] and VACATION[0] < s.end]
    assert offered == fresh_slots_for(client, NOW) and offered  # the days after it
    assert not [s for s in seen.sql if "FROM busy_block" in s], seen.sql
    assert [s for s in seen.sql if "FROM busy_merged" in s]


def test_a_writer_that_skips_the_merge_leaves_it_stale_not_wrong(app, db, practice, frozen):
    """A write outside the session (a raw connection moving the version as it must) does
    not merge: the merged form keeps the old stamp, a miss does not read it, and the busy
    rows it reads instead refuse the new busy time."""
    calendar, client = practice["calendars"][0], practice["client"]
    hearing = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # tue 15:00 Berlin, in a window
    assert any(s.start == hearing for s in slots_for(client, NOW))
    row = {**_row(calendar, 0, 1), "start": hearing - HOUR, "end": hearing + 2 * HOUR}
    db.session.commit()  # the next read is a new snapshot, after the raw write
    with db.engine.begin() as connection:
        connection.execute(sa.insert(BusyBlock.__table__).values(row))
        connection.execute(sa.update(Calendar.__table__).where(Calendar.id == row["calendar_id"])
                           .values(mirror_version=Calendar.mirror_version + 1))
    assert merged_for(db, client) is None  # stale: not read
    offered = slots_for(client, NOW)
    assert not any(s.start == hearing for s in offered)
    assert offered == fresh_slots_for(client, NOW)
    # The next commit that touches the calendars (e.g. its sync) makes it current again.
    db.session.get(Calendar, calendar.id).synced_at = NOW + HOUR
    db.session.commit()
    assert merged_for(db, client) == reference(db, practice["lawyer"].id)


def test_a_list_grown_from_rows_gives_way_to_the_merged_form(app, db, practice, frozen):
    """The merged form made current while the state of the mirror stays the same (a sync
    that changed nothing, after a writer that skipped the merge): the next read beyond
    the list held from rows takes the merged form instead of reading more rows."""
    calendar, client = practice["calendars"][0], practice["client"]
    db.session.add(BusyBlock(**_row(calendar, 30, 2)))
    db.session.commit()
    with db.engine.begin() as connection:  # as a writer that skipped the merge leaves it
        connection.execute(sa.update(BusyMerged.__table__).values(stamp=None))
    key = (client.lawyer_id, keyed_mirror(db, client))
    assert slots_for(client, NOW, NOW, NOW + 7 * 24 * HOUR) == fresh_slots_for(client, NOW, NOW, NOW + 7 * 24 * HOUR)
    assert busy_lists()._entries[key].span != ALL_TIME  # read from the rows
    db.session.get(Calendar, calendar.id).synced_at = NOW + HOUR  # nothing else changed
    db.session.commit()
    assert keyed_mirror(db, client) == key[1]
    assert slots_for(client, NOW) == fresh_slots_for(client, NOW)
    assert busy_lists()._entries[key].span == ALL_TIME


@pytest.fixture
def feed():
    server = CountingFeed()
    yield server
    server.close()


def test_every_writer_keeps_the_merged_form_current(app, db, make_client, frozen, feed, monkeypatch):
    """The feed sync (first, changed, unchanged), the lawyer's choice of calendars and a
    disconnect: after each, a miss reads a merged form equal to the rows; a sync that
    changed nothing merges nothing."""
    from service.calendars import accounts, sync
    from service.storage.models import utcnow
    from service.usecases.calendar_connect import set_choices

    client, _ = make_client()
    merges = []
    merged_rows = busy_merged.merged_rows
    monkeypatch.setattr(busy_merged, "merged_rows",
                        lambda *args: merges.append(args[1]) or merged_rows(*args))
    calendar = connect_synced_feed(db, client.lawyer, feed)
    assert merges and merged_for(db, client) == reference(db, client.lawyer_id) != []

    def synced() -> None:
        report = sync.sync_calendar(db.session.get(Calendar, calendar.id), utcnow())
        assert report["ok"], report

    merges.clear()
    synced()  # nothing changed
    assert merges == [] and merged_for(db, client) == reference(db, client.lawyer_id)
    feed.body = feed_text(AWAY, OVER_SLOT)
    synced()
    assert merges == [client.lawyer_id]
    assert merged_for(db, client) == reference(db, client.lawyer_id)
    assert len(reference(db, client.lawyer_id)) == 2
    account = db.session.get(Calendar, calendar.id).account
    set_choices(account, set(), None)  # the feed no longer counts as busy
    db.session.commit()
    assert merged_for(db, client) == [] == reference(db, client.lawyer_id)
    set_choices(account, {calendar.id}, None)
    db.session.commit()
    assert merged_for(db, client) == reference(db, client.lawyer_id) != []
    accounts.disconnect(account)
    db.session.commit()
    assert merged_for(db, client) == []
    assert db.session.get(BusyMerged, client.lawyer_id).stamp == ""


def test_writers_of_one_lawyer_at_once_leave_the_merged_form_current(app, db, practice):
    """Two syncs of the lawyer's calendars committing side by side: no deadlock, and the
    last commit's merge is of the state both left."""
    calendar_ids = [c.id for c in practice["calendars"][:2]]
    client, lawyer_id = practice["client"], practice["lawyer"].id
    errors = []

    def writer(calendar_id: int, offset: int) -> None:
        try:
            with app.app_context():
                for n in range(8):
                    with write_transaction():
                        calendar = db.session.get(Calendar, calendar_id)
                        db.session.add(BusyBlock(**_row(calendar, 24 * n + offset, 2)))
                        calendar.synced_at = NOW + n * HOUR
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    db.session.commit()
    threads = [threading.Thread(target=writer, args=(c, 5 * n)) for n, c in enumerate(calendar_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.commit()  # a snapshot after both
    assert merged_for(db, client) == reference(db, lawyer_id)
    assert len(reference(db, lawyer_id)) == 16


def test_encoded_blocks_round_trip():
    blocks = [Interval(datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=UTC),
                       datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
              Interval(datetime(1990, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, tzinfo=UTC))]
    assert busy_merged.decode(busy_merged.encode(blocks)) == blocks
    assert busy_merged.decode(memoryview(busy_merged.encode(blocks))) == blocks
    assert busy_merged.decode(b"") == [] and len(busy_merged.encode(blocks)) == 32
