"""What happens after a booking changes: outbox tasks for calendar writes and mail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from service.calendars import writeback
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking
from service.usecases import reminders


def enqueue(booking: Booking, event: str, *, new: bool = False,
            has_destinations: bool | None = None) -> None:
    """Record follow-up work for ``event`` (booked, rescheduled, cancelled, changed):
    calendar writes, mails, and the reminders (``reminders.schedule``).

    Calendar tasks carry only the booking id: the handler writes the booking's state as
    it is when the task runs (a cancelled booking's events are deleted), so tasks can be
    retried or run out of order without leaving stale events.

    All of it is one ``INSERT`` (``outbox.batched``). ``new``: the booking was inserted in
    this transaction (it has no tasks yet); ``has_destinations``: whether the lawyer has a
    destination calendar, if the caller knows (``writeback.enqueue_writes``).
    """
    with outbox.batched():
        writeback.enqueue_writes(booking, has_destinations)
        reminders.schedule(booking, new=new)
        for recipient in ("client", "lawyer"):
            outbox.enqueue(
                "mail.booking",
                {"booking_id": booking.id, "event": event, "to": recipient, "sequence": booking.sequence},
                lawyer_id=booking.lawyer_id,
                booking_id=booking.id,
            )


def write_upcoming(lawyer_id: int, now: datetime) -> int:
    """A destination calendar was chosen (or changed): write every call still ahead to it,
    including those booked while there was none. Returns how many calls were queued."""
    upcoming = list(db.session.scalars(
        sa.select(Booking).where(Booking.lawyer_id == lawyer_id, Booking.status == "confirmed", Booking.end > now)
    ))
    for booking in upcoming:
        writeback.enqueue_writes(booking)
    return len(upcoming)
