"""Google fails closed (#12 twin of the CalDAV reader): an event whose start or end cannot
be read was treated as free; now it is busy over what can be known, and the calendars
page says so in the reader's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.intervals import Interval
from service.calendars.google.events import read_event
from tests.google.conftest import BERLIN, at, timed

CAL = "lawyer@example.com"
WINDOW = Interval(at(2, 0), at(30, 0))


def day_of(moment: datetime) -> Interval:
    start = moment.replace(hour=0, minute=0)
    return Interval(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))


@pytest.mark.parametrize(
    ("edges", "busy", "why"),
    [
        ({"start": {"dateTime": at(5, 10).isoformat()}, "end": {"dateTime": "tomorrow-ish"}},
         day_of(at(5, 10)), "its end time cannot be read"),
        ({"start": {"date": "2030-03-32"}, "end": {"dateTime": at(6, 11).isoformat()}},
         day_of(at(6, 11)), "its start time cannot be read"),
        ({"start": {"dateTime": "2030-03-05T10:00:00"}, "end": {}}, WINDOW,  # no offset, no end
         "its start and end times cannot be read"),
        ({}, WINDOW, "its start and end times cannot be read"),
    ],
)
def test_regression_unparseable_google_event_is_busy_not_free(edges, busy, why):
    """busy_interval returned None (free) for an event whose start/end it could not parse."""
    interval, warning = read_event({"id": "abc", "summary": "Board", "status": "confirmed", **edges},
                                   BERLIN, WINDOW)
    assert interval == busy
    assert (warning.uid, warning.summary, warning.reason, warning.detail) == ("abc", "Board", "unreadable", why)
    assert (warning.start, warning.end) == (busy.start, busy.end)


def test_free_and_readable_events_say_nothing():
    assert read_event({"status": "cancelled"}, BERLIN, WINDOW) == (None, None)
    assert read_event({"transparency": "transparent", "start": {}}, BERLIN, WINDOW) == (None, None)
    interval, warning = read_event(timed(at(5, 10), at(5, 11)), BERLIN, WINDOW)
    assert interval == Interval(at(5, 10), at(5, 11)) and warning is None


def test_sync_stores_the_busy_time_and_the_warning_full_and_incremental(provider, fake):
    fake.add_event(CAL, id="broken1", summary="Board", start={"dateTime": at(5, 10).isoformat()},
                   end={"dateTime": "soon"}, _span=(at(5, 10), at(5, 11)))
    full = provider.sync(CAL, None, WINDOW)
    assert full.changed["broken1"] == [day_of(at(5, 10))]
    (warning,) = full.warnings["broken1"]
    assert warning["reason"] == "unreadable" and warning["summary"] == "Board"
    fake.add_event(CAL, id="broken2", summary="Lunch", start={}, end={}, _span=(at(6, 12), at(6, 13)))
    later = provider.sync(CAL, full.state, WINDOW)
    assert not later.full and later.changed["broken2"] and later.warnings["broken2"][0]["summary"] == "Lunch"
    assert later.changed["broken2"][0].start <= at(6, 12) and later.changed["broken2"][0].end >= at(6, 13)


def test_calendars_page_words_for_a_broken_google_event(app):
    from service.usecases.reading_words import reading_warnings

    _, warning = read_event({"id": "x", "summary": "Board", "start": {"dateTime": at(5, 10).isoformat()}},
                            BERLIN, WINDOW)
    with app.test_request_context():
        (line,) = reading_warnings({"x": [warning.as_dict()]}, BERLIN)
    assert line.startswith("Could not read event «Board»: its end time cannot be read. Treated as busy from")
