"""Reserved urgent time: weekly windows the lawyer holds back from ordinary links.

Only callback links (and accepted urgent requests, which become callback links) may book
reserved time. A reserve not taken ``release`` before it starts is released: from the
instant ``start - release`` on, it is ordinary free time. Reserve windows are wall-clock
times in the lawyer's zone, turned into UTC per day as agreement windows are, so a DST
change moves the release instant with the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.intervals import Interval
from booking.model import DateWindow, Window
from booking.walltime import local_date, to_utc, wall_interval

_DAY = timedelta(days=1)


def _days(low: datetime, high: datetime, tz: ZoneInfo) -> Iterable[date]:
    day, last = local_date(low, tz) - _DAY, local_date(high, tz) + _DAY
    while day <= last:
        yield day
        day += _DAY


def occurrences(windows: Iterable[Window], tz: ZoneInfo, low: datetime, high: datetime) -> list[Interval]:
    """The reserve windows' instances overlapping ``[low, high)``, in UTC, sorted."""
    low, high = to_utc(low, "low"), to_utc(high, "high")
    by_day: dict[int, list[Window]] = {}
    for w in windows:
        by_day.setdefault(w.weekday, []).append(w)
    found = []
    for day in _days(low, high, tz):
        for w in by_day.get(day.weekday(), ()):
            span = wall_interval(day, w.start, w.end, tz)
            if span is not None and span.start < high and low < span.end:
                found.append(span)
    return sorted(found)


def date_windows(windows: Iterable[Window], tz: ZoneInfo, low: datetime, high: datetime) -> tuple[DateWindow, ...]:
    """The same instances as one-off windows (what a callback link may book in)."""
    windows = list(windows)
    return tuple(
        DateWindow(day, w.start, w.end)
        for day in _days(to_utc(low, "low"), to_utc(high, "high"), tz)
        for w in windows if w.weekday == day.weekday()
    )


def held(reserves: Iterable[Interval], now: datetime, release: timedelta) -> list[Interval]:
    """The reserves still held back from ordinary links at ``now`` (released at exactly
    ``start - release``)."""
    now = to_utc(now, "now")
    return [r for r in reserves if now < r.start - release]


def next_release(windows: Iterable[Window], tz: ZoneInfo, now: datetime, release: timedelta) -> datetime | None:
    """The first instant after ``now`` at which a reserve is released; None without
    reserves. What ordinary links are offered changes only at these instants."""
    windows = tuple(windows)
    if not windows:
        return None
    now = to_utc(now, "now")
    starts = occurrences(windows, tz, now + release, now + release + timedelta(days=8))
    return min((r.start - release for r in starts if r.start - release > now), default=None)
