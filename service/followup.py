"""What happens after a booking changes: outbox tasks for calendar writes and mail."""

from __future__ import annotations

import sqlalchemy as sa

from service import outbox
from service.extensions import db
from service.models import Booking, Calendar


def enqueue(booking: Booking, event: str) -> None:
    """Record follow-up work for ``event`` (booked, rescheduled, cancelled).

    Calendar tasks carry only the booking id: the handler writes the booking's state as
    it is when the task runs (a cancelled booking's events are deleted), so tasks can be
    retried or run out of order without leaving stale events.
    """
    has_destination = db.session.scalar(
        sa.select(sa.func.count(Calendar.id)).where(
            Calendar.lawyer_id == booking.lawyer_id, Calendar.write_to.is_(True)
        )
    )
    if has_destination:
        for which in ("call", "prep"):
            outbox.enqueue(
                "calendar.put",
                {"booking_id": booking.id, "event": which},
                lawyer_id=booking.lawyer_id,
                booking_id=booking.id,
            )
    for recipient in ("client", "lawyer"):
        outbox.enqueue(
            "mail.booking",
            {"booking_id": booking.id, "event": event, "to": recipient, "sequence": booking.sequence},
            lawyer_id=booking.lawyer_id,
            booking_id=booking.id,
        )
