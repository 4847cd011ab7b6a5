"""The IANA time zone names the service accepts (for lawyers, clients and ``tz=``)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_names() -> list[str]:
    """The zones offered in pickers: regional names, then UTC."""
    return sorted(z for z in _zones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))) + ["UTC"]


def all_zone_names() -> list[str]:
    """Every zone name ``tz`` parameters accept (the API document lists them)."""
    return sorted(_zones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in _zones()
