"""The calendar files of tests/calendars/ on real servers: busy() and sync() give the
same intervals as icsread gives for the file itself, on Radicale and on Xandikos."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.intervals import Interval, merge
from tests.calendar_servers import put_ics

from .cases import EXPECTED, WINDOW, ics
from .conftest import split_by_uid

CASES = sorted(EXPECTED)


@pytest.fixture(scope="module")
def loaded(request) -> dict[tuple[str, str], str]:
    """Every case file in its own calendar, on both servers: (server, case) -> URL."""
    urls = {}
    for kind in ("radicale", "xandikos"):
        server = request.getfixturevalue(kind)
        for name in CASES:
            url = server.make_calendar(f"case-{name.replace('_', '-')}")
            for index, (_uid, text) in enumerate(split_by_uid(ics(name))):
                put_ics(url, f"object-{index}.ics", text, server.password())
            urls[(kind, name)] = url
    return urls


@pytest.fixture(params=["radicale", "xandikos"])
def kind(request) -> str:
    return request.param


@pytest.mark.parametrize("name", CASES)
def test_busy_from_server(kind, name, loaded, request, connect):
    provider = connect(request.getfixturevalue(kind))
    assert provider.busy(loaded[(kind, name)], WINDOW) == EXPECTED[name]


@pytest.mark.parametrize("name", CASES)
def test_sync_from_server(kind, name, loaded, request, connect):
    provider = connect(request.getfixturevalue(kind))
    result = provider.sync(loaded[(kind, name)], None, WINDOW)
    assert result.full
    got = merge(
        Interval(max(i.start, WINDOW.start), min(i.end, WINDOW.end))
        for spans in result.changed.values()
        for i in spans
    )
    assert got == EXPECTED[name]


@pytest.mark.parametrize("name", ["dst_weekly_across_change", "floating_time", "all_day_multi_day"])
def test_busy_of_a_short_range_finds_events_servers_misplace(kind, name, loaded, request, connect):
    """Servers place floating/all-day events in UTC and Radicale's recurrences an hour
    off across DST: a 30-minute freshness check must still see each busy interval."""
    provider = connect(request.getfixturevalue(kind))
    for busy in EXPECTED[name]:
        probe = Interval(busy.start, min(busy.end, busy.start + timedelta(minutes=30)))
        assert provider.busy(loaded[(kind, name)], probe) == [probe], busy


def test_floating_time_follows_the_lawyer_zone(kind, loaded, request, connect):
    from zoneinfo import ZoneInfo

    provider = connect(request.getfixturevalue(kind), tz=ZoneInfo("Asia/Tokyo"))
    busy = provider.busy(loaded[(kind, "floating_time")], WINDOW)
    assert [(i.start.hour, i.end.hour) for i in busy] == [(0, 1)]
