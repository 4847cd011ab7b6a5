"""A full sync paged by time range reads each object once and whole, wherever the page
borders fall: a weekly series over many pages (and a DST change), an instance moved by
an override into the next page, an all-day event on a border, an event longer than a
page. Pages here are three days long (the borders at ``PAGE_START + 3k days``): the 91
days of the window, the day of busy time beyond it and a day of margin on each side take
32 of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.intervals import Interval, merge
from service.calendars.caldav import davsync, timerange
from tests.calendar_servers import unique

from .conftest import BERLIN

NOW = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW = Interval(NOW - timedelta(days=1), NOW + timedelta(days=90))
BUSY_WINDOW = Interval(WINDOW.start, WINDOW.end + davsync.LOOKAHEAD)
PAGE = timedelta(days=3)
PAGE_START = WINDOW.start - timerange.QUERY_MARGIN  # 2027-02-27 00:00 UTC


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def calendar(*vevents: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Counsel Hours//tests//EN\r\n"
            + "".join(vevents) + "END:VCALENDAR\r\n")


def vevent(uid: str, *lines: str) -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\n"
            + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n")


# Tuesdays 10:00-11:00 Berlin from 2027-02-23, 12 instances: CET, then CEST from 28 March.
# The fourth (16 March) moved to Thursday 18 March 15:00, across the border of 17 March.
WEEKLY = calendar(
    vevent("weekly@example.com", "DTSTART;TZID=Europe/Berlin:20270223T100000",
           "DTEND;TZID=Europe/Berlin:20270223T110000", "RRULE:FREQ=WEEKLY;COUNT=12",
           "SUMMARY:weekly"),
    vevent("weekly@example.com", "RECURRENCE-ID;TZID=Europe/Berlin:20270316T100000",
           "DTSTART;TZID=Europe/Berlin:20270318T150000",
           "DTEND;TZID=Europe/Berlin:20270318T160000", "SUMMARY:weekly, moved"),
)
WEEKLY_BUSY = [
    Interval(berlin(*day, 10), berlin(*day, 11))
    for day in [(2027, 3, 2), (2027, 3, 9), (2027, 3, 23), (2027, 3, 30), (2027, 4, 6),
                (2027, 4, 13), (2027, 4, 20), (2027, 4, 27), (2027, 5, 4), (2027, 5, 11)]
] + [Interval(berlin(2027, 3, 18, 15), berlin(2027, 3, 18, 16))]
# The whole of 14 March in Berlin; a page border at 14 March 00:00 UTC, an hour after
# the day begins there.
ALL_DAY = calendar(vevent("away@example.com", "DTSTART;VALUE=DATE:20270314",
                          "DTEND;VALUE=DATE:20270315", "SUMMARY:away"))
ALL_DAY_BUSY = [Interval(berlin(2027, 3, 14, 0), berlin(2027, 3, 15, 0))]
# Ten days: over three borders.
TRIAL = calendar(vevent("trial@example.com", "DTSTART:20270402T080000Z",
                        "DTEND:20270412T170000Z", "SUMMARY:trial"))
TRIAL_BUSY = [Interval(datetime(2027, 4, 2, 8, tzinfo=UTC), datetime(2027, 4, 12, 17, tzinfo=UTC))]
# Across the border of 2 March 00:00 UTC.
LATE = calendar(vevent("late@example.com", "DTSTART:20270301T230000Z",
                       "DTEND:20270302T010000Z", "SUMMARY:late"))
LATE_BUSY = [Interval(datetime(2027, 3, 1, 23, tzinfo=UTC), datetime(2027, 3, 2, 1, tzinfo=UTC))]

OBJECTS = {
    "weekly.ics": (WEEKLY, WEEKLY_BUSY),
    "away.ics": (ALL_DAY, ALL_DAY_BUSY),
    "trial.ics": (TRIAL, TRIAL_BUSY),
    "late.ics": (LATE, LATE_BUSY),
}


def test_the_borders_fall_where_the_events_are_meant_to_cross_them():
    borders = {PAGE_START + k * PAGE for k in range(33)}
    assert datetime(2027, 3, 17, tzinfo=UTC) in borders  # between the moved instance's days
    assert datetime(2027, 3, 14, tzinfo=UTC) in borders  # inside the all-day event
    assert datetime(2027, 3, 2, tzinfo=UTC) in borders  # inside LATE
    assert sum(TRIAL_BUSY[0].start < b < TRIAL_BUSY[0].end for b in borders) == 3


@pytest.fixture
def three_day_pages(monkeypatch):
    monkeypatch.setattr(timerange, "FIRST_PAGE", PAGE)
    monkeypatch.setattr(timerange, "GROWTH", 1)  # every page as long as the first


def test_each_object_comes_out_once_and_whole_across_page_borders(
    server, connect, three_day_pages
):
    url = server.make_calendar(unique("borders"))
    server.bulk_load(url, ((name, text) for name, (text, _busy) in OBJECTS.items()))
    provider = connect(server)
    answers: list[bytes] = []
    provider.client().session.hooks["response"].append(
        lambda response, **_: answers.append(response.content or b"")
        if response.request.method == "REPORT" else None
    )
    result = provider.sync(url, None, WINDOW)
    assert result.full
    by_name = {key.rsplit("/", 1)[1]: spans for key, spans in result.changed.items()}
    assert by_name == {name: merge(busy) for name, (_text, busy) in OBJECTS.items()}
    # Each is read as a whole, as if there were one page.
    for name, (text, _busy) in OBJECTS.items():
        assert by_name[name] == davsync.read_object(name, text, BUSY_WINDOW, BERLIN)[0]
    # The pages: 32, and the series and the trial came back in several of them.
    assert len(answers) == 32
    assert sum(b"weekly.ics" in body for body in answers) >= 8
    assert sum(b"trial.ics" in body for body in answers) >= 4
