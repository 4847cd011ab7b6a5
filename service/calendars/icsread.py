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
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.error import GloballyUniqueTZIDGuessed

from booking.intervals import Interval, merge
from service.calendars.base import ProviderError, is_own_uid

log = logging.getLogger(__name__)

#: Expansion looks this far outside the window so that an occurrence straddling a
#: window edge is found whichever zone its wall-clock times are read in.
_MARGIN = timedelta(days=1)


class CalendarDataError(ProviderError):
    """The calendar data cannot be read as iCalendar."""

    retryable = False


def parse(text: str | bytes) -> icalendar.Calendar:
    """Parse one VCALENDAR; a clear :class:`CalendarDataError` when it is not one."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise CalendarDataError("the calendar data is not iCalendar (no BEGIN:VCALENDAR)")
    try:
        with _tzid_guesses_accepted():
            calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except (ValueError, KeyError, IndexError) as exc:
        raise CalendarDataError(f"the calendar data cannot be read: {exc}") from None
    if not calendars:
        raise CalendarDataError("the calendar data contains no VCALENDAR")
    if len(calendars) == 1:
        return calendars[0]
    merged = icalendar.Calendar()
    for cal in calendars:
        for component in cal.subcomponents:
            merged.add_component(component)
    return merged


def busy_by_uid(
    source: str | bytes | icalendar.Calendar, window: Interval, tz: ZoneInfo
) -> dict[str, list[Interval]]:
    """Busy intervals of each event UID overlapping ``window``, clipped to it.

    Intervals are aware UTC, merged per UID. UIDs without busy time in the window are
    absent. ``window`` must be aware.
    """
    cal = source if isinstance(source, icalendar.Calendar) else parse(source)
    with _tzid_guesses_accepted():
        return _busy_by_uid(_standardise(cal), window, tz)


def _busy_by_uid(
    cal: icalendar.Calendar, window: Interval, tz: ZoneInfo
) -> dict[str, list[Interval]]:
    lo = window.start.astimezone(tz) - _MARGIN
    hi = window.end.astimezone(tz) + _MARGIN
    try:
        occurrences = recurring_ical_events.of(cal, skip_bad_series=True).between(lo, hi)
    except (ValueError, TypeError, recurring_ical_events.InvalidCalendar) as exc:
        raise CalendarDataError(f"the calendar's events cannot be expanded: {exc}") from None

    found: dict[str, list[Interval]] = {}
    for occurrence in occurrences:
        uid = str(occurrence.get("UID", ""))
        if is_own_uid(uid) or not _is_busy(occurrence):
            continue
        try:
            span = _span(occurrence, tz)
        except (ValueError, TypeError) as exc:  # a broken DTSTART/DTEND/DURATION
            log.info("skipping event %r: %s", uid, exc)
            continue
        if span is None:
            continue
        clipped = Interval(max(span.start, window.start), min(span.end, window.end))
        if clipped.start < clipped.end:
            found.setdefault(uid, []).append(
                Interval(clipped.start.astimezone(UTC), clipped.end.astimezone(UTC))
            )
    return {uid: merge(spans) for uid, spans in found.items()}


def busy_intervals(
    source: str | bytes | icalendar.Calendar, window: Interval, tz: ZoneInfo
) -> list[Interval]:
    """All busy time in ``window`` as merged, sorted, aware UTC intervals."""
    return merge(i for spans in busy_by_uid(source, window, tz).values() for i in spans)


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


def _is_busy(event: icalendar.Component) -> bool:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() != "FREE"


def _span(event: icalendar.Component, tz: ZoneInfo) -> Interval | None:
    """The occurrence's [start, end) as aware datetimes; None if it has no length."""
    start_prop = event.get("DTSTART")
    if start_prop is None:
        return None
    start = start_prop.dt
    end_prop = event.get("DTEND")
    if end_prop is not None:
        end = end_prop.dt
    elif event.get("DURATION") is not None:
        end = start + event["DURATION"].dt
    elif isinstance(start, datetime):
        end = start  # RFC 5545: a DTSTART date-time alone takes no time
    else:
        end = start + timedelta(days=1)  # a DTSTART date alone is that whole day
    begin, finish = _aware(start, tz), _aware(end, tz)
    if finish <= begin:
        return None
    return Interval(begin, finish)


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tzinfo=tz)
