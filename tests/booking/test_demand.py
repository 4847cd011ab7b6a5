"""The demand figures against a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from booking.demand import week_demand
from booking.intervals import Interval

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def spans(pairs):
    return [Interval(T0 + timedelta(minutes=a), T0 + timedelta(minutes=a + n)) for a, n in pairs]


def minutes(intervals):
    return {m for i in intervals for m in range(int((i.start - T0) / timedelta(minutes=1)),
                                                 int((i.end - T0) / timedelta(minutes=1)))}


def test_overlapping_windows_count_once_and_busy_outside_windows_does_not_count():
    windows = spans([(600, 120), (660, 120)])  # 10:00-12:00 and 11:00-13:00: 3 h together
    taken = spans([(570, 60), (700, 10), (705, 10), (900, 60)])
    demand = week_demand(windows, taken)
    assert (demand.taken_minutes, demand.agreed_minutes) == (30 + 15, 180)


@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 300)), max_size=8),
       st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 300)), max_size=12))
def test_figures_equal_a_minute_by_minute_count(windows, taken):
    w, t = spans(windows), spans(taken)
    demand = week_demand(w, t)
    assert demand.agreed_minutes == len(minutes(w))
    assert demand.taken_minutes == len(minutes(w) & minutes(t))
