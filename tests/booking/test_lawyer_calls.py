"""Property tests of the lawyer's check (``booking.lawyer_calls``): without overrides it
agrees with the client's check; with them it refuses only the past and other bookings,
and whatever it accepts never overlaps another booking (what the database enforces)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from booking.availability import SlotRefused, check_start
from booking.lawyer_calls import check_lawyer_start
from tests.booking.test_availability_properties import SETTINGS, Scenario, scenarios

OFFSETS = st.integers(min_value=-2 * 24 * 4, max_value=40 * 24 * 4).map(lambda n: timedelta(minutes=15 * n))


def lawyer_check(s: Scenario, start, **overrides):
    return check_lawyer_start(s.agreement, s.lawyer, client="me", now=s.now, busy=s.busy, bookings=s.bookings,
                              start=start, **overrides)


def outcome(check, *args, **kwargs):
    try:
        return check(*args, **kwargs)
    except SlotRefused as exc:
        return exc.reason


@SETTINGS
@given(scenarios(), OFFSETS)
def test_without_overrides_it_accepts_exactly_what_the_client_may_book(s: Scenario, offset):
    start = s.now + offset
    client = outcome(check_start, s.agreement, s.lawyer, client="me", now=s.now, busy=s.busy,
                     bookings=s.bookings, start=start)
    lawyer = outcome(lawyer_check, s, start)
    assert isinstance(client, str) == isinstance(lawyer, str)
    if not isinstance(client, str):
        assert client == lawyer


@SETTINGS
@given(scenarios(), OFFSETS)
def test_with_every_override_only_the_past_and_other_calls_refuse(s: Scenario, offset):
    start = s.now + offset
    result = outcome(lawyer_check, s, start, outside_terms=True, over_busy=True)
    if isinstance(result, str):
        assert result in ("past", "other_booking")
        return
    for booking in s.bookings:
        assert not (result.prep_start < booking.blocked.end and booking.blocked.start < result.blocked_end)
    assert result.start >= s.now
