"""Graph event resources ↔ busy time, without any server: zones, all-day, show-as, ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from booking.intervals import Interval
from service.calendars.base import OutgoingEvent
from service.calendars.microsoft.events import (
    UID_PROPERTY,
    busy_interval,
    event_body,
    is_own_event,
    parse_datetime,
    transaction_id,
)
from tests.microsoft_fake import graph_time

BERLIN = ZoneInfo("Europe/Berlin")
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+05:45
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a half-hour DST shift



def _known(name: str) -> bool:
    try:
        ZoneInfo(WINDOWS_TO_OLSON[name])
    except (KeyError, ValueError, OSError):
        return False
    return True


WINDOWS_ZONES = sorted(name for name in WINDOWS_TO_OLSON if _known(name))


@given(
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(WINDOWS_ZONES),
)
def test_any_instant_in_any_windows_zone_reads_back_the_same(instant, zone):
    instant = instant.replace(microsecond=0)
    assert parse_datetime(graph_time(instant, zone)) == instant


def test_seven_fraction_digits_and_utc():
    assert parse_datetime({"dateTime": "2030-03-26T09:00:00.1234567", "timeZone": "UTC"}) == datetime(
        2030, 3, 26, 9, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_datetime({"dateTime": "2030-03-26T09:00:00", "timeZone": "Pacific Standard Time"}) == datetime(
        2030, 3, 26, 16, tzinfo=UTC
    )


def test_unknown_zone_name_is_not_guessed():
    event = {"start": {"dateTime": "2030-03-26T09:00:00", "timeZone": "Mars Standard Time"},
             "end": {"dateTime": "2030-03-26T10:00:00", "timeZone": "Mars Standard Time"}}
    assert busy_interval(event, BERLIN) is None


def all_day(day: str, next_day: str) -> dict:
    return {"isAllDay": True, "showAs": "busy",
            "start": {"dateTime": f"{day}T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"{next_day}T00:00:00.0000000", "timeZone": "UTC"}}


@pytest.mark.parametrize("zone", [BERLIN, KATHMANDU, LORD_HOWE])
def test_all_day_is_the_lawyers_day(zone):
    interval = busy_interval(all_day("2030-03-26", "2030-03-27"), zone)
    assert interval == Interval(datetime(2030, 3, 26, tzinfo=zone), datetime(2030, 3, 27, tzinfo=zone))


def test_all_day_on_the_dst_change_is_23_hours():
    interval = busy_interval(all_day("2030-03-31", "2030-04-01"), BERLIN)
    assert interval.end - interval.start == timedelta(hours=23)
    lord_howe = busy_interval(all_day("2030-04-07", "2030-04-08"), LORD_HOWE)  # back half an hour
    assert lord_howe.end - lord_howe.start == timedelta(hours=24, minutes=30)


def timed(**fields) -> dict:
    return {"start": {"dateTime": "2030-03-26T09:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2030-03-26T10:00:00.0000000", "timeZone": "UTC"}, **fields}


@pytest.mark.parametrize(
    ("fields", "busy"),
    [
        ({"showAs": "free"}, False),
        ({"showAs": "tentative"}, True),
        ({"showAs": "busy"}, True),
        ({"showAs": "oof"}, True),
        ({"showAs": "workingElsewhere"}, True),
        ({"showAs": "unknown"}, True),
        ({}, True),
        ({"isCancelled": True, "showAs": "busy"}, False),
        ({"type": "seriesMaster"}, False),
        ({"@removed": {"reason": "deleted"}}, False),
    ],
)
def test_show_as_defaults(fields, busy):
    assert (busy_interval(timed(**fields), BERLIN) is not None) is busy


def test_free_show_as_chosen_per_calendar():
    assert busy_interval(timed(showAs="tentative"), BERLIN, frozenset({"tentative"})) is None
    assert busy_interval(timed(showAs="oof"), BERLIN, frozenset({"tentative"})) is not None


def test_own_events_are_recognised_by_transaction_id_or_property():
    uid = "b7Kx-call@counselhours"
    assert transaction_id(uid) == transaction_id(uid) and transaction_id(uid) != transaction_id("other@counselhours")
    assert is_own_event({"transactionId": transaction_id(uid)})
    assert is_own_event({"singleValueExtendedProperties": [{"id": UID_PROPERTY.lower(), "value": uid}]})
    assert not is_own_event({"transactionId": "outlook-mobile-123"})
    assert not is_own_event({"singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": "x@elsewhere"}]})


def test_body_is_utc_busy_without_attendees():
    start = datetime(2030, 3, 26, 10, tzinfo=BERLIN)
    body = event_body(OutgoingEvent(uid="u@counselhours", start=start, end=start + timedelta(hours=1),
                                    summary="Call", attendee_email="c@example.com"))
    assert body["start"] == {"dateTime": "2030-03-26T09:00:00", "timeZone": "UTC"}
    assert body["showAs"] == "busy" and "attendees" not in body and "isOnlineMeeting" not in body
    assert "c@example.com" in body["body"]["content"]
    teams = event_body(OutgoingEvent(uid="u@counselhours", start=start, end=start, summary="Call"), teams=True)
    assert teams["isOnlineMeeting"] is True and teams["onlineMeetingProvider"] == "teamsForBusiness"
