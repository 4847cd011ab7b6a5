"""Windows are wall-clock times: DST changes, odd offsets and the date line."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from booking_testkit import at, book, local_dates, make_agreement, make_lawyer, utc

from booking.availability import SlotRefused, check_start, free_slots
from booking.intervals import Interval
from booking.model import Agreement, DateWindow
from booking.walltime import wall_to_utc

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MOSCOW = ZoneInfo("Europe/Moscow")
HALF_HOUR = timedelta(minutes=30)


def day_slots(zone, day, windows, duration=HALF_HOUR):
    """UTC starts (``"MM-DD HH:MM"``) offered on the lawyer-local ``day``."""
    agreement = make_agreement(windows, duration=duration, notice=timedelta(0), horizon_days=14)
    lawyer = make_lawyer(zone)
    now = at(f"{day} 00:00", zone) - timedelta(days=3)
    slots = free_slots(
        agreement,
        lawyer,
        client="me",
        now=now,
        start=at(f"{day} 00:00", zone),
        end=at(f"{day} 00:00", zone) + timedelta(days=1),
    )
    assert all(s.start.tzinfo is UTC for s in slots)
    assert len({s.start for s in slots}) == len(slots)
    for slot in slots:  # check_start agrees on every one
        assert check_start(agreement, lawyer, client="me", now=now, start=slot.start) == slot
    return [s.start.strftime("%m-%d %H:%M") for s in slots]


SPRING = [
    # Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    (
        BERLIN,
        "2026-03-29",
        "sun 01:00-04:00",
        ["03-29 00:00", "03-29 00:30", "03-29 01:00", "03-29 01:30"],
    ),
    (BERLIN, "2026-03-29", "sun 02:30-04:00", ["03-29 01:00", "03-29 01:30"]),
    (BERLIN, "2026-03-29", "sun 02:00-02:59", []),  # entirely inside the gap
    # New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    (
        NEW_YORK,
        "2026-03-08",
        "sun 01:00-04:00",
        ["03-08 06:00", "03-08 06:30", "03-08 07:00", "03-08 07:30"],
    ),
    (NEW_YORK, "2026-03-08", "sun 02:30-04:00", ["03-08 07:00", "03-08 07:30"]),
    # Moscow has no DST: the same windows are three and one and a half hours long.
    (
        MOSCOW,
        "2026-03-29",
        "sun 01:00-04:00",
        ["03-28 22:00", "03-28 22:30", "03-28 23:00", "03-28 23:30", "03-29 00:00", "03-29 00:30"],
    ),
    (MOSCOW, "2026-03-29", "sun 02:30-04:00", ["03-28 23:30", "03-29 00:00", "03-29 00:30"]),
]

AUTUMN = [
    # Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00 UTC): 02:xx twice.
    (
        BERLIN,
        "2026-10-25",
        "sun 01:00-03:00",
        ["10-24 23:00", "10-24 23:30", "10-25 00:00", "10-25 00:30", "10-25 01:00", "10-25 01:30"],
    ),
    # New York 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00 UTC): 01:xx twice.
    (
        NEW_YORK,
        "2026-11-01",
        "sun 01:00-03:00",
        ["11-01 05:00", "11-01 05:30", "11-01 06:00", "11-01 06:30", "11-01 07:00", "11-01 07:30"],
    ),
    (
        MOSCOW,
        "2026-10-25",
        "sun 01:00-03:00",
        ["10-24 22:00", "10-24 22:30", "10-24 23:00", "10-24 23:30"],
    ),
]


@pytest.mark.parametrize(("zone", "day", "windows", "expected"), SPRING + AUTUMN)
def test_windows_across_dst_changes(zone, day, windows, expected):
    assert day_slots(zone, day, windows) == expected


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (BERLIN, "2026-03-29", ["03-29 00:00", "03-29 01:00"]),  # 01:00 CET, 03:00 CEST
        (BERLIN, "2026-10-25", ["10-24 23:00", "10-25 00:00", "10-25 01:00"]),
        (NEW_YORK, "2026-03-08", ["03-08 06:00", "03-08 07:00"]),
        (NEW_YORK, "2026-11-01", ["11-01 05:00", "11-01 06:00", "11-01 07:00"]),
    ],
)
def test_hour_long_calls_step_in_absolute_time(zone, day, expected):
    windows = "sun 01:00-04:00" if day[5:7] == "03" else "sun 01:00-03:00"
    assert day_slots(zone, day, windows, duration=timedelta(hours=1)) == expected


def test_autumn_fold_offers_each_wall_time_once_per_instant():
    """In New York's fold both 01:00 EDT and 01:00 EST are offered: different instants."""
    starts = day_slots(NEW_YORK, "2026-11-01", "sun 01:00-03:00", duration=timedelta(hours=1))
    walls = [
        datetime.strptime(f"2026-{s}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC).astimezone(NEW_YORK)
        for s in starts
    ]
    assert [w.strftime("%H:%M %Z") for w in walls] == ["01:00 EDT", "01:00 EST", "02:00 EST"]


def test_weekly_window_keeps_its_wall_time_across_the_change():
    agreement = make_agreement("fri 10:00-10:30", notice=timedelta(0), horizon_days=21)
    slots = free_slots(agreement, make_lawyer(BERLIN), client="me", now=utc("2026-03-16 00:00"))
    assert [s.start.astimezone(BERLIN).strftime("%m-%d %H:%M %Z") for s in slots] == [
        "03-20 10:00 CET",
        "03-27 10:00 CET",
        "04-03 10:00 CEST",
    ]
    assert [s.start.hour for s in slots] == [9, 9, 8]  # in UTC


def test_check_start_refuses_the_old_wall_time_in_the_gap():
    """02:00 CET on 29 March does not exist on the wall; 01:00 UTC is 03:00 CEST."""
    agreement = make_agreement("sun 02:30-04:00", notice=timedelta(0))
    lawyer = make_lawyer(BERLIN)
    now = utc("2026-03-26 00:00")
    assert check_start(agreement, lawyer, client="me", now=now, start=utc("2026-03-29 01:00"))
    with pytest.raises(SlotRefused) as info:
        check_start(agreement, lawyer, client="me", now=now, start=utc("2026-03-29 00:30"))
    assert info.value.reason == "outside_windows"


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected"),
    [
        ("Europe/Berlin", date(2026, 3, 29), time(2, 30), "2026-03-29 01:00"),  # gap
        ("Europe/Berlin", date(2026, 3, 29), time(2, 0), "2026-03-29 01:00"),  # gap start
        ("Europe/Berlin", date(2026, 3, 29), time(3, 0), "2026-03-29 01:00"),  # after gap
        ("Europe/Berlin", date(2026, 10, 25), time(2, 30), "2026-10-25 00:30"),  # fold: 1st
        ("America/New_York", date(2026, 3, 8), time(2, 59), "2026-03-08 07:00"),
        # Lord Howe moves its clock by 30 minutes: 02:00 -> 02:30 (+10:30 -> +11).
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), "2026-10-03 15:30"),
        # Chile springs forward at midnight: 00:00 -> 01:00 (-04 -> -03).
        ("America/Santiago", date(2026, 9, 6), time(0, 0), "2026-09-06 04:00"),
        # Samoa skipped 30 December 2011 altogether.
        ("Pacific/Apia", date(2011, 12, 30), time(10, 0), "2011-12-30 10:00"),
        ("Asia/Kathmandu", date(2026, 6, 1), time(9, 0), "2026-06-01 03:15"),
    ],
)
def test_wall_to_utc(zone, day, wall, expected):
    assert wall_to_utc(day, wall, ZoneInfo(zone)) == utc(expected)


def test_a_skipped_day_offers_nothing():
    apia = ZoneInfo("Pacific/Apia")
    agreement = make_agreement("fri 09:00-17:00", notice=timedelta(0), horizon_days=14)
    slots = free_slots(agreement, make_lawyer(apia), client="me", now=utc("2011-12-25 00:00"))
    assert local_dates(slots, apia) == {date(2012, 1, 6)}  # Friday 30 December never was


def test_midnight_spring_forward_shortens_the_first_hour():
    santiago = ZoneInfo("America/Santiago")
    assert day_slots(santiago, "2026-09-06", "sun 00:00-02:00") == [
        "09-06 04:00",
        "09-06 04:30",  # 01:00 and 01:30 local, -03
    ]


# --- the client's view and the date line -----------------------------------------------

EVENING = "tue 20:00-22:00"  # Berlin, 2 June 2026: 18:00-20:00 UTC


@pytest.mark.parametrize(
    ("client_zone", "expected"),
    [
        ("Asia/Kolkata", ["06-02 23:30", "06-03 00:00", "06-03 00:30", "06-03 01:00"]),
        ("Asia/Kathmandu", ["06-02 23:45", "06-03 00:15", "06-03 00:45", "06-03 01:15"]),
        ("Pacific/Kiritimati", ["06-03 08:00", "06-03 08:30", "06-03 09:00", "06-03 09:30"]),
        ("Pacific/Pago_Pago", ["06-02 07:00", "06-02 07:30", "06-02 08:00", "06-02 08:30"]),
        ("Europe/Berlin", ["06-02 20:00", "06-02 20:30", "06-02 21:00", "06-02 21:30"]),
    ],
)
def test_slots_viewed_from_the_clients_zone(client_zone, expected):
    agreement = make_agreement(EVENING, horizon_days=3)
    slots = free_slots(agreement, make_lawyer(BERLIN), client="me", now=utc("2026-06-01 00:00"))
    zone = ZoneInfo(client_zone)
    assert [s.start.astimezone(zone).strftime("%m-%d %H:%M") for s in slots] == expected


KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11


def test_lawyer_east_of_the_date_line():
    """Monday 09:00 in Kiritimati is Sunday 19:00 UTC and Sunday 08:00 in Pago Pago."""
    agreement = make_agreement("mon 09:00-10:00", horizon_days=14)
    now = utc("2026-06-01 00:00")
    slots = free_slots(agreement, make_lawyer(KIRITIMATI), client="me", now=now)
    assert local_dates(slots, KIRITIMATI) == {date(2026, 6, 8), date(2026, 6, 15)}
    assert local_dates(slots, UTC) == {date(2026, 6, 7), date(2026, 6, 14)}
    assert local_dates(slots, PAGO_PAGO) == {date(2026, 6, 7), date(2026, 6, 14)}
    off = make_lawyer(KIRITIMATI, days_off=frozenset({date(2026, 6, 8)}))
    assert local_dates(free_slots(agreement, off, client="me", now=now), KIRITIMATI) == {
        date(2026, 6, 15)
    }
    # A day off on the UTC date (Sunday) means nothing to a Kiritimati lawyer.
    sunday = make_lawyer(KIRITIMATI, days_off=frozenset({date(2026, 6, 7)}))
    assert free_slots(agreement, sunday, client="me", now=now) == slots


def test_lawyer_west_of_the_date_line():
    """Sunday 20:00 in Pago Pago is Monday 07:00 UTC; the booking counts for Pago Pago's week."""
    agreement = make_agreement("sun 20:00-21:00,tue 10:00-11:00", horizon_days=15, max_per_week=1)
    lawyer = make_lawyer(PAGO_PAGO)
    now = utc("2026-06-01 00:00")  # Sunday 31 May 13:00 in Pago Pago
    slots = free_slots(agreement, lawyer, client="me", now=now)
    assert local_dates(slots, PAGO_PAGO) == {
        date(2026, 6, 2),
        date(2026, 6, 7),
        date(2026, 6, 9),
        date(2026, 6, 14),
    }
    sunday_call = book("2026-06-07 20:00", client="me", tz=PAGO_PAGO)
    assert sunday_call.start.astimezone(UTC).date() == date(2026, 6, 8)
    slots = free_slots(agreement, lawyer, client="me", now=now, bookings=[sunday_call])
    assert local_dates(slots, PAGO_PAGO) == {date(2026, 6, 9), date(2026, 6, 14)}


def test_busy_time_across_the_fold_given_in_the_lawyers_zone():
    """01:40 EDT to 01:10 EST is 30 minutes, not an empty interval (wall clock goes back)."""
    agreement = make_agreement("sun 01:00-03:00", notice=timedelta(0), horizon_days=3)
    lawyer = make_lawyer(NEW_YORK)
    across = (at("2026-11-01 01:40", NEW_YORK, fold=0), at("2026-11-01 01:10", NEW_YORK, fold=1))
    slots = free_slots(agreement, lawyer, client="me", now=utc("2026-10-30 00:00"), busy=[across])
    assert [s.start.strftime("%H:%M") for s in slots] == ["05:00", "06:30", "07:00", "07:30"]


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        # UTC starts; ends at Berlin's first 02:30 (00:30 UTC) and second 02:15 (01:15 UTC).
        (
            [
                (utc("2026-10-25 00:00"), at("2026-10-25 02:30")),
                (utc("2026-10-25 00:10"), at("2026-10-25 02:15", fold=1)),
            ],
            ["10-24 23:00", "10-24 23:30", "10-25 01:30", "10-25 02:00", "10-25 02:30"],
        ),
        # Starts at Berlin's first 02:30 (00:30 UTC) and second 02:10 (01:10 UTC); UTC ends.
        (
            [
                (at("2026-10-25 02:30"), utc("2026-10-25 01:00")),
                (at("2026-10-25 02:10", fold=1), utc("2026-10-25 01:40")),
            ],
            ["10-24 23:00", "10-24 23:30", "10-25 00:00", "10-25 02:00", "10-25 02:30"],
        ),
    ],
)
def test_busy_time_half_in_utc_half_in_the_lawyers_zone_across_the_fold(busy, expected):
    """A calendar event may give its start in UTC and its end in a zone: both become UTC."""
    agreement = make_agreement("sun 01:00-04:00", notice=timedelta(0), horizon_days=14)
    slots = free_slots(
        agreement,
        make_lawyer(BERLIN),
        client="me",
        now=utc("2026-10-20 00:00"),
        busy=[Interval(start, end) for start, end in busy],
        start=at("2026-10-25 00:00"),
        end=at("2026-10-26 00:00"),
    )
    assert [s.start.strftime("%m-%d %H:%M") for s in slots] == expected


def test_a_clock_turned_back_over_midnight_keeps_the_next_days_first_slots():
    """Casey, 5 March 2010: 02:00 (+11) went back to 23:00 (+08) on the 4th.

    The 5th's 00:00-01:00 came before the 4th's second 23:30, so a range ending then
    still holds them (the day after the range end's date is searched too).
    """
    casey = ZoneInfo("Antarctica/Casey")
    agreement = Agreement(
        windows=(),
        duration=HALF_HOUR,
        notice=timedelta(0),
        extra_windows=(DateWindow(date(2010, 3, 5), time(0), time(1)),),
    )
    end = utc("2010-03-04 15:30")
    assert end.astimezone(casey).strftime("%d %H:%M %z") == "04 23:30 +0800"
    slots = free_slots(
        agreement, make_lawyer(casey), client="me", now=utc("2010-03-01 00:00"), end=end
    )
    assert [s.start for s in slots] == [utc("2010-03-04 13:00"), utc("2010-03-04 13:30")]
