"""``booking.walltime``: instants to UTC, wall times to instants, whatever the server's zone."""

from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pytest
from booking_testkit import BERLIN, at, process_zone, utc

from booking.walltime import to_utc, wall_to_utc


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: the datetime is aware in name only."""

    def utcoffset(self, dt):
        return None

    def dst(self, dt):
        return None


def test_to_utc_returns_the_same_instant_in_utc_itself():
    """Not just an equal instant: the ``tzinfo`` is ``UTC``, never the server's zone."""
    converted = to_utc(at("2026-06-02 10:00"))
    assert converted == utc("2026-06-02 08:00")
    assert converted.tzinfo is UTC


def test_to_utc_names_a_plain_datetime_by_default():
    with pytest.raises(ValueError, match=r"^datetime must be a timezone-aware datetime"):
        to_utc(datetime(2026, 6, 2, 10, 0))


def test_to_utc_refuses_a_tzinfo_without_an_offset():
    """A tzinfo whose ``utcoffset`` is None is naive to Python; it must not become local time."""
    with pytest.raises(ValueError, match="timezone-aware"):
        to_utc(datetime(2026, 6, 2, 10, 0, tzinfo=_NoOffset()), "start")


def test_the_last_second_of_a_gap_maps_to_the_transition():
    """02:59:59 on 29 March does not exist in Berlin; it is 01:00:00 UTC, not a second later."""
    assert wall_to_utc(date(2026, 3, 29), time(2, 59, 59), BERLIN) == utc("2026-03-29 01:00")


@pytest.mark.parametrize("server", ["UTC", "America/Sao_Paulo", "Pacific/Chatham"])
@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        (time(2, 30), "2026-03-29 01:00"),
        (time(2, 0), "2026-03-29 01:00"),
        (time(3, 0), "2026-03-29 01:00"),
    ],
)
def test_a_gap_is_found_whatever_the_servers_zone(server, wall, expected):
    """The search for the spring-forward instant works in UTC, not in the process's zone."""
    with process_zone(server):
        assert wall_to_utc(date(2026, 3, 29), wall, BERLIN) == utc(expected)
        assert wall_to_utc(date(2026, 3, 29), time(1, 0), BERLIN) == utc(expected) - timedelta(
            hours=1
        )
