"""Parsing request parameters into typed values, with user-worded errors (422)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from service.core.zones import is_zone
from service.web.errors import AppError


def parse_zone(name: object, field: str = "tz") -> ZoneInfo:
    if not is_zone(name):
        raise AppError(422, "invalid_timezone", f"{field}: unknown time zone {str(name)[:64]!r}.")
    return ZoneInfo(name)


#: Dates and instants from outside must fall in these years: far enough for any booking,
#: near enough that arithmetic on them (weeks, horizons, zones) never overflows.
FIRST_YEAR, LAST_YEAR = 1970, 2199
ID_MAX = 2**31 - 1  # PostgreSQL's integer; larger ids do not exist


def in_range(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def parse_day(text: object, field: str) -> date:
    if not isinstance(text, str):
        raise AppError(422, "invalid_date", f"{field}: a date YYYY-MM-DD is required.")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise AppError(422, "invalid_date", f"{field}: {text[:40]!r} is not a date YYYY-MM-DD.") from None
    return day  # far dates are clamped to the horizon by the caller


def parse_id(text: object) -> int | None:
    """A database id typed in a form: ASCII digits within range, else None."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= ID_MAX else None


def parse_instant(text: object, field: str = "start") -> datetime:
    """An ISO 8601 instant with an offset (``Z`` accepted); returned in UTC."""
    if not isinstance(text, str) or not text:
        raise AppError(422, "invalid_start", f"{field}: an ISO 8601 date-time is required.")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise AppError(
            422, "invalid_start", f"{field}: {text[:60]!r} is not an ISO 8601 date-time."
        ) from None
    if value.tzinfo is None:
        raise AppError(
            422, "invalid_start", f"{field}: the date-time needs an offset, e.g. 2026-12-01T10:00:00+01:00."
        )
    if not in_range(value.date()):  # 0001-01-01T00:00+05:00 has no UTC time at all
        raise AppError(
            422, "invalid_start", f"{field}: the date-time must be between {FIRST_YEAR} and {LAST_YEAR}."
        )
    return value.astimezone(UTC)
