"""New visitors of a public intake: a short hold until the e-mail address is confirmed,
then (if the lawyer wants it) a request held until the lawyer approves.

Why: a public page that books and mails at once is a mail relay and a week filler — 40
addresses booked 40 slots in 55 s and had 80 mails with their text sent to addresses of
their choice. Now an intake booking is written as status ``pending`` with
``hold_until`` = now + ``INTAKE_HOLD_MINUTES``; the only mail it causes is one fixed-text
message to the address typed, with a confirmation link (no agenda, no name). Nothing
reaches the lawyer's calendar or inbox before the link is used. An unconfirmed hold is
released at ``hold_until`` (an outbox task due then, and lazily by any booking
transaction of the lawyer), and the slot is offered again. At most
``INTAKE_MAX_UNCONFIRMED`` holds per intake exist at once, and the per-intake rate limit
(``RATELIMIT_INTAKE``) bounds how many are made across addresses.

Confirmed: if the lawyer set ``approve_new_clients``, the booking becomes ``requested``
(the slot stays held, the lawyer is told) until approved (→ ``confirmed``, the usual
invite and calendar event) or declined (→ ``cancelled``, the visitor is told);
otherwise it is ``confirmed`` at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from service.core.crypto import encrypt
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, Client, new_token, token_hash
from service.usecases import followup
from service.usecases.errors import Refused

PENDING, REQUESTED = "pending", "requested"


def hold_minutes() -> int:
    return int(current_app.config["INTAKE_HOLD_MINUTES"])


def release_expired(lawyer_id: int, now: datetime) -> int:
    """Cancel the lawyer's unconfirmed holds past ``hold_until`` (inside a transaction);
    their clients, who never confirmed, are archived. Returns how many were released."""
    expired = list(db.session.scalars(
        sa.select(Booking).where(
            Booking.lawyer_id == lawyer_id, Booking.status == PENDING, Booking.hold_until <= now)
    ))
    for booking in expired:
        _release(booking, now)
    if expired:
        db.session.flush()
    return len(expired)


def expired_holds(lawyer_id: int, now: datetime) -> bool:
    """Whether the lawyer has unconfirmed holds that have run out (a cheap read)."""
    return db.session.scalar(
        sa.select(Booking.id).where(
            Booking.lawyer_id == lawyer_id, Booking.status == PENDING, Booking.hold_until <= now
        ).limit(1)
    ) is not None


def _release(booking: Booking, now: datetime) -> None:
    booking.status = "cancelled"
    booking.cancelled_at = now
    booking.confirm_token_hash = None
    client = db.session.get(Client, booking.client_id)
    if client is not None and client.is_new and client.intake_id is not None:
        client.status = "archived"


def check_capacity(intake_id: int, now: datetime, waiting: int | None = None) -> None:
    """Refuse a new hold while the intake already has its maximum of unconfirmed ones.
    ``waiting``: how many it has, if the caller has counted them under the lawyer's lock."""
    limit = int(current_app.config["INTAKE_MAX_UNCONFIRMED"])
    if waiting is None:
        waiting = db.session.scalar(
            sa.select(sa.func.count(Booking.id))
            .join(Client, Client.id == Booking.client_id)
            .where(Client.intake_id == intake_id, Booking.status == PENDING, Booking.hold_until > now)
        )
    if waiting >= limit:
        raise Refused("intake_busy",
                      "Too many bookings are waiting for confirmation here; please try again later.")


def make_pending(booking: Booking, now: datetime) -> str:
    """Make a new intake booking, before it is inserted, a pending hold; returns the
    confirmation token for ``enqueue_confirmation``."""
    token = new_token()
    booking.status = PENDING
    booking.hold_until = now + timedelta(minutes=hold_minutes())
    booking.confirm_token_hash = token_hash(token)
    return token


def enqueue_confirmation(booking: Booking, token: str) -> None:
    """The inserted hold's confirmation mail and its release when it runs out (same
    transaction; the tasks in one INSERT)."""
    with outbox.batched():
        outbox.enqueue("mail.intake_confirm", {"booking_id": booking.id, "token_enc": encrypt(token)},
                       lawyer_id=booking.lawyer_id, booking_id=booking.id)
        outbox.enqueue("booking.release_hold", {"booking_id": booking.id},
                       lawyer_id=booking.lawyer_id, booking_id=booking.id, due_at=booking.hold_until)


def find_by_confirm_token(token: str) -> Booking | None:
    if not isinstance(token, str) or not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Booking).where(Booking.confirm_token_hash == token_hash(token)))


def confirm(booking: Booking, now: datetime) -> Booking:
    """The visitor used the link in the mail (the caller holds the booking transaction)."""
    if booking.status != PENDING:
        return booking  # already confirmed (a second click), requested or cancelled
    if booking.hold_until is not None and booking.hold_until <= now:
        _release(booking, now)
        db.session.flush()
        raise Refused("hold_expired",
                      "This confirmation link has expired and the time was released; please book again.")
    booking.hold_until = None
    booking.confirm_token_hash = None
    if booking.lawyer.approve_new_clients:
        booking.status = REQUESTED
        outbox.enqueue("mail.intake_requested", {"booking_id": booking.id},
                       lawyer_id=booking.lawyer_id, booking_id=booking.id)
    else:
        booking.status = "confirmed"
        followup.enqueue(booking, "booked")
    return booking


def approve(booking: Booking) -> None:
    """The lawyer accepts a new client's request: the usual confirmation (caller commits)."""
    if booking.status != REQUESTED:
        raise Refused("not_requested", "This booking is not waiting for approval.")
    booking.status = "confirmed"
    followup.enqueue(booking, "booked")


def decline(booking: Booking, now: datetime) -> None:
    """The lawyer turns a request down: the slot is freed, the visitor is told."""
    if booking.status != REQUESTED:
        raise Refused("not_requested", "This booking is not waiting for approval.")
    booking.status = "cancelled"
    booking.cancelled_at = now
    client = db.session.get(Client, booking.client_id)
    if client is not None and client.is_new:
        client.status = "archived"
    outbox.enqueue("mail.intake_declined", {"booking_id": booking.id},
                   lawyer_id=booking.lawyer_id, booking_id=booking.id)


def requests_for(lawyer_id: int) -> list[Booking]:
    """The lawyer's bookings waiting for approval, soonest first."""
    return list(db.session.scalars(
        sa.select(Booking).where(Booking.lawyer_id == lawyer_id, Booking.status == REQUESTED)
        .order_by(Booking.start)
    ))
