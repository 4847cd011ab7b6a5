"""The lawyer's weekly load: committed by the agreements (``booking.load``), the capacity
the lawyer set, and what is booked in a given week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from booking.load import Commitment, Load, committed, over_capacity, replaced
from booking.walltime import wall_to_utc, week_start
from service.storage.extensions import db
from service.storage.models import Booking, Client, Lawyer
from service.usecases.errors import Refused


def commitment_of(key: object, terms) -> Commitment:
    """A client's (or a form's checked data, as a dict) terms as a ``Commitment``."""
    get = terms.get if isinstance(terms, dict) else lambda name: getattr(terms, name)
    return Commitment(
        key=key,
        duration=get("duration_min") or 0,
        prep=get("prep_min") or 0,
        buffer=get("buffer_min") or 0,
        max_per_week=get("max_per_week"),
        max_per_month=get("max_per_month"),
        letters_per_week=0 if get("status_day") in (None, "") else 1,
    )


def commitments(lawyer: Lawyer) -> list[Commitment]:
    clients = db.session.scalars(
        sa.select(Client).where(Client.lawyer_id == lawyer.id, Client.status == "active").order_by(Client.id)
    )
    return [commitment_of(c.id, c) for c in clients]


def week_bounds(lawyer: Lawyer, monday: date) -> tuple[datetime, datetime]:
    zone = lawyer.zone
    return wall_to_utc(monday, time(0), zone), wall_to_utc(monday + timedelta(days=7), time(0), zone)


def booked_minutes(lawyer: Lawyer, monday: date) -> int:
    """Minutes of the week's confirmed calls with their preparation and buffer."""
    low, high = week_bounds(lawyer, monday)
    rows = db.session.execute(
        sa.select(Booking.blocked_start, Booking.blocked_end).where(
            Booking.lawyer_id == lawyer.id, Booking.status == "confirmed",
            Booking.start >= low, Booking.start < high)
    )
    return sum(int((end - start) / timedelta(minutes=1)) for start, end in rows)


@dataclass(frozen=True)
class Figures:
    load: Load
    capacity: int | None
    booked: int
    monday: date
    letter_minutes: int

    @property
    def over(self) -> int | None:
        return over_capacity(self.load, self.capacity)


def figures(lawyer: Lawyer, now: datetime, monday: date | None = None) -> Figures:
    monday = monday or week_start(now.astimezone(lawyer.zone).date())
    return Figures(
        load=committed(commitments(lawyer), lawyer.letter_minutes),
        capacity=lawyer.capacity_min,
        booked=booked_minutes(lawyer, monday),
        monday=monday,
        letter_minutes=lawyer.letter_minutes,
    )


@dataclass(frozen=True)
class Overcommit:
    """Saving an agreement would commit ``total`` minutes a week, ``over`` past ``capacity``."""

    total: int
    capacity: int
    over: int


def overcommit(lawyer: Lawyer, data: dict, client: Client | None = None) -> Overcommit | None:
    """What saving the agreement ``data`` (for ``client``, or a new one) does to the load,
    when it pushes the committed load over the capacity; None otherwise."""
    if lawyer.capacity_min is None or (client is not None and client.status != "active"):
        return None
    mine = commitments(lawyer)
    before = committed(mine, lawyer.letter_minutes)
    key = client.id if client is not None else object()
    after = committed(replaced(mine, commitment_of(key, data)), lawyer.letter_minutes)
    over = over_capacity(after, lawyer.capacity_min)
    if over is None or after.total <= before.total:
        return None  # within capacity, or not made worse by this change
    return Overcommit(after.total, lawyer.capacity_min, over)


def minutes_words(minutes: int) -> str:
    """"1 h 55 min" in the current locale."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return gettext("%(h)d h %(m)d min", h=hours, m=rest)
    if hours:
        return gettext("%(h)d h", h=hours)
    return gettext("%(m)d min", m=rest)


def overcommit_words(warning: Overcommit) -> str:
    return gettext(
        "With this agreement your clients are promised %(total)s a week, %(over)s more than "
        "your weekly capacity of %(capacity)s.",
        total=minutes_words(warning.total), over=minutes_words(warning.over),
        capacity=minutes_words(warning.capacity),
    )


CAPACITY_MAX = 7 * 24 * 60
LETTER_MINUTES_MAX = 600


def apply_settings(lawyer: Lawyer, *, capacity: int | None = None, clear_capacity: bool = False,
                   letter_minutes: int | None = None, reserve_windows: str | None = None,
                   show_demand: bool | None = None) -> None:
    """Change the load settings given (None: unchanged); a 422 Refused names a bad one."""
    from booking.windows import format_windows, parse_windows

    if capacity is not None and not 0 < capacity <= CAPACITY_MAX:
        raise Refused("invalid_capacity", f"The weekly capacity must be between 1 and {CAPACITY_MAX} minutes.")
    if letter_minutes is not None and not 0 <= letter_minutes <= LETTER_MINUTES_MAX:
        raise Refused("invalid_letter_minutes",
                      f"Minutes per letter must be between 0 and {LETTER_MINUTES_MAX}.")
    if reserve_windows is not None:
        try:
            reserve_windows = format_windows(parse_windows(reserve_windows)) if reserve_windows.strip() else ""
        except ValueError as exc:
            raise Refused("invalid_reserve", f"Reserved time: {exc}") from None
    if clear_capacity:
        lawyer.capacity_min = None
    elif capacity is not None:
        lawyer.capacity_min = capacity
    if letter_minutes is not None:
        lawyer.letter_minutes = letter_minutes
    if reserve_windows is not None:
        lawyer.reserve_windows = reserve_windows
    if show_demand is not None:
        lawyer.show_demand = show_demand
