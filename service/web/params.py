"""Parsing request parameters into typed values, with user-worded errors (422)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from service.web.errors import AppError


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_names() -> list[str]:
    return sorted(z for z in _zones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))) + ["UTC"]


def all_zone_names() -> list[str]:
    """Every zone name ``tz`` parameters accept (the API document lists them)."""
    return sorted(_zones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in _zones()


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
