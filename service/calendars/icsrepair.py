"""The repair step: sloppy but readable iCalendar values made readable before expansion.

Real exporters write ``RRULE:FREQ=WEEKLY;BYDAY=MO, TU, WE`` (Exchange's CDO), trailing
spaces in ``RRULE``/``DURATION`` (old Apple iCal), lower-case values (``pt1h``,
``20270315t100000z``), a ``VALUE=DATE`` with a date-time, ``2027-03-01T10:00:00``,
minutes without seconds, and ``TZID`` parameters icalendar does not resolve (quoted,
lower-case, Outlook's display names such as "(UTC+01:00) Amsterdam, Berlin, …").
icalendar keeps such a property as ``vBroken`` (or as a rule with odd keys), and
``recurring-ical-events`` then drops the series, offering all of it as free time.

:func:`repair_component` re-reads those properties with icalendar's own value types
after a normalisation that cannot change a valid value (no value of these types
contains whitespace, and their names and letters are case-insensitive, RFC 5545
section 3.1). What still cannot be read stays broken; the reader fails closed on it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from icalendar.prop import vBroken

#: Properties whose values are rules, durations or dates (the ones expansion reads).
RULES = ("RRULE", "EXRULE")
DURATIONS = ("DURATION",)
SINGLE_DATES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")
DATE_LISTS = ("EXDATE", "RDATE")

_WHITESPACE = re.compile(r"\s+")
_ISO_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?(Z?)$")
_NO_SECONDS = re.compile(r"^(\d{8}T\d{4})(Z?)$")
_WINDOWS_DISPLAY = re.compile(r"^\(?(?:UTC|GMT)[^)]*\)\s*(.*)$", re.IGNORECASE)


def repair_component(component: icalendar.Component) -> list[str]:
    """Repair ``component``'s recurrence-relevant properties in place.

    Returns the names of the properties that were repaired (for tests and logs)."""
    repaired: list[str] = []
    for name in (*RULES, *DURATIONS, *SINGLE_DATES, *DATE_LISTS):
        if name not in component:
            continue
        values = component[name]
        many = isinstance(values, list)
        fixed = [_repair(name, value) for value in (values if many else [values])]
        if any(new is not old for new, old in zip(fixed, values if many else [values], strict=True)):
            component[name] = fixed if many else fixed[0]
            repaired.append(name)
    return repaired


def clean_rule(text: str) -> str:
    """A rule without whitespace, in upper case, without empty parts."""
    parts = [p for p in _WHITESPACE.sub("", text).upper().split(";") if p]
    return ";".join(parts)


def clean_duration(text: str) -> str:
    return _WHITESPACE.sub("", text).upper()


def clean_date(text: str) -> str:
    """One DATE or DATE-TIME value in the basic form icalendar reads."""
    value = _WHITESPACE.sub("", text).upper()
    iso = _ISO_DATETIME.match(value)
    if iso:
        y, m, d, hh, mm, ss, z = iso.groups()
        value = f"{y}{m}{d}" + (f"T{hh}{mm}{ss or '00'}{z}" if hh else "")
    short = _NO_SECONDS.match(value)
    if short:
        value = f"{short.group(1)}00{short.group(2)}"
    return value


def resolve_tzid(tzid: str) -> ZoneInfo | None:
    """A zone for a TZID icalendar did not resolve, or None.

    Accepts quotes and surrounding space, any letter case of an IANA name, a vendor
    prefix ("/mozilla.org/…/Europe/Berlin"), and Outlook's display names: the first
    city of "(UTC+01:00) Amsterdam, Berlin, Bern, …" that names an IANA zone."""
    text = tzid.strip().strip('"').strip()
    if not text:
        return None
    names = _zone_names()
    exact = names.get(text.lower())
    if exact:
        return ZoneInfo(exact)
    if "/" in text:
        parts = [p for p in text.split("/") if p]
        for cut in range(len(parts) - 1):
            found = names.get("/".join(parts[cut:]).lower())
            if found:
                return ZoneInfo(found)
    display = _WINDOWS_DISPLAY.match(text)
    cities = display.group(1) if display else text
    by_city = _zone_cities()
    for city in re.split(r"[,;/]", cities):
        found = by_city.get(city.strip().lower().replace(" ", "_"))
        if found:
            return ZoneInfo(found)
    return None


# -- one property -----------------------------------------------------------------------


def _repair(name: str, prop):
    try:
        if name in RULES:
            return _repair_rule(prop)
        if name in DURATIONS:
            return _repair_duration(prop)
        if name in SINGLE_DATES:
            return _repair_date(name, prop)
        if name in DATE_LISTS:
            return _repair_date_list(name, prop)
    except (ValueError, TypeError, KeyError, IndexError):
        return prop  # still broken: the reader fails closed on it
    return prop


def _text(prop) -> str:
    if isinstance(prop, vBroken):
        return str(prop)
    value = prop.to_ical()
    return value.decode() if isinstance(value, bytes) else str(value)


def _repair_rule(prop):
    if not isinstance(prop, (vBroken, icalendar.vRecur)):
        return prop
    text = _text(prop)
    cleaned = clean_rule(text)
    if cleaned == text and not isinstance(prop, vBroken):
        return prop
    new = icalendar.vRecur.from_ical(cleaned)
    new = icalendar.vRecur(new)
    new.params = prop.params
    return new


def _repair_duration(prop):
    if not isinstance(prop, vBroken):
        return prop
    parsed = icalendar.vDuration.from_ical(clean_duration(str(prop)))
    new = icalendar.vDDDTypes(parsed)
    new.params = prop.params
    return new


def _repair_date(name: str, prop):
    tzid = _tzid(prop)
    if isinstance(prop, vBroken):
        value = _parse_date(clean_date(str(prop)), tzid, prop.params)
        new = icalendar.vDDDTypes(value)
        new.params = prop.params
        return new
    dt = getattr(prop, "dt", None)
    if isinstance(dt, datetime) and str(prop.params.get("VALUE", "")).upper() == "DATE":
        new = icalendar.vDDDTypes(dt.date())
        new.params = prop.params
        return new
    if isinstance(dt, datetime) and dt.tzinfo is None and tzid:
        zone = resolve_tzid(tzid)
        if zone is not None:
            new = icalendar.vDDDTypes(dt.replace(tzinfo=zone))
            new.params = prop.params
            return new
    return prop


def _repair_date_list(name: str, prop):
    tzid = _tzid(prop)
    if isinstance(prop, vBroken):
        values = [
            _parse_date(clean_date(part), tzid, prop.params)
            for part in str(prop).split(",")
            if part.strip()
        ]
        new = icalendar.vDDDLists(values)
        new.params = prop.params
        return new
    dts = getattr(prop, "dts", None)
    if not dts or not tzid:
        return prop
    zone = None
    values = []
    changed = False
    for item in dts:
        dt = item.dt
        if isinstance(dt, datetime) and dt.tzinfo is None:
            zone = zone or resolve_tzid(tzid)
            if zone is not None:
                dt, changed = dt.replace(tzinfo=zone), True
        values.append(dt)
    if not changed:
        return prop
    new = icalendar.vDDDLists(values)
    new.params = prop.params
    return new


def _parse_date(text: str, tzid: str | None, params) -> date | datetime:
    if str(params.get("VALUE", "")).upper() == "DATE" or re.fullmatch(r"\d{8}", text):
        return icalendar.vDate.from_ical(text[:8])
    value = icalendar.vDatetime.from_ical(text)
    if value.tzinfo is None and tzid:
        zone = resolve_tzid(tzid)
        if zone is not None:
            value = value.replace(tzinfo=zone)
    return value


def _tzid(prop) -> str | None:
    params = getattr(prop, "params", None) or {}
    value = params.get("TZID")
    return str(value) if value else None


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@cache
def _zone_cities() -> dict[str, str]:
    """'berlin' -> 'Europe/Berlin' for the canonical regions (first one wins)."""
    cities: dict[str, str] = {}
    for name in sorted(available_timezones()):
        region, _, city = name.partition("/")
        if region in {"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Pacific", "Indian"}:
            cities.setdefault(city.rsplit("/", 1)[-1].lower(), name)
    return cities

