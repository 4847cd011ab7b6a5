"""icsrange.near: the events cut from a feed before the live check parses it (#19).

The property: for any range, the busy time read from ``near(text, range)`` is the busy
time read from the whole text, whatever the feed holds (series with overrides and
EXDATEs, all-day, floating and zoned times in odd zones, a VTIMEZONE after the events,
folded lines, CRLF or LF, huge descriptions, names in lower case or with spaces, UIDs
used twice, VALARMs, X-WR-TIMEZONE)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.intervals import Interval
from service.calendars import icsrange, icsread

from .cases import BERLIN, FILES

NAMES = sorted(p.stem for p in FILES.glob("*.ics"))
BASE = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = ("", "Z", ";TZID=Europe/Berlin", ";TZID=America/New_York", ";VALUE=DATE",
         ";TZID=Pacific/Kiritimati", ";TZID=Pacific/Niue", ";TZID=Odd/Almost-A-Day",
         ";TZID=W. Europe Standard Time")
EXTRAS = ("", "", "", "duration", "weekly", "weekly-exdate", "override", "alarm", "no-end",
          "cancelled", "lower-case", "spaced-name", "long-description", "bad-end-day")
#: A zone of the feed's own, 23:45 ahead of UTC (no real zone is, every reader must cope).
ODD_ZONE = ["BEGIN:VTIMEZONE", "TZID:Odd/Almost-A-Day", "BEGIN:STANDARD",
            "DTSTART:19700101T000000", "TZOFFSETFROM:+2345", "TZOFFSETTO:+2345",
            "END:STANDARD", "END:VTIMEZONE"]


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


def event_lines(i: int, uid: str, start: datetime, minutes: int, form: str, extra: str) -> list[str]:
    end = start + timedelta(minutes=minutes) if form != ";VALUE=DATE" else start + timedelta(days=1 + minutes % 3)
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART{when(start, form)}"]
    if extra == "duration":
        lines.append(f"DURATION:PT{minutes}M" if form != ";VALUE=DATE" else "DURATION:P1D")
    elif extra == "bad-end-day":
        lines.append(f"DTEND{when(end, form)}".replace(f"{end:%Y%m%d}", f"{end:%Y}0230"))
    elif extra != "no-end":
        lines.append(f"DTEND{when(end, form)}")
    if extra.startswith("weekly") or extra == "override":
        lines.append("RRULE:FREQ=WEEKLY;COUNT=20")
    if extra == "weekly-exdate":
        lines.append(f"EXDATE{when(start + timedelta(weeks=2), form)}")
    if extra == "alarm":
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x",
                  "TRIGGER;VALUE=DATE-TIME:20300101T000000Z", "END:VALARM"]
    if extra == "cancelled":
        lines.append("STATUS:CANCELLED")
    if extra == "lower-case":
        lines = [line if line.startswith(("BEGIN", "END")) else line[:3].lower() + line[3:] for line in lines]
    if extra == "spaced-name":
        lines = [line.replace("DTSTART", "DT START ", 1).replace("DTEND", "DTEND\t", 1) for line in lines]
    if extra == "long-description":
        lines.append("DESCRIPTION:" + "lorem ipsum, dolor; sit: amet " * 400)
    lines.append("END:VEVENT")
    if extra == "override":  # the third instance moved by a day and an hour
        moved = start + timedelta(weeks=2)
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                  f"RECURRENCE-ID{when(moved, form)}",
                  f"DTSTART{when(moved + timedelta(days=1, hours=1), form)}",
                  f"DTEND{when(moved + timedelta(days=1, hours=2), form)}", "END:VEVENT"]
    return lines


def fold(line: str, width: int) -> list[str]:
    """RFC 5545 folding at ``width`` characters (the continuation starts with a space)."""
    if len(line) <= width:
        return [line]
    return [line[:width]] + [" " + line[i : i + width - 1] for i in range(width, len(line), width - 1)]


def feed(events, *, newline: str = "\r\n", zones_after: bool = False, fold_width: int = 0,
         x_wr_timezone: bool = False) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//range//EN"]
    if x_wr_timezone:
        head.append("X-WR-TIMEZONE:Europe/Berlin")
    body: list[str] = []
    for i, (start, minutes, form, extra, uid) in enumerate(events):
        body += event_lines(i, f"e{i}@test" if uid is None else f"shared{uid}@test", start, minutes, form, extra)
    lines = head + (body + ODD_ZONE if zones_after else ODD_ZONE + body) + ["END:VCALENDAR"]
    if fold_width:  # (the first line stays whole: the reader looks for it as it is)
        lines = lines[:1] + [part for line in lines[1:] for part in fold(line, fold_width)]
    return newline.join(lines) + newline


events = st.lists(
    st.tuples(
        st.integers(0, 900 * 24 * 4).map(lambda q: BASE + timedelta(minutes=15 * q)),
        st.integers(15, 3 * 24 * 60),
        st.sampled_from(ZONES),
        st.sampled_from(EXTRAS),
        st.one_of(st.none(), st.none(), st.none(), st.integers(0, 2)),  # a UID used twice
    ),
    max_size=30,
)
layouts = st.fixed_dictionaries({
    "newline": st.sampled_from(("\r\n", "\n")),
    "zones_after": st.booleans(),
    "fold_width": st.sampled_from((0, 0, 75, 12)),
    "x_wr_timezone": st.booleans(),
})


def same_busy_time(text: str, window: Interval) -> None:
    assert icsread.busy_intervals(icsrange.near(text, window), window, BERLIN) == \
        icsread.busy_intervals(text, window, BERLIN)


@settings(max_examples=200, deadline=None)
@given(events, layouts, ranges())
def test_near_reads_the_same_busy_time_as_the_whole_feed(evs, layout, window):
    same_busy_time(feed(evs, **layout), window)


@settings(max_examples=60, deadline=None)
@given(events, ranges())
def test_near_reads_the_same_busy_time_near_the_events(evs, window):
    """Ranges placed at the events' own edges, where an exact cut errs first."""
    text = feed(evs)
    for start, minutes, *_ in evs[:5]:
        for edge in (start, start + timedelta(minutes=minutes)):
            for shift in (-60, -1, 0, 1):
                same_busy_time(text, Interval(edge + timedelta(minutes=shift),
                                              edge + timedelta(minutes=shift + 30)))
    same_busy_time(text, window)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NAMES), ranges(days=3 * 365))
def test_near_keeps_the_busy_time_of_every_test_calendar(name, window):
    same_busy_time((FILES / f"{name}.ics").read_text(encoding="utf-8"), window)


def test_a_big_feed_is_cut_to_the_events_around_the_range():
    """50 events an hour apart in UTC around the range and 2,000 far away: what is left
    is the events that touch the range, exactly (UTC times need no margin)."""
    rng = random.Random(19)
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 13, 10, tzinfo=UTC))
    around = [(window.start + timedelta(hours=h), 60, "Z", "", None) for h in range(-25, 25)]
    far = [(BASE + timedelta(days=rng.randrange(0, 140), minutes=15 * rng.randrange(96)), 90, "Z", "", None)
           for _ in range(2000)]
    text = feed(around + far)
    cut = icsrange.near(text, window)
    assert cut.count("BEGIN:VEVENT") == 2  # 12-13 and 13-14; 11-12 ends where it starts
    assert "BEGIN:VTIMEZONE" in cut and cut.endswith("END:VCALENDAR\r\n")
    same_busy_time(text, window)


def test_far_single_events_are_cut_and_the_rest_kept():
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 14, tzinfo=UTC))
    far = [(BASE + timedelta(days=d), 60, "Z", "", None) for d in range(0, 400, 3) if abs(d - 151) > 3]
    near_one = (datetime(2026, 6, 1, 13, tzinfo=UTC), 60, "Z", "", None)
    series = (BASE, 60, ";TZID=Europe/Berlin", "weekly", None)
    cut = icsrange.near(feed([*far, near_one, series]), window)
    assert cut.count("BEGIN:VEVENT") == 2
    assert "BEGIN:VCALENDAR" in cut and cut.rstrip().endswith("END:VCALENDAR")


def test_zoned_and_all_day_events_keep_a_day_of_margin():
    window = Interval(datetime(2026, 6, 10, 12, tzinfo=UTC), datetime(2026, 6, 10, 13, tzinfo=UTC))
    zoned = (datetime(2026, 6, 11, 11, tzinfo=UTC), 60, ";TZID=Pacific/Niue", "", None)
    day = (datetime(2026, 6, 9, 0, tzinfo=UTC), 0, ";VALUE=DATE", "", None)
    far = (datetime(2026, 6, 12, 0, tzinfo=UTC), 60, ";TZID=Europe/Berlin", "", None)
    assert icsrange.near(feed([zoned, day, far]), window).count("BEGIN:VEVENT") == 2


def test_quoted_or_odd_parameters_are_kept():
    text = feed([(BASE, 60, "Z", "", None)]).replace("DTSTART:", 'DTSTART;X-NOTE="a:b":')
    window = Interval(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 1


def test_folded_lines_are_read_unfolded():
    text = feed([(BASE, 60, "Z", "", None)]).replace("DTSTART:2026", "DTSTART:20\r\n 26")
    window = Interval(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 0


def test_regression_a_uid_used_twice_is_kept():
    """The reader counts only the first component of a UID (without recurrence): cutting
    a far first one made a second, near one count, busy where the whole feed was free."""
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 13, tzinfo=UTC))
    text = feed([(BASE, 60, "Z", "", 1), (window.start, 60, "Z", "", 1)])
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 2
    same_busy_time(text, window)


def test_regression_an_end_on_no_real_day_keeps_the_event():
    """An unreadable DTEND makes the reader hold the whole day of the start busy: a
    start hours after the range still touches it."""
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 13, tzinfo=UTC))
    text = feed([(datetime(2026, 6, 1, 20, tzinfo=UTC), 60, "Z", "bad-end-day", None)])
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 1
    same_busy_time(text, window)


def test_regression_a_name_with_spaces_is_read_as_the_reader_reads_it():
    """icalendar drops spaces from names: "RR ULE" is a rule, so the series is kept."""
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 13, tzinfo=UTC))
    text = feed([(datetime(2026, 5, 4, 12, tzinfo=UTC), 60, "Z", "weekly", None)]).replace("RRULE", "RR ULE")
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 1
    same_busy_time(text, window)


def test_a_vevent_inside_a_vevent_is_kept():
    window = Interval(datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 13, tzinfo=UTC))
    inner = event_lines(1, "inner@test", window.start, 60, "Z", "")
    outer = event_lines(0, "outer@test", BASE, 60, "Z", "")
    text = feed([]).replace("END:VCALENDAR", "\r\n".join(outer[:-1] + inner + outer[-1:]) + "\r\nEND:VCALENDAR")
    assert icsrange.near(text, window).count("BEGIN:VEVENT") == 2
    same_busy_time(text, window)
