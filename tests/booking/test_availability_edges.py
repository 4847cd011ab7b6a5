"""Edges the table tests pass by: full caps, range edges, clamps and input names.

Fixed ``NOW`` (Monday 2026-06-01 08:00 Berlin) as everywhere in ``tests/booking``.
"""

from datetime import date, timedelta

import pytest
from booking_testkit import HOUR, NOW, at, book, busy, local_starts, make_agreement, make_lawyer

from booking.availability import check_start, free_slots
from booking.model import BookedCall
from booking.terms import AgreementError

TUESDAY = ["2026-06-02 10:00", "2026-06-02 10:30", "2026-06-02 11:00", "2026-06-02 11:30"]
JUNE_WEEKS = "tue 10:00-10:30,thu 14:00-14:30"
FIRST_WEEK = ["2026-06-02 10:00", "2026-06-04 14:00"]


def slots(agreement, lawyer=None, **kw):
    kw.setdefault("client", "me")
    kw.setdefault("now", NOW)
    lawyer = lawyer or make_lawyer()
    return local_starts(free_slots(agreement, lawyer, **kw), lawyer.timezone)


def first_week(agreement, lawyer=None, bookings=()):
    return slots(agreement, lawyer, bookings=bookings, end=at("2026-06-08 00:00"))


# --- caps count every booking, not just "some" -------------------------------------------


def test_a_daily_cap_of_two_is_full_with_two_calls_booked():
    """Two other bookings on Thursday fill a lawyer's cap of two calls a day."""
    booked = [book("2026-06-04 09:00", client="a"), book("2026-06-04 17:00", client="b")]
    lawyer = make_lawyer(max_per_day=2)
    assert first_week(make_agreement(JUNE_WEEKS), lawyer, booked) == FIRST_WEEK[:1]
    assert first_week(make_agreement(JUNE_WEEKS), lawyer, booked[:1]) == FIRST_WEEK


def test_a_weekly_cadence_of_two_is_full_with_two_of_my_calls():
    """My two calls on Monday and Wednesday use up an agreed two calls a week."""
    booked = [book("2026-06-01 16:00", client="me"), book("2026-06-03 16:00", client="me")]
    agreement = make_agreement(JUNE_WEEKS, max_per_week=2)
    assert first_week(agreement, bookings=booked) == []
    assert first_week(agreement, bookings=booked[:1]) == FIRST_WEEK


def test_a_weekly_lawyer_cap_of_two_is_full_with_two_calls_booked():
    """Two bookings of any clients in the week fill the lawyer's cap of two a week."""
    booked = [book("2026-06-01 16:00", client="a"), book("2026-06-03 16:00", client="b")]
    lawyer = make_lawyer(max_per_week=2)
    assert first_week(make_agreement(JUNE_WEEKS), lawyer, booked) == []
    assert first_week(make_agreement(JUNE_WEEKS), lawyer, booked[:1]) == FIRST_WEEK


# --- a range still sees the busy time around its edges ----------------------------------


def test_a_range_start_still_sees_busy_time_in_the_first_slots_prep():
    """Busy time just before the range start blocks the prep of the first slot in the range."""
    agreement = make_agreement(prep=timedelta(minutes=30))
    blocked = [busy("2026-06-02 09:40", "2026-06-02 09:50")]
    got = slots(agreement, start=at("2026-06-02 10:00"), end=at("2026-06-03 00:00"), busy=blocked)
    assert got == TUESDAY[1:]


def test_a_range_end_still_sees_busy_time_in_the_last_slots_call_and_buffer():
    """Busy time after the range end blocks the buffer of the last slot starting in the range."""
    agreement = make_agreement(buffer_after=timedelta(minutes=15))
    blocked = [busy("2026-06-02 12:05", "2026-06-02 12:10")]
    got = slots(agreement, start=at("2026-06-02 00:00"), end=at("2026-06-02 11:31"), busy=blocked)
    assert got == TUESDAY[:3]


# --- now, the notice and the preparation day ----------------------------------------------


def test_a_start_exactly_now_is_not_in_the_past():
    """With no notice, a call may start at the very instant of ``now``."""
    agreement = make_agreement("mon 08:00-09:00", notice=timedelta(0))
    slot = check_start(agreement, make_lawyer(), client="me", now=NOW, start=NOW)
    assert slot.start == NOW
    assert slots(agreement, end=at("2026-06-01 12:00"))[0] == "2026-06-01 08:00"


def test_a_negative_notice_is_refused_by_listing_and_checking_alike():
    """A notice below zero is outside the bounds table: neither read offers anything."""
    agreement = make_agreement("mon 07:00-09:00", notice=-2 * HOUR, horizon_days=1)
    with pytest.raises(AgreementError, match="^notice must be at least 0 hours"):
        slots(agreement)
    with pytest.raises(AgreementError, match="^notice must be at least 0 hours"):
        check_start(agreement, make_lawyer(), client="me", now=NOW, start=at("2026-06-01 08:00"))


def test_no_working_day_for_400_days_offers_nothing_even_with_a_longer_horizon():
    """The preparation day is looked for 400 days ahead; past that nothing can be booked."""
    saturday = at("2026-06-06 08:00")
    mondays_off = frozenset(date(2026, 6, 8) + timedelta(weeks=n) for n in range(57))
    assert max(mondays_off) == date(2027, 7, 5)  # 2027-07-12 is the 401st day after Saturday
    lawyer = make_lawyer(working_days=frozenset({0}), days_off=mondays_off)
    agreement = make_agreement(
        "mon 10:00-11:00", notice=HOUR, notice_next_working_day=True, horizon_days=420
    )
    assert free_slots(agreement, lawyer, client="me", now=saturday) == []


# --- naive input is refused by name ---------------------------------------------------------


@pytest.mark.parametrize("edge", ["start", "end"])
def test_a_naive_range_edge_is_refused_by_name(edge):
    naive = {edge: at("2026-06-02 10:00").replace(tzinfo=None)}
    with pytest.raises(ValueError, match=f"^{edge} must be a timezone-aware datetime"):
        free_slots(make_agreement(), make_lawyer(), client="me", now=NOW, **naive)


def test_a_naive_booking_start_is_refused_by_name():
    good = book("2026-06-02 10:00")
    naive = BookedCall(
        start=good.start.replace(tzinfo=None), end=good.end, blocked=good.blocked, client="a"
    )
    with pytest.raises(ValueError, match="^booking start must be a timezone-aware datetime"):
        free_slots(make_agreement(), make_lawyer(), client="me", now=NOW, bookings=[naive])


def test_a_zero_duration_is_refused_even_with_a_step():
    """The duration is checked itself, not only through the step it defaults."""
    with pytest.raises(ValueError, match="^duration must be at least 5 minutes, not 0"):
        free_slots(
            make_agreement(duration=timedelta(0), step=timedelta(minutes=15)),
            make_lawyer(),
            client="me",
            now=NOW,
        )
