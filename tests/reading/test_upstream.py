"""Minimal failing cases for the faults in the calendar libraries that ``icsrepair`` and
``icsexpand`` work around, run against the libraries themselves.

Each is a strict xfail: when an upgrade fixes the library, the test passes, the run
fails on XPASS, and the workaround named in the reason can go. What an upstream fix
would need is in each docstring (and in the README's "Reading calendars" section).
Versions: icalendar 7.3.2, recurring-ical-events 3.8.2, x-wr-timezone 2.0.1.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import x_wr_timezone
from freezegun.api import FakeDatetime

BERLIN = ZoneInfo("Europe/Berlin")


def calendar(*events: str) -> icalendar.Calendar:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n".replace("\n", "\r\n").replace("\r\r", "\r")
                   for e in events)
    return icalendar.Calendar.from_ical(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n")


def starts(cal: icalendar.Calendar) -> list[dt.datetime]:
    window = (dt.datetime(2027, 1, 1, tzinfo=dt.UTC), dt.datetime(2028, 1, 1, tzinfo=dt.UTC))
    return sorted(e["DTSTART"].dt for e in recurring_ical_events.of(cal, skip_bad_series=True).between(*window))


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="icalendar: vRecur rejects spaces after commas "
                   "(workaround: icsrepair.clean_rule)")
def test_icalendar_reads_rrule_with_spaces_after_commas():
    """``BYDAY=MO, TU`` (Exchange CDO) becomes vBroken and the series is skipped.
    Upstream: strip whitespace around list items and parts in vRecur.from_ical."""
    cal = calendar("UID:a\nDTSTART:20270301T100000Z\nRRULE:FREQ=WEEKLY;BYDAY=MO, TU;COUNT=2")
    assert len(starts(cal)) == 2


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="icalendar: vDuration rejects trailing space and lower "
                   "case (workaround: icsrepair.clean_duration)")
def test_icalendar_reads_sloppy_duration():
    """``DURATION:pt1h `` is vBroken. Upstream: strip and upper-case before matching
    (RFC 5545 3.1: values are case-insensitive)."""
    event = calendar("UID:a\nDTSTART:20270301T100000Z\nDURATION:pt1h ").walk("VEVENT")[0]
    assert type(event["DURATION"]).__name__ != "vBroken"
    assert event["DURATION"].dt == dt.timedelta(hours=1)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="icalendar: a lower-case IANA TZID stays floating "
                   "(workaround: icsrepair.resolve_tzid)")
def test_icalendar_resolves_lower_case_tzid():
    """``TZID=europe/berlin`` gives a naive datetime. Upstream: look zone names up
    case-insensitively when no VTIMEZONE has that TZID."""
    event = calendar("UID:a\nDTSTART;TZID=europe/berlin:20270301T100000").walk("VEVENT")[0]
    assert event["DTSTART"].dt.tzinfo is not None


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="recurring-ical-events: EXDATE hides the override of the "
                   "same instance (workaround: icsexpand._keep_overrides_over_exdates)")
def test_rie_keeps_override_whose_original_time_is_also_an_exdate():
    """Apple writes a moved instance as EXDATE of the original time and an override with
    that RECURRENCE-ID; the override should stand. Upstream: in Series.between, do not
    skip a modification because its RECURRENCE-ID is in EXDATE."""
    cal = calendar(
        "UID:a\nDTSTART;TZID=Europe/Berlin:20270301T100000\nDTEND;TZID=Europe/Berlin:20270301T110000\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\nEXDATE;TZID=Europe/Berlin:20270308T100000",
        "UID:a\nRECURRENCE-ID;TZID=Europe/Berlin:20270308T100000\n"
        "DTSTART;TZID=Europe/Berlin:20270309T150000\nDTEND;TZID=Europe/Berlin:20270309T160000",
    )
    assert dt.datetime(2027, 3, 9, 15, tzinfo=BERLIN) in starts(cal)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="recurring-ical-events: floating UNTIL read as UTC beside a "
                   "zoned DTSTART (workaround: icsexpand._until_in_start_zone)")
def test_rie_reads_floating_until_in_dtstart_zone():
    """RFC 5545 wants UTC there, exporters write local time; west of UTC the last
    instance is lost. Upstream: give a floating UNTIL DTSTART's zone."""
    cal = calendar(
        "UID:a\nDTSTART;TZID=America/New_York:20270301T200000\nDTEND;TZID=America/New_York:20270301T210000\n"
        "RRULE:FREQ=DAILY;UNTIL=20270303T200000"
    )
    assert len(starts(cal)) == 3


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="recurring-ical-events: the DTSTART/DTEND duration is added "
                   "on the wall clock (workaround: icsexpand._exact_duration)")
def test_rie_keeps_exact_duration_across_dst():
    """RFC 5545 3.8.5.3: the exact duration of DTSTART/DTEND applies to every instance.
    A 23:00-04:00 duty lasts 5 hours on the spring night too. Upstream: compute the
    duration and add it in UTC for date-time series."""
    cal = calendar(
        "UID:a\nDTSTART;TZID=Europe/Berlin:20270326T230000\nDTEND;TZID=Europe/Berlin:20270327T040000\n"
        "RRULE:FREQ=DAILY;COUNT=2"
    )
    window = (dt.datetime(2027, 3, 1, tzinfo=dt.UTC), dt.datetime(2027, 4, 1, tzinfo=dt.UTC))
    spring = sorted(recurring_ical_events.of(cal).between(*window), key=lambda e: e["DTSTART"].dt)[1]
    assert spring["DTEND"].dt.astimezone(dt.UTC) - spring["DTSTART"].dt.astimezone(dt.UTC) == dt.timedelta(hours=5)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="x-wr-timezone: handlers picked by type name skip datetime "
                   "subclasses (workaround: calendar libraries in freezegun's ignore list)")
def test_x_wr_timezone_converts_datetime_subclasses():
    """``walk_value`` looks up ``walk_value_<type name>``: a FakeDatetime (freezegun) or
    any other subclass is returned unconverted. Upstream: dispatch on the MRO."""
    cal = calendar("UID:a\nDTSTART:20270301T090000Z\nDTEND:20270301T100000Z")
    cal.add("X-WR-TIMEZONE", "Europe/Berlin")
    event = cal.walk("VEVENT")[0]
    real = event["DTSTART"].dt
    event["DTSTART"] = icalendar.vDDDTypes(FakeDatetime(real.year, real.month, real.day, real.hour,
                                                        tzinfo=dt.UTC))
    converted = x_wr_timezone.to_standard(cal).walk("VEVENT")[0]["DTSTART"].dt
    assert converted.tzinfo is not None and str(converted.tzinfo) == "Europe/Berlin"
