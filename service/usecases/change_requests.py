"""A client's request for a change inside the notice ("ask for a change").

Inside the agreed notice the manage page no longer moves or cancels a call; instead the
client writes a short message. It reaches the lawyer by mail (outbox ``mail.change_request``)
and on the dashboard, where the lawyer moves or cancels with one click; moving or cancelling
the call from the lawyer's side marks its open requests handled.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from service.storage import outbox
from service.storage.db_setup import write_transaction
from service.storage.extensions import db
from service.storage.models import Booking, ChangeRequest, Lawyer
from service.usecases import bookings
from service.usecases.errors import Refused

MESSAGE_MAX = 1000
OPEN_PER_BOOKING = 3


def may_ask(booking: Booking, now: datetime) -> bool:
    """True while the call is ahead, confirmed, and too close to be changed online."""
    return bookings.change_refusal(booking, now) == "too_late" and booking.start > now


def ask(booking: Booking, message: object, now: datetime) -> ChangeRequest:
    if not isinstance(message, str) or not message.strip():
        raise Refused("invalid_message", "Please write what you need changed.")
    message = message.strip().replace("\r\n", "\n").replace("\x00", "")
    if len(message) > MESSAGE_MAX:
        raise Refused("invalid_message", f"The message is limited to {MESSAGE_MAX} characters.")
    if not may_ask(booking, now):
        raise Refused("change_not_needed", "This call can be changed on this page, or is no longer ahead.")
    booking_id = booking.id
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        open_count = db.session.scalar(
            sa.select(sa.func.count(ChangeRequest.id)).where(
                ChangeRequest.booking_id == booking_id, ChangeRequest.handled_at.is_(None)
            )
        )
        if open_count >= OPEN_PER_BOOKING:
            raise Refused("change_asked", "Your lawyer already has your request and will answer.")
        request = ChangeRequest(booking_id=booking.id, lawyer_id=booking.lawyer_id, message=message, created_at=now)
        db.session.add(request)
        db.session.flush()
        outbox.enqueue("mail.change_request", {"request_id": request.id}, lawyer_id=booking.lawyer_id,
                       booking_id=booking.id)
    return request


def open_for(lawyer: Lawyer) -> list[ChangeRequest]:
    """The lawyer's open requests whose call is still confirmed, oldest first."""
    return list(db.session.scalars(
        sa.select(ChangeRequest).join(Booking, Booking.id == ChangeRequest.booking_id)
        .where(ChangeRequest.lawyer_id == lawyer.id, ChangeRequest.handled_at.is_(None),
               Booking.status == "confirmed")
        .order_by(ChangeRequest.created_at)
    ))


def mark_handled(booking_id: int, now: datetime) -> None:
    """In the caller's transaction: the booking's open requests are answered."""
    db.session.execute(
        sa.update(ChangeRequest)
        .where(ChangeRequest.booking_id == booking_id, ChangeRequest.handled_at.is_(None))
        .values(handled_at=now)
    )
