"""Plain values the engine works on: agreements, lawyer rules, booked calls, slots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.intervals import Interval

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, order=True)
class Window:
    """A weekly window in the lawyer's wall-clock time: weekday 0 = Monday."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True, order=True)
class DateWindow:
    """A one-off extra window on one date, in the lawyer's wall-clock time."""

    day: date
    start: time
    end: time


@dataclass(frozen=True)
class Agreement:
    """What was agreed with one client. All durations are ``timedelta``."""

    windows: tuple[Window, ...]
    duration: timedelta
    prep: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    notice: timedelta = timedelta(hours=24)
    notice_next_working_day: bool = False
    horizon_days: int = 30
    max_per_week: int | None = None
    max_per_month: int | None = None
    step: timedelta | None = None  # None: the call duration
    extra_windows: tuple[DateWindow, ...] = ()

    def blocked(self, call_start: datetime) -> Interval:
        """The time a call starting at ``call_start`` takes: prep + call + buffer."""
        return Interval(
            call_start - self.prep, call_start + self.duration + self.buffer_after
        )


@dataclass(frozen=True)
class LawyerRules:
    """Rules that hold for the lawyer whatever each agreement says."""

    timezone: ZoneInfo
    days_off: frozenset[date] = frozenset()
    max_per_day: int | None = None
    max_per_week: int | None = None
    working_days: frozenset[int] = frozenset(range(5))  # Mon..Fri


@dataclass(frozen=True)
class BookedCall:
    """An active booking of the lawyer, whichever client made it."""

    start: datetime  # the call itself, aware
    end: datetime
    blocked: Interval  # prep + call + buffer
    client: object = None  # an opaque client key; compared with ``==``


@dataclass(frozen=True, order=True)
class Slot:
    """An offered call: start and end of the call itself, in UTC."""

    start: datetime
    end: datetime
    prep_start: datetime = field(compare=False)
    blocked_end: datetime = field(compare=False)
