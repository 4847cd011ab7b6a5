"""booking.walltime.wall_interval: a wall-clock span on one day as UTC, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from booking.walltime import wall_interval, wall_to_utc

BERLIN = ZoneInfo("Europe/Berlin")
SPRING = date(2026, 3, 29)  # 02:00 -> 03:00
AUTUMN = date(2026, 10, 25)  # 03:00 -> 02:00


def test_edges_are_wall_to_utc():
    span = wall_interval(SPRING, time(2, 30), time(4, 0), BERLIN)
    assert span == (wall_to_utc(SPRING, time(2, 30), BERLIN), wall_to_utc(SPRING, time(4, 0), BERLIN))
    assert span.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the transition


def test_a_span_wholly_inside_the_gap_does_not_exist():
    assert wall_interval(SPRING, time(2, 0), time(2, 45), BERLIN) is None


def test_a_span_in_the_autumn_fold_starts_at_the_first_occurrence():
    span = wall_interval(AUTUMN, time(2, 30), time(3, 0), BERLIN)
    assert span.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert span.end == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
