"""The calendar libraries keep real datetime types while a test's clock is frozen.

Under ``freeze_time`` freezegun swaps ``datetime.datetime`` for ``FakeDatetime`` in every
module it has not been told to leave alone; icalendar then yields FakeDatetime values
and x-wr-timezone, which picks its handler by the type's name (``walk_value_datetime``),
silently converts nothing: an X-WR-TIMEZONE feed read in a frozen test kept its UTC
times, and the test passed for the wrong reason. tests/conftest.py lists the calendar
libraries in freezegun's ignore list; these tests fail if that is undone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import freezegun
import icalendar
from freezegun import freeze_time

from booking.intervals import Interval
from service.calendars import icsread

from .variants import vcalendar

BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = Interval(dt.datetime(2027, 3, 1, tzinfo=dt.UTC), dt.datetime(2027, 5, 1, tzinfo=dt.UTC))

#: Google feed: a weekly 10:00 Berlin meeting written in UTC from a winter start, with
#: X-WR-TIMEZONE. Read right, it stays at 10:00 Berlin after 28 March (08:00 UTC);
#: read without the conversion it drifts to 11:00 Berlin (09:00 UTC).
FEED = vcalendar(
    "UID:w@example.com\nDTSTAMP:20260101T000000Z\nSUMMARY:Weekly\n"
    "DTSTART:20270301T090000Z\nDTEND:20270301T100000Z\nRRULE:FREQ=WEEKLY;COUNT=6"
).replace("VERSION:2.0\r\n", "VERSION:2.0\r\nX-WR-TIMEZONE:Europe/Berlin\r\n")

AFTER_THE_CHANGE = Interval(
    dt.datetime(2027, 3, 29, 8, tzinfo=dt.UTC), dt.datetime(2027, 3, 29, 9, tzinfo=dt.UTC)
)


def test_calendar_libraries_are_in_freezegun_ignore_list():
    ignored = set(freezegun.configure.__globals__["settings"].default_ignore_list)
    assert {"icalendar", "recurring_ical_events", "x_wr_timezone", "dateutil"} <= ignored


def test_icalendar_yields_real_datetimes_under_a_frozen_clock():
    with freeze_time("2026-03-02 08:00:00"):
        value = icalendar.Calendar.from_ical(FEED).walk("VEVENT")[0]["DTSTART"].dt
    assert type(value) is dt.datetime


def test_x_wr_timezone_is_applied_under_a_frozen_clock():
    with freeze_time("2026-03-02 08:00:00"):
        busy = icsread.busy_intervals(FEED, WINDOW, BERLIN)
    assert AFTER_THE_CHANGE in busy
    assert busy == icsread.busy_intervals(FEED, WINDOW, BERLIN)  # the same as on real time


def test_x_wr_timezone_is_applied_on_real_time():
    assert AFTER_THE_CHANGE in icsread.busy_intervals(FEED, WINDOW, BERLIN)
