"""Parsing and formatting weekly windows."""

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.model import Window
from booking.windows import format_windows, parse_weekday, parse_windows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon", 0),
        ("Tue", 1),
        ("WEDNESDAY", 2),
        (" thursday ", 3),
        ("fri", 4),
        ("Saturday", 5),
        ("sun", 6),
    ],
)
def test_parse_weekday(text, expected):
    assert parse_weekday(text) == expected


@pytest.mark.parametrize("text", ["funday", "", "tues", "m", "7"])
def test_parse_weekday_rejects(text):
    with pytest.raises(ValueError, match="unknown weekday"):
        parse_weekday(text)


def test_parse_two_days():
    assert parse_windows("tue 16:00-18:00,thu 10:00-12:00") == (
        Window(1, time(16), time(18)),
        Window(3, time(10), time(12)),
    )


def test_parse_same_day_with_spaces_and_short_hours():
    assert parse_windows("mon 9:00-12:00, mon 14:00-17:30") == (
        Window(0, time(9), time(12)),
        Window(0, time(14), time(17, 30)),
    )


def test_parse_full_names_any_case_sorted():
    assert parse_windows("Thursday 10:00-12:00 ,  MONDAY 08:15 - 09:45") == (
        Window(0, time(8, 15), time(9, 45)),
        Window(3, time(10), time(12)),
    )


def test_touching_windows_are_allowed():
    assert len(parse_windows("mon 09:00-12:00,mon 12:00-13:00")) == 2


def test_format_is_canonical():
    text = "Thursday 10:00-12:00, mon 9:00-12:00, mon 14:00-17:30"
    assert format_windows(parse_windows(text)) == (
        "mon 09:00-12:00,mon 14:00-17:30,thu 10:00-12:00"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("funday 10:00-12:00", r"unknown weekday 'funday'"),
        ("mon 25:00-26:00", r"bad time '25:00' in 'mon 25:00-26:00'"),
        ("mon 10:61-11:00", r"bad time '10:61'"),
        ("mon 10:00-11:5", r"bad time '11:5' in 'mon 10:00-11:5'"),
        ("mon 10:00-24:00", r"bad time '24:00' in 'mon 10:00-24:00' \(hours 0-23"),
        ("mon 10:60-11:00", r"bad time '10:60' in 'mon 10:60-11:00' \(hours 0-23, minutes 0-59\)"),
        ("mon 10-11", r"bad time '10'"),
        ("mon 12:00-11:00", r"'mon 12:00-11:00' must end after it starts"),
        ("mon 10:00-10:00", r"must end after it starts"),
        ("", r"no windows given"),
        ("   ", r"no windows given"),
        ("mon 09:00-12:00,", r"empty window"),
        ("mon 9:00-12:00, mon 11:00-13:00", r"'mon 09:00-12:00' and 'mon 11:00-13:00' overlap"),
        ("tue 10:00-12:00,tue 10:00-12:00", r"overlap"),
        ("mon9:00-12:00", r"bad window 'mon9:00-12:00'"),
        ("mon 09:00", r"bad window"),
    ],
)
def test_parse_rejects_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_windows(text)
    assert "\n" not in str(info.value)


def test_format_rejects_sub_minute_times():
    with pytest.raises(ValueError, match="whole minute"):
        format_windows([Window(0, time(9, 0, 30), time(10))])


@st.composite
def window_sets(draw):
    """Non-overlapping windows on random days, as ``parse_windows`` returns them."""
    windows = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1)):
        edges = sorted(draw(st.sets(st.integers(0, 24 * 60 - 1), min_size=2, max_size=8)))
        for start, end in zip(edges[::2], edges[1::2], strict=False):
            windows.append(Window(weekday, time(*divmod(start, 60)), time(*divmod(end, 60))))
    return tuple(sorted(windows))


@settings(max_examples=200, deadline=None)
@given(window_sets())
def test_format_parse_round_trip(windows):
    text = format_windows(windows)
    assert parse_windows(text) == windows
    assert format_windows(parse_windows(text)) == text
