"""Every calendar answer has a size cap and a total deadline (service/calendars/bounded.py),
against a hostile server on loopback: giant answers, drips, gzip bombs, redirect loops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.intervals import Interval
from service.calendars import bounded
from service.calendars.base import ProviderError
from service.calendars.caldav.provider import CalDAVProvider
from service.calendars.google.provider import GoogleProvider
from service.calendars.ics.provider import ICSProvider
from tests.hostile_calendar import HostileServer

LIMIT_SECONDS = 2
LIMIT_BYTES = 1024 * 1024
SLACK = 2.5  # seconds past the deadline a cut-off may take on a loaded machine
UTC_ZONE = ZoneInfo("UTC")
WINDOW = Interval(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))


@pytest.fixture
def app_overrides() -> dict:
    return {"CALENDAR_READ_TIMEOUT_SECONDS": LIMIT_SECONDS, "CALENDAR_MAX_BYTES": LIMIT_BYTES}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer(drip=0.3) as server:
        server.bomb()  # built once, before any deadline runs
        yield server


def feed(hostile: HostileServer, mode: str) -> ICSProvider:
    return ICSProvider({}, {"url": hostile.url(mode)}, UTC_ZONE, allow_private=True)


def caldav(hostile: HostileServer, mode: str) -> CalDAVProvider:
    return CalDAVProvider({"url": hostile.url(mode, "dav/"), "username": "anna"},
                          {"password": "pw"}, UTC_ZONE, allow_private=True)


def google(hostile: HostileServer, mode: str) -> GoogleProvider:
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    secret = {"refresh_token": "r", "client_id": "c", "client_secret": "s", "token": "t",
              "expiry": expiry}
    config = {"api_endpoint": hostile.url(mode, "calendar/v3/"), "token_uri": hostile.url(mode, "token")}
    return GoogleProvider(config, secret, UTC_ZONE, sleep=lambda _s: None)


PROVIDERS = {"feed": feed, "caldav": caldav, "google": google}


def timed(call):
    started = time.monotonic()
    try:
        call()
    except ProviderError as exc:
        return exc, time.monotonic() - started
    raise AssertionError("the hostile answer was accepted")


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
@pytest.mark.parametrize("mode", ["giant", "giant-declared", "bomb"])
def test_giant_answer_cut_off_at_the_size_cap(app, hostile, kind, mode):
    """Regression: a 1 GB CalDAV answer took a web worker to 2.5 GB (read whole)."""
    provider = PROVIDERS[kind](hostile, mode)
    try:
        exc, _seconds = timed(lambda: provider.busy("feed" if kind == "feed" else "primary", WINDOW))
    finally:
        provider.close()
    assert isinstance(exc, bounded.TooLarge), exc
    assert "answer larger than 1 MB" in str(exc)


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
@pytest.mark.parametrize("mode", ["drip", "drip-headers"])
def test_dripping_answer_cut_off_at_the_total_deadline(app, hostile, kind, mode):
    """Regression: a feed dripping a byte every few seconds held a worker for as long as
    it dripped (the per-read timeout never fired)."""
    provider = PROVIDERS[kind](hostile, mode)
    try:
        exc, seconds = timed(lambda: provider.list_calendars())
    finally:
        provider.close()
    assert isinstance(exc, bounded.TooSlow), exc
    assert f"no complete answer within {LIMIT_SECONDS} s" in str(exc)
    assert seconds < LIMIT_SECONDS + SLACK


@pytest.mark.parametrize("kind", ["feed", "caldav"])
def test_redirect_loop_refused(app, hostile, kind):
    provider = PROVIDERS[kind](hostile, "loop")
    try:
        exc, _seconds = timed(provider.list_calendars)
    finally:
        provider.close()
    assert "redirects too often" in str(exc)


def test_budget_narrows_the_deadline(app, hostile):
    """The web's budget: a whole live check ends within it, whatever the read timeout."""
    provider = feed(hostile, "drip")
    with bounded.budget(0.8):
        exc, seconds = timed(provider.list_calendars)
    provider.close()
    assert isinstance(exc, bounded.TooSlow) and "within 0.8 s" in str(exc)
    assert seconds < 0.8 + SLACK


def test_a_cut_off_session_asks_no_more(app, hostile):
    """A library that falls back to other queries after a failure stops at the first cut-off."""
    provider = caldav(hostile, "drip")
    timed(provider.list_calendars)
    before = hostile.requests
    exc, seconds = timed(provider.list_calendars)
    provider.close()
    assert isinstance(exc, bounded.TooSlow) and seconds < 0.5
    assert hostile.requests == before


def test_good_answers_still_read(app, hostile):
    provider = feed(hostile, "ok")
    try:
        assert [c.id for c in provider.list_calendars()] == ["feed"]
        assert provider.busy("feed", WINDOW) == [
            Interval(datetime(2026, 12, 3, 10, tzinfo=UTC), datetime(2026, 12, 3, 11, tzinfo=UTC))]
    finally:
        provider.close()


def test_outside_an_app_the_defaults_apply():
    assert bounded.limits() == (bounded.DEFAULT_TIMEOUT_SECONDS, bounded.DEFAULT_MAX_BYTES)


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.97, "1"), (1.0, "1"), (0.94, "0.9"), (2.5, "2.5"), (9.96, "10"), (29.6, "30"), (30, "30"),
])
def test_regression_a_deadline_just_under_a_whole_second_reads_whole(seconds, shown):
    """A budget of 1 s with a little of it spent (0.97 s allowed) read "within 1.0 s"."""
    from service.calendars.bounded import too_slow

    assert str(too_slow("Microsoft Graph", seconds)) == f"Microsoft Graph: no complete answer within {shown} s, cut off"
