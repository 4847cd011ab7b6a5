"""Table tests for each availability rule, with a fixed ``NOW`` (Monday 2026-06-01 08:00 Berlin)."""

from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from booking_testkit import (
    BERLIN,
    MINUTE,
    NOW,
    at,
    book,
    busy,
    local_starts,
    make_agreement,
    make_lawyer,
)

from booking.availability import free_slots
from booking.model import DateWindow

TUESDAY = ["2026-06-02 10:00", "2026-06-02 10:30", "2026-06-02 11:00", "2026-06-02 11:30"]


def slots_between(agreement, lawyer=None, start="2026-06-02 00:00", end="2026-06-03 00:00", **kw):
    kw.setdefault("client", "me")
    kw.setdefault("now", NOW)
    lawyer = lawyer or make_lawyer()
    return local_starts(
        free_slots(agreement, lawyer, start=at(start), end=at(end), **kw), lawyer.timezone
    )


def test_steps_through_a_window_by_the_duration():
    assert slots_between(make_agreement()) == TUESDAY


def test_slots_are_utc_sorted_and_carry_prep_and_buffer():
    agreement = make_agreement(prep=timedelta(minutes=20), buffer_after=timedelta(minutes=5))
    slots = free_slots(agreement, make_lawyer(), client="me", now=NOW)
    assert slots == sorted(slots)
    assert len({s.start for s in slots}) == len(slots)
    first = slots[0]
    assert first.start == at("2026-06-02 10:00") and first.start.tzinfo is UTC
    assert first.end - first.start == timedelta(minutes=30)
    assert first.start - first.prep_start == timedelta(minutes=20)
    assert first.blocked_end - first.end == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"step": timedelta(minutes=20), "duration": timedelta(minutes=45)},
            ["10:00", "10:20", "10:40", "11:00"],
        ),
        ({"duration": timedelta(minutes=50)}, ["10:00", "10:50"]),
        ({"duration": timedelta(minutes=120)}, ["10:00"]),
        ({"duration": timedelta(minutes=121)}, []),
        ({"step": timedelta(hours=1)}, ["10:00", "11:00"]),
    ],
)
def test_step_and_call_must_end_by_window_end(params, expected):
    got = slots_between(make_agreement(**params))
    assert got == [f"2026-06-02 {hm}" for hm in expected]


@pytest.mark.parametrize(
    ("busy_local", "expected"),
    [
        # prep 30 min before, buffer 15 min after each 30-min call
        (("09:00", "09:30"), TUESDAY),  # touches the first prep block: allowed
        (("09:15", "09:40"), TUESDAY[1:]),  # inside the prep before the window: blocks 10:00
        (("09:45", "09:50"), TUESDAY[1:]),
        (("10:45", "11:00"), ["2026-06-02 10:00", "2026-06-02 11:30"]),  # 10:00's buffer touches
        (("10:40", "10:50"), ["2026-06-02 11:30"]),  # 10:00's buffer, 10:30's call, 11:00's prep
        (("12:15", "13:00"), TUESDAY),  # touches the last buffer
        (("12:00", "12:15"), TUESDAY[:3]),  # inside the last buffer
        (("00:00", "23:59"), []),
    ],
)
def test_prep_call_and_buffer_must_be_free(busy_local, expected):
    agreement = make_agreement(prep=timedelta(minutes=30), buffer_after=timedelta(minutes=15))
    start, end = busy_local
    blocked = [busy(f"2026-06-02 {start}", f"2026-06-02 {end}")]
    assert slots_between(agreement, busy=blocked) == expected


def test_busy_in_another_zone_is_compared_as_an_instant():
    tokyo = ZoneInfo("Asia/Tokyo")  # 10:30 Berlin (CEST) is 17:30 Tokyo
    blocked = [busy("2026-06-02 17:30", "2026-06-02 18:00", tz=tokyo)]
    assert slots_between(make_agreement(), busy=blocked) == [
        "2026-06-02 10:00",
        "2026-06-02 11:00",
        "2026-06-02 11:30",
    ]


def test_prep_block_of_another_clients_booking_blocks_my_slots():
    theirs = make_agreement(prep=timedelta(hours=1))
    booking = book("2026-06-02 11:00", theirs, client="other")  # blocks 10:00-11:30
    assert slots_between(make_agreement(), bookings=[booking]) == ["2026-06-02 11:30"]
    mine = make_agreement(prep=timedelta(minutes=30))
    assert slots_between(mine, bookings=[booking]) == []


def test_my_own_booking_blocks_too():
    booking = book("2026-06-02 10:30", client="me")
    assert slots_between(make_agreement(), bookings=[booking]) == [
        "2026-06-02 10:00",
        "2026-06-02 11:00",
        "2026-06-02 11:30",
    ]


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        (timedelta(hours=26), TUESDAY),  # exactly now + notice is allowed
        (timedelta(hours=26, minutes=1), TUESDAY[1:]),
        (timedelta(hours=27, minutes=30), TUESDAY[3:]),
        (timedelta(hours=28), []),
    ],
)
def test_minimum_notice(notice, expected):
    assert slots_between(make_agreement(notice=notice)) == expected


FRIDAY_EVENING = at("2026-06-05 18:00")
EVERY_MORNING = "mon 10:00-11:00,tue 10:00-11:00,wed 10:00-11:00,sat 10:00-11:00"


@pytest.mark.parametrize(
    ("now", "lawyer_params", "first"),
    [
        # Friday evening: Monday is the prep day, Tuesday the first call.
        (FRIDAY_EVENING, {}, "2026-06-09 10:00"),
        # Saturday morning: the same Monday prep day.
        (at("2026-06-06 08:00"), {}, "2026-06-09 10:00"),
        # Monday morning: Tuesday is the next working day, the first call Wednesday.
        (at("2026-06-08 07:00"), {}, "2026-06-10 10:00"),
        # Monday off: Tuesday is the prep day, Wednesday the first call.
        (FRIDAY_EVENING, {"days_off": frozenset({date(2026, 6, 8)})}, "2026-06-10 10:00"),
        # Saturday is a working day: it is the prep day; Monday is offered.
        (FRIDAY_EVENING, {"working_days": frozenset(range(6))}, "2026-06-08 10:00"),
    ],
)
def test_notice_next_working_day(now, lawyer_params, first):
    agreement = make_agreement(
        EVERY_MORNING, notice=timedelta(hours=1), notice_next_working_day=True
    )
    slots = free_slots(agreement, make_lawyer(**lawyer_params), client="me", now=now)
    assert local_starts(slots)[0] == first


def test_notice_next_working_day_uses_the_lawyers_date():
    """At Thursday 20:00 UTC it is already Friday in Kathmandu: Monday preps, Tuesday calls."""
    kathmandu = ZoneInfo("Asia/Kathmandu")
    agreement = make_agreement(
        EVERY_MORNING, notice=timedelta(hours=1), notice_next_working_day=True
    )
    now = at("2026-06-04 20:00", UTC)
    slots = free_slots(agreement, make_lawyer(kathmandu), client="me", now=now)
    assert local_starts(slots, kathmandu)[0] == "2026-06-09 10:00"
    berlin = free_slots(agreement, make_lawyer(BERLIN), client="me", now=now)
    assert local_starts(berlin)[0] == "2026-06-06 10:00"  # Friday preps, Saturday calls


def test_no_working_day_at_all_offers_nothing():
    agreement = make_agreement(notice_next_working_day=True)
    lawyer = make_lawyer(working_days=frozenset())
    assert free_slots(agreement, lawyer, client="me", now=NOW) == []


def test_horizon_is_exclusive():
    agreement = make_agreement("wed 07:00-09:00", horizon_days=2)
    slots = free_slots(agreement, make_lawyer(), client="me", now=NOW)
    assert local_starts(slots) == ["2026-06-03 07:00", "2026-06-03 07:30"]


def test_horizon_counts_days_from_now():
    slots = free_slots(make_agreement(horizon_days=30), make_lawyer(), client="me", now=NOW)
    assert local_starts(slots)[-1] == "2026-06-30 11:30"  # Tue 30 June; Thu 2 July is out


def test_days_off_in_the_lawyers_zone():
    lawyer = make_lawyer(days_off=frozenset({date(2026, 6, 2)}))
    slots = free_slots(make_agreement(), lawyer, client="me", now=NOW, end=at("2026-06-05 00:00"))
    assert local_starts(slots) == [
        "2026-06-04 14:00",
        "2026-06-04 14:30",
        "2026-06-04 15:00",
        "2026-06-04 15:30",
    ]


def test_extra_window_on_one_date_and_no_duplicates_with_weekly_windows():
    agreement = make_agreement(
        extra_windows=(
            DateWindow(date(2026, 6, 3), time(9), time(10)),  # a Wednesday
            DateWindow(date(2026, 6, 2), time(11), time(13)),  # overlaps Tuesday's window
        )
    )
    assert slots_between(agreement, end="2026-06-04 00:00") == [
        "2026-06-02 10:00",
        "2026-06-02 10:30",
        "2026-06-02 11:00",
        "2026-06-02 11:30",
        "2026-06-02 12:00",
        "2026-06-02 12:30",
        "2026-06-03 09:00",
        "2026-06-03 09:30",
    ]


def test_range_is_clamped_to_notice_and_horizon():
    agreement = make_agreement(horizon_days=3)
    everything = slots_between(agreement, start="2026-05-01 00:00", end="2026-09-01 00:00")
    assert everything == TUESDAY  # Thursday 4 June 14:00 is beyond the 3-day horizon
    assert slots_between(agreement, start="2026-06-02 10:30", end="2026-06-02 11:30") == [
        "2026-06-02 10:30",
        "2026-06-02 11:00",
    ]
    assert slots_between(agreement, start="2026-06-03 00:00", end="2026-06-02 00:00") == []


# --- cadence and caps ----------------------------------------------------------------

JUNE_WEEKS = "tue 10:00-10:30,thu 14:00-14:30"


def starts_in_june(agreement, lawyer=None, bookings=(), client="me"):
    lawyer = lawyer or make_lawyer()
    slots = free_slots(
        agreement,
        lawyer,
        client=client,
        now=NOW,
        bookings=bookings,
        end=at("2026-06-20 00:00", lawyer.timezone),
    )
    return [s[:10] for s in local_starts(slots, lawyer.timezone)]


ALL_JUNE = ["2026-06-02", "2026-06-04", "2026-06-09", "2026-06-11", "2026-06-16", "2026-06-18"]


@pytest.mark.parametrize(
    ("agreement_params", "lawyer_params", "bookings", "expected"),
    [
        ({}, {}, [], ALL_JUNE),
        # one call a week: my call on Thursday 4 June fills the week of 1 June
        ({"max_per_week": 1}, {}, [("2026-06-04 16:00", "me")], ALL_JUNE[2:]),
        ({"max_per_week": 2}, {}, [("2026-06-04 16:00", "me")], ALL_JUNE),
        ({"max_per_week": 0}, {}, [], []),
        # another client's booking does not count against my cadence
        ({"max_per_week": 1}, {}, [("2026-06-04 16:00", "other")], ALL_JUNE),
        ({"max_per_month": 2}, {}, [("2026-06-01 16:00", "me")] * 2, []),
        ({"max_per_month": 2}, {}, [("2026-05-29 16:00", "me")] * 2, ALL_JUNE),
        ({"max_per_month": 2}, {}, [("2026-06-01 16:00", "me")], ALL_JUNE),
        # the lawyer's caps count every client
        ({}, {"max_per_day": 1}, [("2026-06-09 16:00", "other")], ALL_JUNE[:2] + ALL_JUNE[3:]),
        ({}, {"max_per_day": 2}, [("2026-06-09 16:00", "other")], ALL_JUNE),
        (
            {},
            {"max_per_week": 2},
            [("2026-06-08 16:00", "a"), ("2026-06-14 16:00", "b")],
            ALL_JUNE[:2] + ALL_JUNE[4:],
        ),
        ({}, {"max_per_week": 3}, [("2026-06-08 16:00", "a"), ("2026-06-14 16:00", "b")], ALL_JUNE),
    ],
)
def test_cadence_and_caps(agreement_params, lawyer_params, bookings, expected):
    agreement = make_agreement(JUNE_WEEKS, **agreement_params)
    booked = [book(start, client=client) for start, client in bookings]
    assert starts_in_june(agreement, make_lawyer(**lawyer_params), booked) == expected


def test_month_limit_in_a_longer_horizon():
    agreement = make_agreement(JUNE_WEEKS, max_per_month=1, horizon_days=45)
    slots = free_slots(
        agreement,
        make_lawyer(),
        client="me",
        now=NOW,
        bookings=[book("2026-06-02 16:00", client="me")],
    )
    assert {s[:7] for s in local_starts(slots)} == {"2026-07"}


def test_client_key_compares_with_equality():
    agreement = make_agreement(JUNE_WEEKS, max_per_week=1)
    booked = [book("2026-06-04 16:00", client=("client", 7))]
    assert starts_in_june(agreement, bookings=booked, client=("client", 7)) == ALL_JUNE[2:]


def test_cadence_week_ends_sunday_midnight_in_the_lawyers_zone():
    """Sunday 23:30 in New York is Monday 03:30 UTC; it counts for the New York week."""
    new_york = ZoneInfo("America/New_York")
    agreement = make_agreement(JUNE_WEEKS, max_per_week=1)
    sunday_late = book("2026-06-07 23:30", client="me", tz=new_york)
    assert sunday_late.start.astimezone(UTC).weekday() == 0  # Monday in UTC
    lawyer = make_lawyer(new_york)
    assert starts_in_june(agreement, lawyer, [sunday_late]) == ALL_JUNE[2:]


def test_cadence_week_starts_monday_midnight_in_the_lawyers_zone():
    """Monday 00:30 in Tokyo is Sunday 15:30 UTC; it counts for the new Tokyo week."""
    tokyo = ZoneInfo("Asia/Tokyo")
    agreement = make_agreement(JUNE_WEEKS, max_per_week=1)
    monday_early = book("2026-06-08 00:30", client="me", tz=tokyo)
    assert monday_early.start.astimezone(UTC).weekday() == 6
    lawyer = make_lawyer(tokyo)
    # (NOW is Monday 15:00 in Tokyo: with a day's notice, Tuesday 2 June is too soon.)
    assert starts_in_june(agreement, lawyer, []) == ALL_JUNE[1:]
    assert starts_in_june(agreement, lawyer, [monday_early]) == ALL_JUNE[1:2] + ALL_JUNE[4:]


def test_lawyer_day_cap_uses_the_lawyers_date():
    """23:30 Tuesday in New York is Wednesday in UTC; it fills the New York Tuesday."""
    new_york = ZoneInfo("America/New_York")
    lawyer = make_lawyer(new_york, max_per_day=1)
    late = book("2026-06-02 23:30", client="other", tz=new_york)
    assert starts_in_june(make_agreement(JUNE_WEEKS), lawyer, [late]) == ALL_JUNE[1:]


# --- input validation -----------------------------------------------------------------


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="^now must be a timezone-aware datetime"):
        free_slots(make_agreement(), make_lawyer(), client="me", now=NOW.replace(tzinfo=None))


def test_naive_busy_is_refused():
    naive = busy("2026-06-02 10:00", "2026-06-02 11:00")
    naive = naive._replace(start=naive.start.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slots(make_agreement(), make_lawyer(), client="me", now=NOW, busy=[naive])


@pytest.mark.parametrize(
    "params", [{"duration": timedelta(0)}, {"step": -MINUTE}, {"prep": -MINUTE}]
)
def test_nonsense_durations_are_refused(params):
    with pytest.raises(ValueError):
        free_slots(make_agreement(**params), make_lawyer(), client="me", now=NOW)
