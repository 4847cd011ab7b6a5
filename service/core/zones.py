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


@lru_cache(maxsize=4)
def _tzdata_text(name: str) -> str:
    from importlib.resources import files

    return files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """Old names and their current zone (tzdata's links: ``Asia/Calcutta`` -> ``Asia/Kolkata``)."""
    links = {}
    for line in _tzdata_text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()[:3]
            links[alias] = target
    return links


@lru_cache(maxsize=1)
def current_zone_names() -> tuple[str, ...]:
    """The zones people live in, by their current names (``zone.tab``; no ``US/Eastern``,
    ``Asia/Calcutta``, ``Europe/Kiev``), then UTC."""
    names = set()
    for line in _tzdata_text("zone.tab").splitlines():
        if line and not line.startswith("#"):
            names.add(line.split("\t")[2])
    return (*sorted(n for n in names if n in _zones()), "UTC")


_UTC_NAMES = frozenset({"Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0",
                        "Etc/GMT-0", "Etc/Greenwich", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "UCT",
                        "Universal", "Zulu"})


def canonical(name: str) -> str:
    """The current name of a zone as the pickers list it (an old name is followed through
    tzdata's links; every spelling of UTC is ``UTC``)."""
    if name in _UTC_NAMES:
        return "UTC"
    seen = 0
    while name in _links() and seen < 5:
        name, seen = _links()[name], seen + 1
    return "UTC" if name in _UTC_NAMES else name


def zone_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The current zones grouped by region: ``[("Europe", [("Europe/Berlin", "Berlin"), ...])]``."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in current_zone_names():
        region, _, place = name.partition("/")
        groups.setdefault(region if place else "UTC", []).append((name, (place or name).replace("_", " ")))
    return sorted(groups.items())


def zone_aliases() -> dict[str, str]:
    """Old name -> current name, for zones a browser may still report by an old name."""
    current = set(current_zone_names())
    return {alias: canonical(alias) for alias in _links() if canonical(alias) in current}
