"""icsrange.near: the events cut from a feed before the live check parses it (#19).

The property: for any range, the busy time read from ``near(text, range)`` is the busy
time read from the whole text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.intervals import Interval
from service.calendars import icsrange, icsread

from .cases import BERLIN, FILES

NAMES = sorted(p.stem for p in FILES.glob("*.ics"))
BASE = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = ("", "Z", ";TZID=Europe/Berlin", ";TZID=America/New_York", ";VALUE=DATE")


def ranges(days: int = 900):
    return st.builds(
        lambda start, minutes: Interval(BASE + timedelta(minutes=start),
                                        BASE + timedelta(minutes=start + minutes)),
        st.integers(0, days * 24 * 60), st.integers(15, 4 * 24 * 60),
    )


def when(dt: datetime, form: str) -> str:
    if form == ";VALUE=DATE":
        return f"{form}:{dt:%Y%m%d}"
    return f"{'' if form == 'Z' else form}:{dt:%Y%m%dT%H%M%S}{'Z' if form == 'Z' else ''}"


def feed(events) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//range//EN"]
    for i, (start, minutes, form, extra) in enumerate(events):
        end = start + timedelta(minutes=minutes) if form != ";VALUE=DATE" else start + timedelta(days=1 + minutes % 3)
        lines += ["BEGIN:VEVENT", f"UID:e{i}@test", "DTSTAMP:20260101T000000Z",
                  f"DTSTART{when(start, form)}"]
        if extra == "duration":
            lines.append(f"DURATION:PT{minutes}M" if form != ";VALUE=DATE" else "DURATION:P1D")
        else:
            lines.append(f"DTEND{when(end, form)}")
        if extra == "weekly":
            lines.append("RRULE:FREQ=WEEKLY;COUNT=20")
        if extra == "alarm":
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x",
                      "TRIGGER;VALUE=DATE-TIME:20300101T000000Z", "END:VALARM"]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


events = st.lists(
    st.tuples(
        st.integers(0, 900 * 24 * 4).map(lambda q: BASE + timedelta(minutes=15 * q)),
        st.integers(15, 3 * 24 * 60),
        st.sampled_from(ZONES),
        st.sampled_from(("", "", "duration", "weekly", "alarm")),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(events, ranges())
def test_near_reads_the_same_busy_time_as_the_whole_feed(evs, window):
    text = feed(evs)
    assert icsread.busy_intervals(icsrange.near(text, window), window, BERLIN) == \
        icsread.busy_intervals(text, window, BERLIN)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NAMES), ranges(days=3 * 365))
def test_near_keeps_the_busy_time_of_every_test_calendar(name, window):
    text = (FILES / f"{name}.ics").read_text(encoding="utf-8")
    assert icsread.busy_intervals(icsrange.near(text, window), window, BERLIN) == \
        icsread.busy_intervals(text, window, BERLIN)


def test_far_single_events_are_cut_and_the_rest_kept():
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 14, tzinfo=UTC))
    far = [(BASE + timedelta(days=d), 60, "Z", "") for d in range(0, 400, 3) if abs(d - 151) > 3]
    near_one = (datetime(2026, 6, 1, 13, tzinfo=UTC), 60, "Z", "")
    series = (BASE, 60, ";TZID=Europe/Berlin", "weekly")
    cut = icsrange.near(feed([*far, near_one, series]), window)
    assert cut.count("BEGIN:VEVENT") == 2
    assert "BEGIN:VCALENDAR" in cut and cut.rstrip().endswith("END:VCALENDAR")


def test_quoted_or_odd_parameters_are_kept():
    text = feed([(BASE, 60, "Z", "")]).replace("DTSTART:", 'DTSTART;X-NOTE="a:b":')
    window = Interval(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 1


def test_folded_lines_are_unfolded_before_reading():
    text = feed([(BASE, 60, "Z", "")]).replace("DTSTART:2026", "DTSTART:20\r\n 26")
    window = Interval(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 0
