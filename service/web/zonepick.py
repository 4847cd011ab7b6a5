"""The time-zone pickers' search, without JavaScript: the search box (``<field>_q``) is sent
with its form (a zone's name, or its city in English or in the page's language: "Москва"),
and the server decides (``core.zones.choose_zone``): a search that finds
one zone chooses it; one that finds several narrows the list to them, with a line saying
so. With JavaScript the same box filters the list as one types (``app.js``/``admin.js``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import get_locale, gettext, ngettext

from service.core.zones import SEARCH_MAX, choose_zone, zone_groups


@dataclass(frozen=True)
class Pick:
    query: str  # the search still to be answered ("" once it chose a zone)
    message: str  # what the search found, when it chose nothing
    groups: list  # the list to show: every current zone, or the search's matches


def _locale() -> str:
    return str(get_locale() or "en")


def words(query: str, matches: list[str]) -> str:
    if not matches:
        return gettext("No time zone matches «%(query)s»; try a city, e.g. Berlin.", query=query)
    return ngettext("%(num)d time zone matches «%(query)s»: choose it in the list.",
                    "%(num)d time zones match «%(query)s»: choose one in the list.",
                    len(matches), query=query)


def chosen(field: str, fallback: str | None = None) -> str | None:
    """The zone the request's picker ``field`` chose (its search included), else ``fallback``."""
    zone, _ = choose_zone(request.values.get(field, ""), request.values.get(f"{field}_q", ""), _locale())
    return zone or fallback


def state(field: str) -> Pick:
    """For the picker's template: the search box's value, the message and the list."""
    query = request.values.get(f"{field}_q", "").strip()[:SEARCH_MAX]
    if not query:
        return Pick("", "", zone_groups())
    zone, matches = choose_zone(request.values.get(field, ""), query, _locale())
    if zone is not None:
        return Pick("", "", zone_groups())
    return Pick(query, words(query, matches), zone_groups(matches) if matches else zone_groups())
