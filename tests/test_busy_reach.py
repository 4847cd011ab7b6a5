"""A booking reads the mirror over its slot bounded at both ends of the index (#19).

``Calendar.busy_reach_minutes`` bounds the length of a calendar's busy rows, so the read
can start at ``slot start - reach`` instead of the calendar's first row. The bound must
cover every row however it was written (objects, bulk inserts, updates).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.storage import busy_mirror
from service.storage.models import Booking, BusyBlock, Calendar
from tests.test_booking_statements import CONTACT, SLOT, counted
from tests.test_live_check_feed import CountingFeed, connect_synced_feed

pytestmark = pytest.mark.db_matrix

VACATION = (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 20, 0, 0, tzinfo=UTC))


@pytest.fixture
def feed():
    server = CountingFeed()
    yield server
    server.close()


def reach(db, calendar_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Calendar, calendar_id).busy_reach_minutes


def test_a_synced_feed_has_the_reach_of_its_longest_row(db, make_lawyer, frozen, feed):
    calendar = connect_synced_feed(db, make_lawyer(), feed)  # one event of 1 h
    assert reach(db, calendar.id) == 61


@pytest.mark.parametrize("how", ["object", "bulk insert", "insert values"])
def test_a_long_row_written_any_way_still_refuses_the_slot(client, make_client, frozen, db, feed, how):
    """Regression guard: a read bounded by a reach that missed a row would offer the time
    of a seven-week absence that began long before the slot."""
    booked, token = make_client()
    calendar = connect_synced_feed(db, booked.lawyer, feed)
    row = {"calendar_id": calendar.id, "lawyer_id": booked.lawyer_id, "key": "vacation",
           "start": VACATION[0], "end": VACATION[1]}
    if how == "object":
        db.session.add(BusyBlock(**row))
    elif how == "bulk insert":
        db.session.execute(sa.insert(BusyBlock), [row])
    else:
        db.session.execute(sa.insert(BusyBlock).values(**row))
    db.session.commit()
    assert reach(db, calendar.id) == 47 * 24 * 60 + 1
    answer = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["error"]["code"] == "slot_busy"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_an_update_of_busy_rows_makes_the_reach_unknown(db, make_lawyer, frozen, feed):
    calendar = connect_synced_feed(db, make_lawyer(), feed)
    db.session.execute(sa.update(BusyBlock).where(BusyBlock.calendar_id == calendar.id)
                       .values(start=VACATION[0]))
    db.session.commit()
    assert reach(db, calendar.id) == busy_mirror.UNKNOWN_REACH


def test_the_reach_is_never_lowered(db, make_lawyer, frozen, feed):
    """An upper bound: a shorter row, or deleting the long one, leaves it as it is."""
    calendar = connect_synced_feed(db, make_lawyer(), feed)
    db.session.add(BusyBlock(calendar_id=calendar.id, lawyer_id=calendar.lawyer_id, key="short",
                             start=VACATION[0], end=VACATION[0].replace(minute=5)))
    db.session.commit()
    assert reach(db, calendar.id) == 61


def test_the_bookings_mirror_read_is_bounded_below(client, make_client, frozen, db, feed):
    booked, token = make_client()
    connect_synced_feed(db, booked.lawyer, feed)
    db.session.remove()
    with counted() as seen:
        answer = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert answer.status_code == 201, answer.get_json()
    reads = [s for s in seen.sql if "FROM busy_block" in s]
    assert len(reads) == 1
    assert "busy_block.start >=" in reads[0] and "busy_block.start <" in reads[0]
