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


def zone_groups(only: list[str] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The current zones grouped by region: ``[("Europe", [("Europe/Berlin", "Berlin"), ...])]``;
    ``only``: just these (a search's matches)."""
    wanted = None if only is None else set(only)
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in current_zone_names():
        if wanted is not None and name not in wanted:
            continue
        region, _, place = name.partition("/")
        groups.setdefault(region if place else "UTC", []).append((name, (place or name).replace("_", " ")))
    return sorted(groups.items())


SEARCH_MAX = 64


@lru_cache(maxsize=1)
def _by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in _zones()}


@lru_cache(maxsize=4)
def _city_names(locale: str) -> tuple[tuple[str, str], ...]:
    """(zone, its city's name in ``locale``, lower-case): CLDR's, through Babel ("москва")."""
    from babel.dates import get_timezone_location

    return tuple((name, get_timezone_location(name, locale=locale, return_city=True).lower())
                 for name in current_zone_names())


def find_zones(text: object, locale: str | None = None) -> list[str]:
    """The current zone names a picker's search finds (case, spaces and underscores alike):
    a zone's name, old or current (``Asia/Calcutta`` finds ``Asia/Kolkata``), a place that
    is exactly one zone's ("paris", "new york"; in ``locale`` too: "Москва"), else every
    zone whose name (or city in ``locale``) contains it."""
    if not isinstance(text, str):
        return []
    text = text.strip()[:SEARCH_MAX]
    if not text:
        return []
    named = _by_lower_name().get(text.lower())
    if named is not None:
        return [canonical(named)]
    needle = "_".join(text.lower().split())
    hits = [name for name in current_zone_names() if needle in name.lower()]
    exact = [name for name in hits if name.lower().rsplit("/", 1)[-1] == needle]
    if locale and locale != "en":
        spoken = " ".join(text.lower().split())
        cities = [(name, city) for name, city in _city_names(locale) if spoken in city]
        hits = sorted(set(hits) | {name for name, _ in cities})
        exact += [name for name, city in cities if city == spoken and name not in exact]
    return exact if len(exact) == 1 else hits


def choose_zone(selected: object, query: object, locale: str | None = None) -> tuple[str | None, list[str]]:
    """A picker's answer: the zone chosen and the search's matches. A search that finds one
    zone chooses it; one that finds the zone selected in the list keeps it (the live filter
    already chose); otherwise (none, or several) no zone, and the matches to choose from."""
    if not isinstance(query, str) or not query.strip():
        return (canonical(selected) if is_zone(selected) else None), []  # type: ignore[arg-type]
    matches = find_zones(query, locale)
    if is_zone(selected) and canonical(selected) in matches:  # type: ignore[arg-type]
        return canonical(selected), matches  # type: ignore[arg-type]
    if len(matches) == 1:
        return matches[0], matches
    return None, matches
