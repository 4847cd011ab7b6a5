"""booking.changes: until when a client may move or cancel a call themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from booking.changes import change_deadline, may_change

START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
NOTICE = timedelta(hours=24)


def test_the_deadline_is_the_notice_before_the_call():
    assert change_deadline(START, NOTICE) == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert change_deadline(START, timedelta(0)) == START


def test_exactly_at_the_deadline_it_is_too_late():
    deadline = change_deadline(START, NOTICE)
    assert may_change(active=True, start=START, notice=NOTICE, now=deadline - timedelta(seconds=1)) is None
    assert may_change(active=True, start=START, notice=NOTICE, now=deadline) == "too_late"


def test_a_cancelled_call_cannot_be_changed_whenever_it_is():
    early = START - timedelta(days=10)
    assert may_change(active=False, start=START, notice=NOTICE, now=early) == "cancelled"
    assert may_change(active=False, start=START, notice=NOTICE, now=START) == "cancelled"


@given(minutes=st.integers(-3 * 24 * 60, 3 * 24 * 60), notice_hours=st.integers(0, 720))
def test_may_change_is_exactly_now_before_the_deadline(minutes, notice_hours):
    notice = timedelta(hours=notice_hours)
    now = START + timedelta(minutes=minutes)
    allowed = may_change(active=True, start=START, notice=notice, now=now) is None
    assert allowed == (now < change_deadline(START, notice))
