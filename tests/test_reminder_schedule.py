"""The reminder schedule as a property: whatever sequence of moves, channel switches and
a cancel a booking goes through, each reminder exists once for the current start, none
stays pending for an old start, and none after a cancel."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.storage.models import OutboxTask
from service.usecases import bookings, channels, reminders

pytestmark = pytest.mark.db_matrix

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STARTS = [datetime(2026, 3, 4, 13, 0, tzinfo=UTC), datetime(2026, 3, 4, 14, 0, tzinfo=UTC),
          datetime(2026, 3, 9, 9, 0, tzinfo=UTC), datetime(2026, 3, 9, 10, 0, tzinfo=UTC)]
STEPS = st.lists(st.one_of(st.tuples(st.just("move"), st.sampled_from(STARTS)),
                           st.tuples(st.just("channel"), st.sampled_from(["video", "phone"]))),
                 max_size=6)


def _tasks(db, booking_id: int) -> list[OutboxTask]:
    return list(db.session.scalars(sa.select(OutboxTask).where(
        OutboxTask.booking_id == booking_id, OutboxTask.kind.in_(reminders.KINDS))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, first=st.sampled_from(STARTS), cancel=st.booleans())
def test_each_reminder_once_for_the_current_start(frozen, db, make_lawyer, make_client, steps, first, cancel):
    client, _ = make_client(lawyer=make_lawyer(), channels="video,phone", phone="+49301234567",
                            windows="mon 10:00-12:00,wed 14:00-16:00")
    contact = bookings.validate_contact("Boris", "b@client.example", "Lease")
    booking, _ = bookings.book(client, first, contact, NOW)
    for action, value in steps:
        if action == "move" and value != booking.start:
            booking = bookings.reschedule(booking, value, NOW)
        elif action == "channel":
            booking = bookings.change_channel(booking, channels.choose(client, value, None), NOW)
    if cancel:
        bookings.cancel(booking, NOW)
    db.session.expire_all()
    tasks = _tasks(db, booking.id)
    live = [t for t in tasks if t.status == "pending"]
    if cancel:
        assert live == []
        return
    current = booking.start.isoformat()
    assert all(t.payload["start"] == current for t in live)
    counts = Counter((t.kind, t.payload.get("which")) for t in live)
    assert counts == Counter({(reminders.CLIENT, "long"): 1, (reminders.CLIENT, "short"): 1, (reminders.PREP, None): 1})
    due = {(t.kind, t.payload.get("which")): t.due_at for t in live}
    assert due[(reminders.CLIENT, "long")] == booking.start - timedelta(hours=24)
    assert due[(reminders.CLIENT, "short")] == booking.start - timedelta(minutes=60)
    assert due[(reminders.PREP, None)] == booking.blocked_start
