"""Availability for a client: gathers the lawyer's data and asks ``booking/``."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.availability import check_start, free_slots
from booking.intervals import Interval
from booking.model import BookedCall, Slot
from service.extensions import db
from service.models import Booking, BusyBlock, Calendar, Client

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
    client: Client,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """The slots this client may book now, within [start, end) clamped to the horizon."""
    if client.status != "active":
        return []
    window = _data_window(client, now)
    return free_slots(
        client.agreement(),
        client.lawyer.rules(),
        client=client.id,
        now=now,
        busy=calendar_busy(client.lawyer_id, window),
        bookings=lawyer_bookings(client.lawyer_id, window, exclude_booking_id),
        start=start,
        end=end,
    )


def check(
    client: Client,
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
        client=client.id,
        now=now,
        busy=calendar_busy(client.lawyer_id, window) + list(extra_busy or ()),
        bookings=lawyer_bookings(client.lawyer_id, window, exclude_booking_id),
        start=start,
    )
