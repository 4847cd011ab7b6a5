"""The repair step (``icsrepair``): sloppy values read the same as clean ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.intervals import Interval
from service.calendars import icsread, icsrepair

from .variants import vcalendar

BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC))


@pytest.mark.parametrize(("sloppy", "clean"), [
    ("FREQ=WEEKLY;BYDAY=MO, TU, WE", "FREQ=WEEKLY;BYDAY=MO,TU,WE"),
    ("FREQ=WEEKLY;COUNT=3 ", "FREQ=WEEKLY;COUNT=3"),
    ("freq=daily;until=20270315t100000z", "FREQ=DAILY;UNTIL=20270315T100000Z"),
    (" FREQ = MONTHLY ; BYMONTHDAY = 1 ;", "FREQ=MONTHLY;BYMONTHDAY=1"),
])
def test_clean_rule(sloppy, clean):
    assert icsrepair.clean_rule(sloppy) == clean


@pytest.mark.parametrize(("sloppy", "clean"), [
    ("2027-03-01T10:00:00", "20270301T100000"),
    ("2027-03-01", "20270301"),
    ("20270301t1000z", "20270301T100000Z"),
    (" 20270301T100000 ", "20270301T100000"),
])
def test_clean_date(sloppy, clean):
    assert icsrepair.clean_date(sloppy) == clean


@pytest.mark.parametrize(("tzid", "zone"), [
    ('"Europe/Berlin"', "Europe/Berlin"),
    ("europe/berlin", "Europe/Berlin"),
    ("/mozilla.org/20050126_1/America/New_York", "America/New_York"),
    ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Amsterdam"),
    ("(UTC+09:00) Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
])
def test_resolve_tzid(tzid, zone):
    assert icsrepair.resolve_tzid(tzid) == ZoneInfo(zone)


@pytest.mark.parametrize("tzid", ["", "GMT+0100", "Customized Time Zone", "Mars/Olympus"])
def test_unknown_tzid_is_not_guessed(tzid):
    """An unresolvable TZID stays floating (read in the lawyer's zone), not guessed."""
    assert icsrepair.resolve_tzid(tzid) is None


def test_what_cannot_be_repaired_stays_broken():
    cal = icalendar.Calendar.from_ical(vcalendar(
        "UID:x\nDTSTART:20270301T100000Z\nDURATION:one hour\nRRULE:FREQ=FORTNIGHTLY;;BYDAY=XX"))
    event = cal.walk("VEVENT")[0]
    icsrepair.repair_component(event)
    assert type(event["DURATION"]).__name__ == "vBroken"


# -- hypothesis: whitespace and letter case in RRULE/DURATION change nothing -----------

RULES = [
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270601T000000Z",
    "FREQ=DAILY;INTERVAL=3;COUNT=20",
    "FREQ=MONTHLY;BYDAY=2TU;COUNT=4",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;WKST=SU",
    "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=15",
    "FREQ=DAILY;BYHOUR=9,17;COUNT=30",
    "FREQ=HOURLY;INTERVAL=8;COUNT=30",
]
DURATIONS = ["PT1H", "PT45M", "PT1H30M", "P1D", "PT2H15M30S", "P1W"]


@st.composite
def sloppy(draw, text: str) -> str:
    """``text`` with random letter case and spaces/tabs around its separators."""
    out = []
    for ch in text:
        letter = draw(st.sampled_from([ch.lower(), ch.upper()])) if ch.isalpha() else ch
        if ch in ",;=":
            out.append(draw(st.sampled_from(["", " ", "  ", "\t"])))
            out.append(letter)
            out.append(draw(st.sampled_from(["", " ", "\t "])))
        else:
            out.append(letter)
    return draw(st.sampled_from(["", " "])) + "".join(out) + draw(st.sampled_from(["", " ", "  "]))


def series(rule: str, duration: str) -> str:
    return vcalendar(
        "UID:s@example.com\nDTSTAMP:20260101T000000Z\nSUMMARY:Series\n"
        f"DTSTART;TZID=Europe/Berlin:20270301T100000\nDURATION:{duration}\nRRULE:{rule}"
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), index=st.integers(0, len(RULES) - 1), dur=st.sampled_from(DURATIONS))
def test_whitespace_and_case_in_rrule_and_duration_change_no_busy_time(data, index, dur):
    rule = RULES[index]
    clean = icsread.busy_intervals(series(rule, dur), WINDOW, BERLIN)
    assert clean, "the clean series must be busy somewhere"
    messy_rule = data.draw(sloppy(rule))
    messy_duration = data.draw(sloppy(dur))
    reading = icsread.read(series(messy_rule, messy_duration), WINDOW, BERLIN)
    assert reading.warnings == []
    assert [i for spans in reading.busy.values() for i in spans] == clean


def test_clean_series_are_not_touched():
    text = series(RULES[0], "PT1H")
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert icsrepair.repair_component(event) == []


def test_the_hypothesis_series_cover_the_window():
    """The property test above is only worth something if its series have instances."""
    for rule in RULES:
        busy = icsread.busy_intervals(series(rule, "PT1H"), WINDOW, BERLIN)
        assert len(busy) >= 2 and all(i.end - i.start == timedelta(hours=1) for i in busy)
