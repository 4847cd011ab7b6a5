"""Calls from the lawyer's side: book for a client, move, cancel with a reason, mark how
a past call went, list calls. The admin pages and the CLI call these and nothing else.

Writes reuse the client side's machinery in ``service.usecases.bookings``: the same
busy time gathered before the transaction (the mirror over the slot, then the live
check: ``_fresh_busy``), the same serialised transaction with one availability check
in it (``_new_booking_transaction``, ``_booking_transaction``: the database's
no-overlap guard firing is answered as a refusal), the same insert and the same
follow-up (``_follow_up``: calendar writes and mails as outbox rows in that
transaction), so whatever is added there (reminders, call channels) applies to the
lawyer's calls as well.

Overrides (``Override``): ``terms`` books outside the agreement (windows, step, notice,
horizon, days off, cadence, caps); ``busy`` books over busy time of the lawyer's own
calendars, which the lawyer has seen and confirmed. Another booking is never overlapped
(the database forbids it; see ``booking.lawyer_calls``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.availability import CountedSpan, SlotRefused, check_shape
from booking.intervals import Interval
from booking.lawyer_calls import check_lawyer_start
from booking.model import BookedCall, Slot
from service.storage.extensions import db
from service.storage.models import Booking, Client, Lawyer, new_token
from service.usecases import audit, availability, bookings, change_requests
from service.usecases.errors import Refused

REASON_MAX = 500
OUTCOMES = ("held", "no_show", "late_cancel")


@dataclass(frozen=True)
class Override:
    """What the lawyer chose to book over: the agreement's rules, busy calendar time."""

    terms: bool = False
    busy: bool = False


NO_OVERRIDE = Override()


def checked_reason(reason: object, required: bool) -> str:
    """One line of at most ``REASON_MAX`` characters (it goes into a mail to the client)."""
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise Refused("invalid_reason", "The reason must be text.")
    if any(ch in reason for ch in "\r\n\x00"):
        raise Refused("invalid_reason", "The reason must be one line (no line breaks).")
    reason = reason.strip()
    if required and not reason:
        raise Refused("invalid_reason", "Please give a reason; the client reads it in the mail.")
    if len(reason) > REASON_MAX:
        raise Refused("invalid_reason", f"The reason is limited to {REASON_MAX} characters.")
    return reason


def own_booking(lawyer: Lawyer, uid: str) -> Booking:
    """The lawyer's booking with this uid, or ``unknown_booking``."""
    booking = None
    if isinstance(uid, str) and 0 < len(uid) <= 40:
        booking = db.session.scalar(sa.select(Booking).where(Booking.uid == uid))
    if booking is None or (lawyer is not None and booking.lawyer_id != lawyer.id):
        raise Refused("unknown_booking", f"No call with the uid {uid!r}.")
    return booking


def find_booking(uid: str) -> Booking:
    """Any lawyer's booking by uid (the CLI acts for the installation's operator)."""
    return own_booking(None, uid)  # type: ignore[arg-type]


def _window(client: Client, now: datetime, start: datetime) -> Interval:
    """The lawyer's bookings read for a call at ``start``: what the client's check reads,
    and a month around ``start`` (outside the terms it may lie beyond the horizon)."""
    window = availability._data_window(client, now)
    return Interval(min(window.start, start - timedelta(days=32)), max(window.end, start + timedelta(days=32)))


def _check(client: Client, now: datetime, start: datetime, override: Override, *,
           busy: list[Interval] = (), booked: list[BookedCall] = ()) -> Slot:
    try:
        return check_lawyer_start(
            client.agreement(),
            client.lawyer.rules(),
            client=client.id,
            now=now,
            busy=busy,
            bookings=booked,
            start=start,
            outside_terms=override.terms,
            over_busy=override.busy,
        )
    except SlotRefused as exc:
        raise bookings.refused(exc) from None


def _shape(client: Client, now: datetime, start: datetime, override: Override) -> Slot:
    """The slot at ``start`` from the agreement alone (outside the terms: from its bounds),
    with no bookings and no busy time read: what is asked before a calendar server is."""
    if override.terms:
        return _check(client, now, start, override)  # with no data: the past and the bounds
    return check_shape(client.agreement(), client.lawyer.rules(), now=now, start=start)


def _fresh_busy(client: Client, now: datetime, start: datetime, override: Override) -> bookings._Busy:
    """The client side's ``_fresh_busy`` with the lawyer's shape and overrides: the mirror
    over the slot, then the calendar servers if it is free; nothing over busy time."""
    return bookings._fresh_busy(
        client, now, start, shape=lambda: _shape(client, now, start, override), over_busy=override.busy,
        unavailable="Your calendar cannot be checked right now; try again shortly, or book over busy time.",
    )


def book_for_client(
    client: Client, start: datetime, agenda: object, now: datetime, override: Override = NO_OVERRIDE
) -> Booking:
    """Book a call for ``client`` at ``start``; the client gets the invite and a manage link.

    As a client's booking (``bookings.book``): busy time gathered first, then one check
    in the transaction, against the bookings read under the lawyer's lock."""
    if client.status == "archived":
        raise Refused("unknown_client", "This client is archived.")
    contact = bookings.validate_contact(client.name, client.email, agenda)
    busy = _fresh_busy(client, now, start, override)
    window = _window(client, now, start)
    with bookings._new_booking_transaction(client, now, busy, lawyer_side=True,
                                           counted=CountedSpan(window)) as locked:
        slot = _check(client, now, start, override,
                      busy=bookings.busy_in_transaction(client, start, busy, locked),
                      booked=availability._subject_bookings(client, window, rows=locked.rows))
        booking = bookings._insert_booking(client, slot, contact, new_token(), now, busy.calendars,
                                           booked_by="lawyer", outside_terms=override.terms,
                                           booking_id=locked.booking_id)
    return booking


def _check_open(booking: Booking, now: datetime) -> None:
    if booking.status != "confirmed":
        raise Refused("already_cancelled", "This call has been cancelled.")
    if booking.end <= now:
        raise Refused("call_over", "This call is over; mark how it went instead.")


def move(
    booking: Booking, start: datetime, now: datetime, override: Override = NO_OVERRIDE, reason: object = ""
) -> Booking:
    """Move a call; the client gets the updated invite (SEQUENCE + 1) with the reason."""
    reason = checked_reason(reason, required=False)
    _check_open(booking, now)
    booking_id = booking.id
    busy = _fresh_busy(booking.client, now, start, override)
    with bookings._booking_transaction(booking.lawyer_id):
        booking = db.session.get(Booking, booking_id)
        _check_open(booking, now)
        client = booking.client
        mirror = busy.calendars.conflict and not override.busy
        window = _window(client, now, start)
        slot = _check(client, now, start, override, busy=busy.live + (
            availability.calendar_busy(client.lawyer_id, client.agreement().blocked(start)) if mirror else []
        ), booked=availability._subject_bookings(client, window, exclude_booking_id=booking_id))
        before = bookings._when(booking)
        booking.start, booking.end = slot.start, slot.end
        booking.blocked_start, booking.blocked_end = slot.prep_start, slot.blocked_end
        booking.sequence += 1
        booking.changed_by, booking.change_reason, booking.moved_at = "lawyer", reason or None, now
        booking.outside_terms = override.terms
        change_requests.mark_handled(booking.id, now)
        bookings._follow_up(booking, "rescheduled")
        audit.record(None, "booking.moved", booking, before=before,
                     after={**bookings._when(booking), "outside_terms": override.terms})
    return booking


def cancel(booking: Booking, reason: object, now: datetime) -> Booking:
    """Cancel a call with a reason; the client gets METHOD:CANCEL mail with it. The time is
    offered again at once (the slot cache's key covers every booking's status)."""
    reason = checked_reason(reason, required=True)
    booking_id = booking.id
    with bookings._booking_transaction(booking.lawyer_id):
        booking = db.session.get(Booking, booking_id)
        _check_open(booking, now)
        before = bookings._when(booking)
        booking.status = "cancelled"
        booking.cancelled_at = now
        booking.sequence += 1
        booking.changed_by, booking.change_reason = "lawyer", reason
        change_requests.mark_handled(booking.id, now)
        bookings._follow_up(booking, "cancelled")
        audit.record(None, "booking.cancelled", booking, before=before, after=bookings._when(booking))
    return booking


def mark_outcome(booking: Booking, outcome: str | None, now: datetime) -> Booking:
    """How a past call went: held, no_show, late_cancel; None clears the mark."""
    if outcome is not None and outcome not in OUTCOMES:
        raise Refused("invalid_outcome", f"The outcome must be one of {', '.join(OUTCOMES)}.")
    if booking.start > now:
        raise Refused("call_ahead", "This call has not started yet; it can be marked once it has.")
    if booking.status == "cancelled" and outcome not in (None, "late_cancel"):
        raise Refused("invalid_outcome", "A cancelled call can only be marked as cancelled late.")
    booking_id = booking.id
    with bookings._booking_transaction(booking.lawyer_id):
        booking = db.session.get(Booking, booking_id)
        before = {"outcome": booking.outcome}
        booking.outcome = outcome
        audit.record(None, "booking.outcome", booking, before=before, after={"outcome": outcome})
    return booking


def outcome_counts(lawyer_id: int) -> dict[int, Counter]:
    """Per client of the lawyer: how many calls were held, missed, cancelled late."""
    rows = db.session.execute(
        sa.select(Booking.client_id, Booking.outcome, sa.func.count(Booking.id))
        .where(Booking.lawyer_id == lawyer_id, Booking.outcome.is_not(None))
        .group_by(Booking.client_id, Booking.outcome)
    )
    counts: dict[int, Counter] = {}
    for client_id, outcome, count in rows:
        counts.setdefault(client_id, Counter())[outcome] = count
    return counts


def calls(
    lawyer_id: int | None, start: datetime | None = None, end: datetime | None = None
) -> list[Booking]:
    """Calls (any status) starting in ``[start, end)``, oldest first; every lawyer's if None."""
    query = sa.select(Booking).order_by(Booking.start, Booking.id)
    if lawyer_id is not None:
        query = query.where(Booking.lawyer_id == lawyer_id)
    if start is not None:
        query = query.where(Booking.start >= start)
    if end is not None:
        query = query.where(Booking.start < end)
    return list(db.session.scalars(query))
