"""Incremental sync of a 2,000-event calendar: one change costs a constant, small
number of requests and far less time than the full sync; a bad token resyncs fully."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from booking.intervals import Interval
from tests.calendar_servers import CalendarServer, event_ics, put_ics, unique

from .conftest import make_provider

N = 2000
NOW = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW = Interval(NOW - timedelta(days=1), NOW + timedelta(days=90))


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")


def big_calendar_items(n: int = N) -> list[tuple[str, str]]:
    """n one-hour events three hours apart from NOW - 30 days (about a third in WINDOW)."""
    first = NOW - timedelta(days=30)
    items = []
    for i in range(n):
        start = first + timedelta(hours=3 * i)
        text = event_ics(f"e{i}@example.com", stamp(start), stamp(start + timedelta(hours=1)))
        items.append((f"e{i}.ics", text))
    return items


@pytest.fixture(scope="module", params=["radicale", "xandikos"])
def big(request) -> tuple[CalendarServer, str, float, str]:
    """A 2,000-event calendar, fully synced once: (server, url, full seconds, state)."""
    server = request.getfixturevalue(request.param)
    url = server.make_calendar(unique("big"))
    server.bulk_load(url, big_calendar_items())
    provider = make_provider(server)
    try:
        provider.sync(url, None, WINDOW)  # lets the server build its caches
        started = time.perf_counter()
        result = provider.sync(url, None, WINDOW)
        seconds = time.perf_counter() - started
    finally:
        provider.close()
    assert result.full
    assert len(result.changed) > 600
    return server, url, seconds, result.state


def test_one_change_fetches_only_that_object(big, connect):
    server, url, full_seconds, state = big
    provider = connect(server)
    put_ics(
        url,
        "e300.ics",
        event_ics("e300@example.com", "20270315T120000Z", "20270315T150000Z"),
        server.password(),
    )
    started = time.perf_counter()
    result = provider.sync(url, state, WINDOW)
    seconds = time.perf_counter() - started
    assert not result.full
    assert list(result.changed) == [url.split(str(server.port), 1)[1] + "e300.ics"]
    assert result.changed[next(iter(result.changed))] == [
        Interval(datetime(2027, 3, 15, 12, tzinfo=UTC), datetime(2027, 3, 15, 15, tzinfo=UTC))
    ]
    # sync-collection + one multiget (+ the 401 that starts an authenticated session)
    assert result.requests <= 3
    assert seconds < full_seconds / 2, (seconds, full_seconds)


def test_nothing_changed_is_one_request(big, connect):
    server, url, _full, state = big
    provider = connect(server)
    first = provider.sync(url, state, WINDOW)
    second = provider.sync(url, first.state, WINDOW)
    assert second.changed == {} and second.deleted == set()
    assert second.requests == 1


def test_bad_token_resyncs_everything(big, connect):
    server, url, _full, state = big
    provider = connect(server)
    broken = json.loads(state)
    broken["token"] = broken["token"][:-6] + "000000"
    result = provider.sync(url, json.dumps(broken), WINDOW)
    assert result.full
    assert len(result.changed) > 600
