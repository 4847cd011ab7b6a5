"""Availability for a client: gathers the lawyer's data and asks ``booking/``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.availability import check_start, free_slots
from booking.intervals import Interval
from booking.model import BookedCall, Slot
from service.extensions import db
from service.models import Booking, BusyBlock, Calendar, Client, Intake

# Bookings around the range are needed for cadence counting (a week, a month).
_COUNTING_MARGIN = timedelta(days=32)


def _data_window(client: Client, now: datetime) -> Interval:
    return Interval(
        now - _COUNTING_MARGIN, now + timedelta(days=client.horizon_days) + _COUNTING_MARGIN
    )


def lawyer_bookings(
    lawyer_id: int, window: Interval, exclude_booking_id: int | None = None
) -> list[BookedCall]:
    query = sa.select(Booking).where(
        Booking.lawyer_id == lawyer_id,
        Booking.status == "confirmed",
        Booking.blocked_end > window.start,
        Booking.blocked_start < window.end,
    )
    if exclude_booking_id is not None:
        query = query.where(Booking.id != exclude_booking_id)
    return [b.as_booked_call() for b in db.session.scalars(query)]


def _subject_key(subject: Client | Intake) -> object:
    """The cadence key: a client's id, or one shared key for all of an intake's visitors."""
    return f"intake:{subject.id}" if isinstance(subject, Intake) else subject.id


def _subject_bookings(
    subject: Client | Intake, window: Interval, exclude_booking_id: int | None = None
) -> list[BookedCall]:
    """Every booking of the lawyer; an intake's bookings all carry the intake's key."""
    calls = lawyer_bookings(subject.lawyer_id, window, exclude_booking_id)
    if not isinstance(subject, Intake) or not calls:
        return calls
    from_intake = set(
        db.session.scalars(
            sa.select(Client.id).where(
                Client.intake_id == subject.id, Client.id.in_({c.client for c in calls})
            )
        )
    )
    key = _subject_key(subject)
    return [replace(c, client=key) if c.client in from_intake else c for c in calls]


def calendar_busy(lawyer_id: int, window: Interval) -> list[Interval]:
    """Busy time from the local mirror of the lawyer's conflict calendars."""
    rows = db.session.execute(
        sa.select(BusyBlock.start, BusyBlock.end)
        .join(Calendar, Calendar.id == BusyBlock.calendar_id)
        .where(
            BusyBlock.lawyer_id == lawyer_id,
            Calendar.conflict.is_(True),
            BusyBlock.end > window.start,
            BusyBlock.start < window.end,
        )
    )
    return [Interval(start, end) for start, end in rows]


def slots_for(
    client: Client | Intake,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """The slots this client (or intake) may book now, within [start, end) clamped to the horizon."""
    if client.status != "active":
        return []
    window = _data_window(client, now)
    return free_slots(
        client.agreement(),
        client.lawyer.rules(),
        client=_subject_key(client),
        now=now,
        busy=calendar_busy(client.lawyer_id, window),
        bookings=_subject_bookings(client, window, exclude_booking_id),
        start=start,
        end=end,
    )


def check(
    client: Client | Intake,
    now: datetime,
    start: datetime,
    exclude_booking_id: int | None = None,
    extra_busy: list[Interval] | None = None,
) -> Slot:
    """The slot at ``start`` or ``SlotRefused`` saying why it cannot be booked."""
    window = _data_window(client, now)
    return check_start(
        client.agreement(),
        client.lawyer.rules(),
        client=_subject_key(client),
        now=now,
        busy=calendar_busy(client.lawyer_id, window) + list(extra_busy or ()),
        bookings=_subject_bookings(client, window, exclude_booking_id),
        start=start,
    )
