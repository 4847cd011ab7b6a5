"""``check_start``: one requested start, accepted as a ``Slot`` or refused with a reason."""

from datetime import date, timedelta

import pytest
from booking_testkit import NOW, at, book, busy, make_agreement, make_lawyer

from booking.availability import SlotRefused, check_start, free_slots

DAY_OFF = {"days_off": frozenset({date(2026, 6, 2)})}


def refusal(start, agreement=None, lawyer=None, now=NOW, **kw):
    with pytest.raises(SlotRefused) as info:
        check_start(
            agreement or make_agreement(),
            lawyer or make_lawyer(),
            client="me",
            now=now,
            start=at(start),
            **kw,
        )
    assert info.value.message == str(info.value) and "\n" not in info.value.message
    return info.value.reason


def test_accepts_an_offered_start_and_returns_the_same_slot():
    agreement = make_agreement(prep=timedelta(minutes=15))
    slot = check_start(agreement, make_lawyer(), client="me", now=NOW, start=at("2026-06-02 10:30"))
    assert slot in free_slots(agreement, make_lawyer(), client="me", now=NOW)
    assert slot.prep_start == at("2026-06-02 10:15")


@pytest.mark.parametrize(
    ("start", "agreement", "lawyer", "kw", "reason"),
    [
        ("2026-05-26 10:00", {}, {}, {}, "past"),
        ("2026-06-01 07:59", {}, {}, {}, "past"),
        ("2026-06-01 10:00", {}, {}, {}, "too_soon"),
        ("2026-06-02 07:59", {}, {}, {}, "too_soon"),
        ("2026-06-01 09:00", {}, {}, {}, "too_soon"),  # before "outside windows"
        ("2026-06-02 10:00", {"notice_next_working_day": True}, {}, {}, "too_soon"),
        ("2026-07-01 08:00", {}, {}, {}, "beyond_horizon"),
        ("2026-07-07 10:00", {}, {}, {}, "beyond_horizon"),
        ("2026-06-02 10:00", {}, DAY_OFF, {}, "day_off"),
        ("2026-06-02 09:00", {}, DAY_OFF, {}, "day_off"),  # before "outside windows"
        ("2026-06-02 09:00", {}, {}, {}, "outside_windows"),
        ("2026-06-02 09:45", {}, {}, {}, "outside_windows"),  # starts before the window
        ("2026-06-02 11:45", {}, {}, {}, "outside_windows"),  # would end after it
        ("2026-06-03 10:00", {}, {}, {}, "outside_windows"),  # a Wednesday
        ("2026-06-02 10:10", {}, {}, {}, "not_on_step"),
        ("2026-06-02 10:15", {"step": timedelta(minutes=20)}, {}, {}, "not_on_step"),
        (
            "2026-06-02 10:00",
            {"max_per_week": 1},
            {},
            {"bookings": [book("2026-06-04 14:00", client="me")]},
            "client_week_limit",
        ),
        (
            "2026-06-02 10:00",
            {"max_per_month": 1},
            {},
            {"bookings": [book("2026-06-30 14:00", client="me")]},
            "client_month_limit",
        ),
        (
            "2026-06-02 10:00",
            {},
            {"max_per_day": 1},
            {"bookings": [book("2026-06-02 17:00")]},
            "lawyer_day_limit",
        ),
        (
            "2026-06-02 10:00",
            {},
            {"max_per_week": 1},
            {"bookings": [book("2026-06-07 17:00")]},
            "lawyer_week_limit",
        ),
        (
            "2026-06-02 10:00",
            {},
            {},
            {"busy": [busy("2026-06-02 10:29", "2026-06-02 11:00")]},
            "busy",
        ),
        (
            "2026-06-02 10:00",
            {"prep": timedelta(hours=1)},
            {},
            {"bookings": [book("2026-06-02 08:45")]},
            "busy",
        ),  # their call vs my prep
        # cadence is reported before busy time
        (
            "2026-06-02 10:00",
            {"max_per_week": 1},
            {},
            {"bookings": [book("2026-06-02 10:00", client="me")]},
            "client_week_limit",
        ),
    ],
)
def test_refusal_reasons(start, agreement, lawyer, kw, reason):
    agreement = make_agreement(**agreement)
    assert refusal(start, agreement, make_lawyer(**lawyer), **kw) == reason


def test_touching_busy_time_is_fine():
    blocked = [
        busy("2026-06-02 09:00", "2026-06-02 10:00"),
        busy("2026-06-02 10:30", "2026-06-02 11:00"),
    ]
    slot = check_start(
        make_agreement(),
        make_lawyer(),
        client="me",
        now=NOW,
        busy=blocked,
        start=at("2026-06-02 10:00"),
    )
    assert slot.end == at("2026-06-02 10:30")


def test_message_names_the_busy_time():
    with pytest.raises(SlotRefused, match=r"busy time from 2026-06-02T10:15\+02:00"):
        check_start(
            make_agreement(),
            make_lawyer(),
            client="me",
            now=NOW,
            busy=[busy("2026-06-02 10:15", "2026-06-02 10:20")],
            start=at("2026-06-02 10:00"),
        )


def test_naive_start_is_a_value_error_not_a_refusal():
    with pytest.raises(ValueError, match="^start must be a timezone-aware datetime"):
        check_start(
            make_agreement(),
            make_lawyer(),
            client="me",
            now=NOW,
            start=at("2026-06-02 10:00").replace(tzinfo=None),
        )
