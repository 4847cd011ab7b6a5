"""Busy time from iCalendar text: pure functions, no network, no database.

Recurrence is expanded here with ``recurring-ical-events`` (RRULE, RDATE, EXDATE,
RECURRENCE-ID overrides), never by the calendar server: Radicale's own expansion is
wrong across DST changes, and no server knows the lawyer's zone for floating times.

Rules, in the lawyer's favour of never being double-booked:

- An occurrence is busy unless it is ``STATUS:CANCELLED``, ``TRANSP:TRANSPARENT`` or
  marked free by Outlook (``X-MICROSOFT-CDO-BUSYSTATUS:FREE``). Tentative is busy.
- All-day events block whole days in the lawyer's zone (midnight to midnight, however
  long the day is); floating times are read in the lawyer's zone.
- Zones are resolved by ``icalendar``: VTIMEZONE blocks, IANA names, and the Windows
  names Outlook writes ("W. Europe Standard Time" -> Europe/Berlin).
- A calendar with ``X-WR-TIMEZONE`` (Google, Apple feeds) is normalised first with
  ``x-wr-timezone``, so UTC-anchored recurrences keep their wall-clock time over DST.
- Events the service wrote itself (UID ending in ``OWN_UID_SUFFIX``) are skipped: their
  bookings are counted from the database.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import icalendar
import x_wr_timezone
from icalendar.error import GloballyUniqueTZIDGuessed

from booking.intervals import Interval, merge
from service.calendars import icsexpand as expand
from service.calendars.icsexpand import CalendarDataError, Reading, ReadWarning

__all__ = [
    "CalendarDataError", "ReadWarning", "Reading", "busy_by_uid", "busy_intervals", "parse",
    "read", "warnings_by_key",
]

log = logging.getLogger(__name__)


def parse(text: str | bytes) -> icalendar.Calendar:
    """Parse one VCALENDAR; a clear :class:`CalendarDataError` when it is not one."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise CalendarDataError("the calendar data is not iCalendar (no BEGIN:VCALENDAR)")
    zones = _ZONE_BLOCK.findall(text) if "BEGIN:VTIMEZONE" in text else []
    if zones:
        text = _ZONE_BLOCK.sub(lambda m: "" if m.group(0) in _parsed_zones else m.group(0), text)
    try:
        with _tzid_guesses_accepted():
            calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except (ValueError, KeyError, IndexError) as exc:
        raise CalendarDataError(f"the calendar data cannot be read: {exc}") from None
    if not calendars:
        raise CalendarDataError("the calendar data contains no VCALENDAR")
    _remember_zones(zones)
    if len(calendars) == 1:
        return calendars[0]
    merged = icalendar.Calendar()
    for cal in calendars:
        for component in cal.subcomponents:
            merged.add_component(component)
    return merged


#: A VTIMEZONE block as CalDAV servers and exporters write it (other spellings are
#: simply parsed every time).
_ZONE_BLOCK = re.compile(r"^BEGIN:VTIMEZONE\r?\n.*?^END:VTIMEZONE\r?\n", re.MULTILINE | re.DOTALL)
#: VTIMEZONE blocks icalendar has parsed in this process, by their exact text. A block
#: parsed once changes nothing when parsed again: icalendar resolves a TZID it knows
#: (an IANA or Windows name) without the block, and caches the zone of any other TZID
#: from the first block that defines it, never replacing it (``tzp``'s cache, which only
#: a switch of its provider clears; the service never switches). So a repeat is cut
#: out before parsing: every object of a CalDAV calendar carries its own copy (a
#: fifth of the parsing at 50,000 objects).
_parsed_zones: dict[str, None] = {}
MAX_PARSED_ZONES = 512


def _remember_zones(zones: list[str]) -> None:
    for zone in zones:
        if zone not in _parsed_zones:
            if len(_parsed_zones) >= MAX_PARSED_ZONES:
                _parsed_zones.pop(next(iter(_parsed_zones)), None)
            _parsed_zones[zone] = None


def busy_by_uid(
    source: str | bytes | icalendar.Calendar, window: Interval, tz: ZoneInfo
) -> dict[str, list[Interval]]:
    """Busy intervals of each event UID overlapping ``window``, clipped to it.

    Intervals are aware UTC, merged per UID. UIDs without busy time in the window are
    absent. ``window`` must be aware. Events that cannot be read count as busy where
    they can be placed (see :func:`read`).
    """
    return read(source, window, tz).busy


def read(source: str | bytes | icalendar.Calendar, window: Interval, tz: ZoneInfo) -> Reading:
    """The busy time per UID in ``window`` and what could not be read exactly.

    Each event (a UID: the series and its overrides) is read on its own: one broken
    component never hides the rest of the calendar. Sloppy values are repaired first
    (``icsrepair``); an event that still cannot be expanded fails closed over the
    spans it can be placed in, and a rule repeating denser than
    ``MIN_REPEAT_MINUTES`` is busy over its whole extent. Each such case is a
    :class:`ReadWarning` naming the event.
    """
    cal = source if isinstance(source, icalendar.Calendar) else parse(source)
    with _tzid_guesses_accepted():
        return expand.read_calendar(_standardise(cal), window, tz)


def busy_intervals(
    source: str | bytes | icalendar.Calendar, window: Interval, tz: ZoneInfo
) -> list[Interval]:
    """All busy time in ``window`` as merged, sorted, aware UTC intervals."""
    return merge(i for spans in busy_by_uid(source, window, tz).values() for i in spans)


def warnings_by_key(warnings: list[ReadWarning], key: str | None = None) -> dict[str, list[dict]]:
    """Warnings as stored with a sync result: by UID, or all under ``key`` (one CalDAV
    object)."""
    found: dict[str, list[dict]] = {}
    for warning in warnings:
        found.setdefault(key if key is not None else warning.uid, []).append(warning.as_dict())
    return found


@contextmanager
def _tzid_guesses_accepted() -> Iterator[None]:
    """Accept icalendar's guess for "/vendor/Europe/Berlin" TZIDs (Evolution, Lightning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
        yield


def _standardise(cal: icalendar.Calendar) -> icalendar.Calendar:
    if "X-WR-TIMEZONE" not in cal:
        return cal
    try:
        return x_wr_timezone.to_standard(cal)
    except Exception as exc:  # noqa: BLE001 - a bad X-WR-TIMEZONE is ignored, not fatal
        log.info("ignoring X-WR-TIMEZONE %r: %s", str(cal["X-WR-TIMEZONE"]), exc)
        return cal
