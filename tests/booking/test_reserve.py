"""Reserved urgent time in the domain: instances, holding, the release instant across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from booking import reserve
from booking.windows import parse_windows

BERLIN = ZoneInfo("Europe/Berlin")
DAY = timedelta(hours=24)


def test_release_is_24_real_hours_before_across_the_spring_change():
    """Sunday 29 March 2026 17:00 CEST is 15:00 UTC; 24 h earlier is Saturday 16:00 CET."""
    windows = parse_windows("sun 17:00-17:30")
    (sunday,) = reserve.occurrences(windows, BERLIN, datetime(2026, 3, 29, tzinfo=UTC),
                                    datetime(2026, 3, 30, tzinfo=UTC))
    assert sunday.start == datetime(2026, 3, 29, 15, tzinfo=UTC)
    released_at = datetime(2026, 3, 28, 15, tzinfo=UTC)
    assert reserve.next_release(windows, BERLIN, datetime(2026, 3, 27, tzinfo=UTC), DAY) == released_at
    assert reserve.held([sunday], released_at - timedelta(seconds=1), DAY) == [sunday]
    assert reserve.held([sunday], released_at, DAY) == []
    # The next one (a week on) is released next.
    assert reserve.next_release(windows, BERLIN, released_at, DAY) == datetime(2026, 4, 4, 15, tzinfo=UTC)


def test_no_reserve_no_release():
    assert reserve.next_release((), BERLIN, datetime(2026, 3, 2, tzinfo=UTC), DAY) is None


def test_date_windows_cover_the_range_in_the_lawyers_days():
    windows = parse_windows("tue 17:00-17:30,thu 17:00-18:00")
    got = reserve.date_windows(windows, BERLIN, datetime(2026, 3, 2, 8, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC))
    assert [(w.day.isoformat(), w.start.isoformat(timespec="minutes")) for w in got] == [
        ("2026-03-03", "17:00"), ("2026-03-05", "17:00")]


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
       st.integers(0, 72))
def test_held_changes_only_at_release_instants(now, hours):
    """Between ``now`` and the next release nothing is released (the cache key relies on it)."""
    windows = parse_windows("tue 17:00-17:30,sun 02:30-03:00")
    release = timedelta(hours=hours)
    later = reserve.next_release(windows, BERLIN, now, release)
    instances = reserve.occurrences(windows, BERLIN, now - timedelta(days=2), now + timedelta(days=12))
    assert later is not None and later > now
    just_before = later - timedelta(microseconds=1)
    assert reserve.held(instances, now, release) == reserve.held(instances, just_before, release)
    assert len(reserve.held(instances, later, release)) < len(reserve.held(instances, now, release))

