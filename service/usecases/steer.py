"""Calls from the lawyer's side: book for a client, move, cancel with a reason, mark how
a past call went, list calls. The admin pages and the CLI call these and nothing else.

Writes reuse the client side's machinery in ``service.usecases.bookings``: the same
serialised transaction (``_booking_transaction``: the database's no-overlap guard firing
is answered as a refusal), the same insert and the same follow-up (``_follow_up``:
calendar writes and mails as outbox rows in that transaction), so whatever is added
there (reminders, call channels) applies to the lawyer's calls as well.

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

from booking.availability import SlotRefused
from booking.intervals import Interval
from booking.lawyer_calls import check_lawyer_start
from booking.model import Slot
from service.calendars.base import ProviderError
from service.calendars.sync import live_busy
from service.storage.extensions import db
from service.storage.models import Booking, Calendar, Client, Lawyer, new_token
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


def _slot(
    client: Client,
    now: datetime,
    start: datetime,
    override: Override,
    exclude_booking_id: int | None = None,
    extra_busy: list[Interval] | None = None,
) -> Slot:
    window = availability._data_window(client, now)
    window = Interval(min(window.start, start - timedelta(days=32)), max(window.end, start + timedelta(days=32)))
    try:
        return check_lawyer_start(
            client.agreement(),
            client.lawyer.rules(),
            client=client.id,
            now=now,
            busy=availability.calendar_busy(client.lawyer_id, window) + list(extra_busy or ()),
            bookings=availability._subject_bookings(client, window, exclude_booking_id),
            start=start,
            outside_terms=override.terms,
            over_busy=override.busy,
        )
    except SlotRefused as exc:
        raise bookings.refused(exc) from None


def _live(client: Client, now: datetime, start: datetime, override: Override,
          exclude_booking_id: int | None = None) -> list[Interval]:
    """Fresh busy time from the calendar servers, unless the lawyer books over busy time.

    The local check runs first, so a refused start never reaches a calendar server.
    """
    slot = _slot(client, now, start, override, exclude_booking_id)
    if override.busy:
        return []
    has_calendars = db.session.scalar(
        sa.select(sa.func.count(Calendar.id)).where(
            Calendar.lawyer_id == client.lawyer_id, Calendar.conflict.is_(True)
        )
    )
    if not has_calendars:
        return []
    try:
        return live_busy(client.lawyer, Interval(slot.prep_start, slot.blocked_end))
    except ProviderError:
        raise Refused(
            "calendar_unavailable",
            "Your calendar cannot be checked right now; try again shortly, or book over busy time.",
        ) from None


def book_for_client(
    client: Client, start: datetime, agenda: object, now: datetime, override: Override = NO_OVERRIDE
) -> Booking:
    """Book a call for ``client`` at ``start``; the client gets the invite and a manage link."""
    if client.status == "archived":
        raise Refused("unknown_client", "This client is archived.")
    contact = bookings.validate_contact(client.name, client.email, agenda)
    live = _live(client, now, start, override)
    client_id = client.id
    with bookings._booking_transaction(client.lawyer_id):
        client = db.session.get(Client, client_id)
        slot = _slot(client, now, start, override, extra_busy=live)
        booking = bookings._insert_booking(client, slot, contact, new_token(), now)
        booking.booked_by = "lawyer"
        booking.outside_terms = override.terms
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
    live = _live(booking.client, now, start, override, exclude_booking_id=booking_id)
    with bookings._booking_transaction(booking.lawyer_id):
        booking = db.session.get(Booking, booking_id)
        _check_open(booking, now)
        slot = _slot(booking.client, now, start, override, exclude_booking_id=booking_id, extra_busy=live)
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
