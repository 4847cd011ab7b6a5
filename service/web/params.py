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


def parse_day(text: object, field: str) -> date:
    if not isinstance(text, str):
        raise AppError(422, "invalid_date", f"{field}: a date YYYY-MM-DD is required.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AppError(422, "invalid_date", f"{field}: {text[:40]!r} is not a date YYYY-MM-DD.") from None


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
    return value.astimezone(UTC)
