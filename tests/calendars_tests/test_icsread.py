"""icsread over the calendar files in tests/calendars/ (no server, no app)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.intervals import Interval
from service.calendars import icsread
from service.calendars.icsread import CalendarDataError

from .cases import BERLIN, EXPECTED, FILES, WINDOW, ZONE_DEPENDENT, ics, spans


def test_every_file_has_an_expectation():
    assert sorted(p.stem for p in FILES.glob("*.ics")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_busy_intervals(name):
    assert icsread.busy_intervals(ics(name), WINDOW, BERLIN) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reversed_component_order_gives_the_same(name):
    """Overrides before their master, VTIMEZONE after the events: same answer."""
    cal = icsread.parse(ics(name))
    cal.subcomponents.reverse()
    assert icsread.busy_intervals(cal, WINDOW, BERLIN) == EXPECTED[name]


@pytest.mark.parametrize(("name", "zone"), sorted(ZONE_DEPENDENT))
def test_lawyer_zone(name, zone):
    got = icsread.busy_intervals(ics(name), WINDOW, ZoneInfo(zone))
    assert got == ZONE_DEPENDENT[(name, zone)]


def test_intervals_are_aware_utc():
    for interval in icsread.busy_intervals(ics("dst_weekly_across_change"), WINDOW, BERLIN):
        assert interval.start.tzinfo is UTC and interval.end.tzinfo is UTC


def test_busy_by_uid_keys_by_event():
    got = icsread.busy_by_uid(ics("own_event_ignored"), WINDOW, BERLIN)
    assert got == {"not-ours@example.com": spans(("03-18 10:00", "03-18 11:00"))}


def test_narrow_window_finds_the_instance_after_the_dst_change():
    window = Interval(
        datetime(2027, 4, 2, 8, 15, tzinfo=UTC), datetime(2027, 4, 2, 8, 45, tzinfo=UTC)
    )
    assert icsread.busy_intervals(ics("dst_weekly_across_change"), window, BERLIN) == [window]


def test_series_started_long_ago_without_end_is_expanded_in_window():
    window = Interval(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 8, tzinfo=UTC))
    got = icsread.busy_intervals(ics("weekly_rrule_with_exdate"), window, BERLIN)
    assert got == [
        Interval(datetime(2030, 1, 1, 9, tzinfo=UTC), datetime(2030, 1, 1, 10, tzinfo=UTC))
    ]


def test_not_icalendar_is_a_clear_error():
    with pytest.raises(CalendarDataError, match="not iCalendar"):
        icsread.parse("<html>Login required</html>")


def test_broken_event_is_skipped_not_fatal():
    text = ics("utc_times").replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\nUID:broken@example.com\nDTSTAMP:20260101T000000Z\n"
        "DTSTART:2027-03-20 garbage\nDTEND:20270320T100000Z\nEND:VEVENT\nEND:VCALENDAR",
    )
    assert icsread.busy_intervals(text, WINDOW, BERLIN) == EXPECTED["utc_times"]


def test_two_calendars_in_one_file_are_both_read():
    text = ics("utc_times") + ics("duration_not_dtend")
    assert icsread.busy_intervals(text, WINDOW, BERLIN) == (
        EXPECTED["duration_not_dtend"] + EXPECTED["utc_times"]
    )


def test_window_must_cover_occurrence_to_report_it():
    end = WINDOW.start + timedelta(days=1)
    assert icsread.busy_intervals(ics("utc_times"), Interval(WINDOW.start, end), BERLIN) == []


def _zones(cal) -> int:
    return sum(1 for c in cal.subcomponents if c.name == "VTIMEZONE")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_zone_parsed_before_is_cut_out_with_the_same_busy_time(name, monkeypatch):
    """Every CalDAV object carries its own VTIMEZONE: a copy parsed once is not parsed
    again, and nothing read from the file changes."""
    monkeypatch.setattr(icsread, "_parsed_zones", {})
    first, second = icsread.parse(ics(name)), icsread.parse(ics(name))
    assert _zones(second) == 0 or "BEGIN:VTIMEZONE\r\n" not in ics(name)
    assert _zones(first) >= _zones(second)
    assert icsread.busy_intervals(second, WINDOW, BERLIN) == EXPECTED[name]
    assert icsread.busy_intervals(ics(name), WINDOW, BERLIN) == EXPECTED[name]


def _office(uid: str, tzid: str, body: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\n"
        f"DTSTART;TZID={tzid}:20270302T100000\r\nDTEND;TZID={tzid}:20270302T110000\r\n"
        f"{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_a_custom_zone_cut_out_of_later_objects_still_places_their_events():
    office = Interval(datetime(2027, 3, 2, 7, tzinfo=UTC), datetime(2027, 3, 2, 8, tzinfo=UTC))
    for uid in ("a@example.com", "b@example.com"):
        cal = icsread.parse(_office(uid, "Counsel Office Time A"))
        assert icsread.busy_intervals(cal, WINDOW, BERLIN) == [office]
    assert _zones(cal) == 0


def test_a_zone_in_an_object_that_failed_to_parse_is_parsed_next_time():
    broken = _office("c@example.com", "Counsel Office Time B", "BEGIN:VALARM\r\n")
    with pytest.raises(CalendarDataError):
        icsread.parse(broken)
    cal = icsread.parse(_office("d@example.com", "Counsel Office Time B"))
    assert _zones(cal) == 1
