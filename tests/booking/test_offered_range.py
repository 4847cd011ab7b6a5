"""booking.availability.offered_range: the one cut of call starts by notice, horizon and range."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.availability import free_slots, offered_range
from tests.booking.booking_testkit import NOW, make_agreement, make_lawyer

HOUR = timedelta(hours=1)


def test_from_now_plus_notice_to_now_plus_horizon():
    low, high = offered_range(NOW, 24 * HOUR, timedelta(days=30))
    assert (low, high) == (NOW + 24 * HOUR, NOW + timedelta(days=30))
    assert low.tzinfo is UTC and high.tzinfo is UTC


def test_cut_by_start_and_end_given_in_any_zone():
    tokyo = ZoneInfo("Asia/Tokyo")
    start, end = (NOW + timedelta(days=2)).astimezone(tokyo), (NOW + timedelta(days=3)).astimezone(tokyo)
    assert offered_range(NOW, HOUR, timedelta(days=30), start, end) == (start, end)
    assert offered_range(NOW, HOUR, timedelta(days=30), NOW - HOUR, None)[0] == NOW + HOUR


def test_never_before_now():
    assert offered_range(NOW, -HOUR, timedelta(days=1))[0] == NOW
    assert offered_range(NOW, timedelta(0), timedelta(days=1), NOW - HOUR)[0] == NOW


@given(
    notice_h=st.integers(0, 60),
    horizon=st.integers(1, 10),
    a=st.integers(-3 * 24, 12 * 24),
    b=st.integers(-3 * 24, 12 * 24),
)
def test_free_slots_with_a_range_are_the_slots_inside_offered_range(notice_h, horizon, a, b):
    agreement = make_agreement("mon 09:00-12:00,tue 10:00-12:00,thu 14:00-16:00",
                               notice=notice_h * HOUR, horizon_days=horizon)
    start, end = NOW + a * HOUR, NOW + b * HOUR
    every = free_slots(agreement, make_lawyer(), client="me", now=NOW)
    low, high = offered_range(NOW, agreement.notice, timedelta(days=horizon), start, end)
    ranged = free_slots(agreement, make_lawyer(), client="me", now=NOW, start=start, end=end)
    assert ranged == [slot for slot in every if low <= slot.start < high]


@pytest.mark.parametrize("naive", ["now", "start", "end"])
def test_a_naive_time_is_refused_naming_the_argument(naive):
    times = {"now": NOW, "start": NOW + HOUR, "end": NOW + 2 * HOUR}
    times[naive] = times[naive].replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"^{naive} must be a timezone-aware datetime"):
        offered_range(times["now"], HOUR, timedelta(days=1), times["start"], times["end"])
