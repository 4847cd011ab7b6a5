"""A booking reads the mirror over its slot bounded at both ends of the index (#19).

The read is the slot cache's (``slot_cache.BusyRows``): rows starting from a day before
the slot, and rows longer than a day from their partial index. A long row must refuse
the slot however it was written (objects, bulk inserts, insert values).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, BusyBlock
from tests.test_booking_statements import CONTACT, SLOT, counted
from tests.test_live_check_feed import CountingFeed, connect_synced_feed

pytestmark = pytest.mark.db_matrix

VACATION = (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 20, 0, 0, tzinfo=UTC))
#: The ways a busy row can be written: through the ORM, a bulk INSERT, an INSERT ... VALUES.
WRITES = ["object", "bulk insert", "insert values"]


def write_busy_row(db, row: dict, how: str) -> None:
    """Write one busy row ``how`` (one of ``WRITES``) and commit."""
    if how == "object":
        db.session.add(BusyBlock(**row))
    elif how == "bulk insert":
        db.session.execute(sa.insert(BusyBlock), [row])
    else:
        db.session.execute(sa.insert(BusyBlock).values(**row))
    db.session.commit()


@pytest.fixture
def feed():
    server = CountingFeed()
    yield server
    server.close()


@pytest.mark.parametrize("how", WRITES)
def test_a_long_row_written_any_way_still_refuses_the_slot(client, make_client, frozen, db, feed, how):
    """Regression guard: a read bounded by a reach that missed a row would offer the time
    of a seven-week absence that began long before the slot."""
    booked, token = make_client()
    calendar = connect_synced_feed(db, booked.lawyer, feed)
    row = {"calendar_id": calendar.id, "lawyer_id": booked.lawyer_id, "key": "vacation",
           "start": VACATION[0], "end": VACATION[1]}
    write_busy_row(db, row, how)
    answer = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["error"]["code"] == "slot_busy"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_the_bookings_mirror_read_is_bounded_below(client, make_client, frozen, db, feed):
    booked, token = make_client()
    connect_synced_feed(db, booked.lawyer, feed)
    db.session.remove()
    with counted() as seen:
        answer = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert answer.status_code == 201, answer.get_json()
    reads = [s for s in seen.sql if "FROM busy_block" in s]
    assert reads
    for read in reads:  # every branch bounded below and above
        assert "start >=" in read or "start <" in read, read
