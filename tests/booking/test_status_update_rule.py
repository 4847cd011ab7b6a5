"""booking.status_updates: which written status update is owed on a given day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.status_updates import DUE, EARLY, OVERDUE, SOON, state

FRI = 4
FRIDAY = date(2026, 3, 13)
SINCE = date(2026, 2, 1)


@pytest.mark.parametrize(
    ("today", "last_sent", "expected"),
    [
        (FRIDAY, None, (DUE, FRIDAY)),
        (FRIDAY, FRIDAY - EARLY, None),  # Wednesday's letter counts for Friday
        (FRIDAY, FRIDAY - EARLY - timedelta(days=1), (DUE, FRIDAY)),  # Tuesday's does not
        (FRIDAY + timedelta(days=1), None, (OVERDUE, FRIDAY)),
        (FRIDAY - EARLY, FRIDAY - timedelta(days=7), (SOON, FRIDAY)),
        (FRIDAY - EARLY - timedelta(days=1), FRIDAY - timedelta(days=7), None),
    ],
)
def test_state_on_the_days_around_friday(today, last_sent, expected):
    assert state(FRI, last_sent, SINCE, today) == expected


def test_nothing_is_owed_before_the_first_status_day_after_the_start():
    assert state(FRI, None, FRIDAY, FRIDAY) is None
    assert state(FRI, None, FRIDAY - timedelta(days=1), FRIDAY) == (DUE, FRIDAY)


@given(
    weekday=st.integers(0, 6),
    today=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    sent_ago=st.none() | st.integers(0, 40),
)
def test_the_due_day_is_the_agreed_weekday_and_an_update_sent_today_settles_it(weekday, today, sent_ago):
    last_sent = None if sent_ago is None else today - timedelta(days=sent_ago)
    result = state(weekday, last_sent, SINCE, today)
    if result is not None:
        kind, due = result
        assert due.weekday() == weekday
        assert (kind == DUE) == (due == today)
        assert kind != SOON or timedelta(0) < due - today <= EARLY
    assert state(weekday, today, SINCE, today) is None


def test_an_agreement_starting_on_the_status_day_owes_nothing_that_day():
    """The first update is due on the first status day *after* the start, not on it."""
    assert state(FRI, None, FRIDAY, FRIDAY - EARLY) is None
    assert state(FRI, None, FRIDAY - timedelta(days=1), FRIDAY - EARLY) == (SOON, FRIDAY)


def test_next_due_is_the_owed_day_or_the_first_uncovered_status_day():
    from booking.status_updates import next_due

    mon = date(2026, 3, 2)
    assert next_due(4, None, date(2026, 3, 1), mon) == date(2026, 3, 6)  # Friday this week
    assert next_due(4, date(2026, 3, 5), date(2026, 3, 1), mon) == date(2026, 3, 13)  # Thursday covered Friday
    assert next_due(4, None, date(2026, 2, 1), mon) == date(2026, 2, 27)  # overdue: the missed one
