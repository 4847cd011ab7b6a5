"""Factories with defaults for the engine tests (like indico's ``create_reservation``).

Times are written as lawyer-local strings, ``at("2026-06-02 10:00")``, in Europe/Berlin
unless a zone is given. ``NOW`` is a fixed Monday morning; no test reads the clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.intervals import Interval
from booking.model import Agreement, BookedCall, LawyerRules
from booking.windows import parse_windows

BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def at(text: str, tz: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    """``"2026-06-02 10:00"`` as an aware datetime in ``tz``."""
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NOW = at("2026-06-01 08:00")  # Monday


def make_agreement(windows: str = "tue 10:00-12:00,thu 14:00-16:00", **params) -> Agreement:
    params.setdefault("duration", timedelta(minutes=30))
    params.setdefault("notice", timedelta(hours=24))
    params.setdefault("horizon_days", 30)
    return Agreement(windows=parse_windows(windows), **params)


def make_lawyer(tz: ZoneInfo = BERLIN, **params) -> LawyerRules:
    return LawyerRules(timezone=tz, **params)


def busy(start: str, end: str, tz: ZoneInfo = BERLIN) -> Interval:
    return Interval(at(start, tz), at(end, tz))


def book(
    start: str,
    agreement: Agreement | None = None,
    client: object = "other",
    tz: ZoneInfo = BERLIN,
) -> BookedCall:
    """A booking made under ``agreement`` (default: 30 min, no prep) at local ``start``."""
    agreement = agreement or make_agreement()
    begins = at(start, tz)
    return BookedCall(
        start=begins,
        end=begins + agreement.duration,
        blocked=agreement.blocked(begins),
        client=client,
    )


def local_starts(slots, tz: ZoneInfo = BERLIN) -> list[str]:
    """Slot starts as lawyer-local ``"YYYY-MM-DD HH:MM"`` strings, for readable asserts."""
    return [s.start.astimezone(tz).strftime("%Y-%m-%d %H:%M") for s in slots]


def local_dates(slots, tz: ZoneInfo) -> set[date]:
    return {s.start.astimezone(tz).date() for s in slots}


@contextmanager
def process_zone(name: str) -> Iterator[None]:
    """Run the block with the process's own zone (``TZ``) set to ``name``.

    The engine must never use the server's zone; a test that changes it proves that.
    """
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
