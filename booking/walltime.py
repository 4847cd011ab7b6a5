"""Wall-clock time in a lawyer's zone versus instants in UTC, across DST changes.

Windows are wall-clock times; everything the engine compares is UTC. Python compares two
datetimes sharing a ``tzinfo`` by wall clock (ignoring ``fold``), so the engine converts
every instant to UTC on the way in and never compares zoned datetimes with each other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.intervals import Interval

_SECOND = timedelta(seconds=1)


def to_utc(value: datetime, what: str = "datetime") -> datetime:
    """``value`` in UTC; ``ValueError`` naming ``what`` if it is naive."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} must be a timezone-aware datetime, got {value!r}"  # pragma: no mutate
        )
    return value.astimezone(UTC)


def _transition(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The instant in (before, after] (naive UTC) where ``tz``'s offset changes."""
    old = before.replace(tzinfo=UTC).astimezone(tz).utcoffset()
    low, high = 0, int((after - before) / _SECOND)
    while high - low > 1:
        mid = (low + high) // 2
        probe = (before + mid * _SECOND).replace(tzinfo=UTC)
        if probe.astimezone(tz).utcoffset() == old:
            low = mid
        else:
            high = mid
    return (before + high * _SECOND).replace(tzinfo=UTC)


def wall_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first instant the clock in ``tz`` shows ``wall`` on ``day``, in UTC.

    In an autumn fold that is the first (summer-time) occurrence; a wall time inside a
    spring-forward gap does not exist and maps to the transition instant.
    """
    local = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=tz)
    naive = local.replace(tzinfo=None)
    first_offset = local.utcoffset()
    second_offset = local.replace(fold=1).utcoffset()
    assert first_offset is not None and second_offset is not None
    if second_offset > first_offset:  # a gap: the clock jumps over this wall time
        return _transition(naive - second_offset, naive - first_offset, tz)
    return (naive - first_offset).replace(tzinfo=UTC)


def wall_interval(day: date, start: time, end: time, tz: ZoneInfo) -> Interval | None:
    """The wall-clock span ``start``-``end`` on ``day`` in ``tz`` as a UTC ``Interval``
    (edges by ``wall_to_utc``), or None when nothing of it exists (inside a gap)."""
    utc_start, utc_end = wall_to_utc(day, start, tz), wall_to_utc(day, end, tz)
    return Interval(utc_start, utc_end) if utc_start < utc_end else None


def local_date(value: datetime, tz: ZoneInfo) -> date:
    """The date the clock in ``tz`` shows at the instant ``value``."""
    return value.astimezone(tz).date()


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())
