"""The week's committed load, computed by hand."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from booking.load import Commitment, committed, over_capacity, replaced


def test_one_call_a_week_of_45_plus_30_and_two_letters_is_1_h_55_min():
    weekly = Commitment("boris", duration=45, prep=30, max_per_week=1, letters_per_week=1)
    letters_only = Commitment("vera", duration=30, prep=15, letters_per_week=1)  # no cadence agreed
    load = committed([weekly, letters_only], letter_minutes=20)
    assert (load.calls, load.letters, load.total) == (75, 40, 115)  # 1 h 55 min
    assert load.uncapped == ("vera",)


def test_monthly_cadence_is_spread_over_the_weeks_of_a_year_and_the_smaller_cap_wins():
    monthly = Commitment("a", duration=60, max_per_month=2)
    assert monthly.calls_per_week() == Fraction(24, 52)
    assert committed([monthly]).total == round(Fraction(24, 52) * 60)  # 28 min
    both = Commitment("b", duration=60, max_per_week=3, max_per_month=4)
    assert both.calls_per_week() == Fraction(48, 52)


def test_over_capacity_says_by_how_much():
    load = committed([Commitment("a", duration=45, prep=30, buffer=15, max_per_week=2)])
    assert load.total == 180
    assert over_capacity(load, 150) == 30
    assert over_capacity(load, 180) is None and over_capacity(load, None) is None


def test_replaced_swaps_the_agreement_being_edited():
    old = Commitment("a", duration=30, max_per_week=1)
    other = Commitment("b", duration=30, max_per_week=1)
    new = Commitment("a", duration=60, max_per_week=2)
    assert committed(replaced([old, other], new)).total == 150


@given(st.lists(st.tuples(st.integers(5, 240), st.integers(0, 120), st.integers(0, 60),
                          st.none() | st.integers(0, 7), st.none() | st.integers(0, 30), st.integers(0, 1)),
                max_size=12), st.integers(0, 120))
def test_total_is_the_rounded_exact_sum_and_parts_add_up(rows, letter_minutes):
    items = [Commitment(i, *row[:3], max_per_week=row[3], max_per_month=row[4], letters_per_week=row[5])
             for i, row in enumerate(rows)]
    load = committed(items, letter_minutes)
    exact = sum((c.minutes(letter_minutes) for c in items), Fraction(0))
    assert load.total == round(exact) and load.calls + load.letters == load.total
    assert set(load.uncapped) == {c.key for c in items if c.calls_per_week() is None}
