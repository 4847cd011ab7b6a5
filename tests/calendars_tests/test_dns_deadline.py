"""Name resolution is inside the calendar read deadline: a DNS server that never answers
(a real UDP socket on loopback, reached through ``CALENDAR_DNS_RESOLVER``) is cut off like
a slow server, in the worker's sync, the admin's connect and the booking's live check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.intervals import Interval
from service import create_app
from service.calendars import bounded, netguard
from service.calendars.base import ProviderError
from service.calendars.ics.provider import ICSProvider
from service.core.config import ConfigError
from service.core.crypto import encrypt_json
from service.storage.models import Calendar, CalendarAccount, utcnow
from tests.dns_server import DnsServer
from tests.hostile_calendar import HostileServer

LIMIT_SECONDS = 2
SLACK = 2.5
WINDOW = Interval(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))


@pytest.fixture(scope="module")
def silent_dns() -> Iterator[DnsServer]:
    with DnsServer(silent=True) as server:
        yield server


@pytest.fixture
def app_overrides(silent_dns) -> dict:
    return {"CALENDAR_READ_TIMEOUT_SECONDS": LIMIT_SECONDS, "CALENDAR_DNS_RESOLVER": silent_dns.url,
            "CALENDAR_WEB_BUDGET_SECONDS": 1, "ALLOW_PRIVATE_CALENDAR_HOSTS": True}


def timed(call) -> tuple[BaseException, float]:
    started = time.monotonic()
    try:
        call()
    except ProviderError as exc:
        return exc, time.monotonic() - started
    raise AssertionError("a lookup that never ends was waited for")


def test_hanging_dns_cut_off_at_the_read_deadline(app, silent_dns):
    """Regression: a resolver that never answered held the thread outside every deadline."""
    asked = len(silent_dns.queries)
    provider = ICSProvider({}, {"url": "http://calendar.hangs.test/cal.ics"}, ZoneInfo("UTC"),
                           allow_private=True)
    try:
        exc, seconds = timed(lambda: provider.sync("feed", None, WINDOW))
    finally:
        provider.close()
    assert isinstance(exc, bounded.TooSlow), exc
    assert f"within {LIMIT_SECONDS} s" in str(exc)
    assert LIMIT_SECONDS - 0.2 <= seconds < LIMIT_SECONDS + SLACK
    assert len(silent_dns.queries) > asked and "calendar.hangs.test" in silent_dns.queries


def test_hanging_dns_in_check_url_is_inside_the_budget(app, silent_dns):
    """The up-front check of a new URL resolves under the same deadline, and a budget
    narrows it (the web's connect)."""
    exc, seconds = timed(lambda: netguard.check_url("https://calendar.hangs.test/x.ics", allow_private=False))
    assert isinstance(exc, bounded.TooSlow) and "DNS lookup" in str(exc), exc
    assert seconds < LIMIT_SECONDS + SLACK
    with bounded.budget(0.5):
        exc, seconds = timed(lambda: netguard.check_url("https://calendar.hangs.test/x.ics",
                                                        allow_private=False))
    assert isinstance(exc, bounded.TooSlow) and seconds < 0.5 + SLACK


def test_live_check_with_hanging_dns_is_calendar_unavailable(client, make_client, frozen, db):
    """The booking's re-check against a feed whose host never resolves: 503
    calendar_unavailable within the web's budget, like a slow server."""
    booked_client, token = make_client()
    lawyer = booked_client.lawyer
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="Office feed", config={},
                              secret_enc=encrypt_json({"url": "https://calendar.hangs.test/office.ics"}))
    db.session.add_all([account, Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed",
                                          name="Office", conflict=True, synced_at=utcnow())])
    db.session.commit()
    started = time.monotonic()
    answer = client.post("/api/v1/bookings", json={
        "token": token, "start": "2026-03-04T13:00:00+00:00", "name": "B",
        "email": "b@client.example", "agenda": "x"})
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "calendar_unavailable"
    assert time.monotonic() - started < 1 + SLACK


def test_configured_resolver_is_used_and_guarded():
    """A resolver that answers: the feed is read through it, and an answer pointing at
    loopback is refused by the private-address guard like the system resolver's."""
    with DnsServer(address="127.0.0.1") as dns, HostileServer() as hostile:
        app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "CALENDAR_DNS_RESOLVER": dns.url,
                          "ALLOW_PRIVATE_CALENDAR_HOSTS": True})
        url = f"http://calendar.answers.test:{hostile.port}/ok/cal.ics"
        with app.app_context():
            with netguard.session() as http:
                assert http.get(url).status_code == 200
            assert "calendar.answers.test" in dns.queries
            with pytest.raises(netguard.BlockedHost):
                netguard.check_url("https://calendar.answers.test/cal.ics", allow_private=False)
            provider = ICSProvider({}, {"url": url}, ZoneInfo("UTC"), allow_private=False)
            try:
                with pytest.raises(netguard.BlockedHost):
                    provider.sync("feed", None, WINDOW)
            finally:
                provider.close()


def test_stranded_lookups_are_capped():
    """Lookups left running past their deadline hold a thread each: beyond
    MAX_STRANDED_LOOKUPS a new one is refused at once instead of adding threads."""
    release = threading.Event()
    stranded = 0
    try:
        for _ in range(bounded.MAX_STRANDED_LOOKUPS):
            with pytest.raises(bounded.DeadlineExceeded):
                bounded.within(0.01, lambda: release.wait(30))
            stranded += 1
        started = time.monotonic()
        with pytest.raises(bounded.DeadlineExceeded):
            bounded.within(5, lambda: "never run")
        assert time.monotonic() - started < 0.5
    finally:
        release.set()
    time.sleep(0.2)
    assert bounded.within(1, lambda: "answered") == "answered" and stranded


def test_malformed_dns_resolver_setting_fails_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("ENV", "development")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CALENDAR_DNS_RESOLVER", "ns1.example")
    with pytest.raises(ConfigError, match="CALENDAR_DNS_RESOLVER"):
        create_app()
