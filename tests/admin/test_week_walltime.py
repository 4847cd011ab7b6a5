"""The week picture places agreed windows with the engine's wall-clock conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from booking.availability import free_slots
from booking.walltime import wall_to_utc
from service.usecases import weekview

MONDAY = date(2026, 3, 23)  # the week of the spring-forward Sunday, 2026-03-29


def windows(data: weekview.WeekData) -> list:
    return sorted(b.interval for b in data.blocks if b.kind == "window")


def test_week_picture_puts_a_gap_time_where_the_engine_does(frozen, lawyer, make_client):
    """Berlin 02:30 on 2026-03-29 does not exist: the engine starts the window at 03:00
    (the transition), the week picture drew it from 03:30."""
    client, _ = make_client(lawyer=lawyer, windows="sun 02:30-04:00", notice_hours=0,
                            duration_min=30, prep_min=0)
    (shown,) = windows(weekview.gather(lawyer, MONDAY))
    engine_start = wall_to_utc(date(2026, 3, 29), time(2, 30), lawyer.zone)
    assert shown.start == engine_start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    slots = free_slots(client.agreement(), lawyer.rules(), client=client.id,
                       now=datetime(2026, 3, 23, 8, 0, tzinfo=UTC), end=shown.end)
    assert slots[0].start == shown.start and slots[-1].end == shown.end


def test_week_picture_leaves_out_a_window_wholly_inside_the_gap(frozen, lawyer, make_client):
    """A window 02:00-02:45 on the spring-forward night offers nothing; it was drawn as 45 minutes."""
    make_client(lawyer=lawyer, windows="sun 02:00-02:45,mon 10:00-11:00", duration_min=30,
                prep_min=0)
    shown = windows(weekview.gather(lawyer, MONDAY))
    assert [s.start.date() for s in shown] == [MONDAY]
    assert shown[0].end - shown[0].start == timedelta(hours=1)
