"""The admin's connect of a feed whose host name never resolves (a silent DNS server on
loopback through ``CALENDAR_DNS_RESOLVER``): a form message within the web's budget."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.admin.conftest import post
from tests.dns_server import DnsServer

SLACK = 2.5


@pytest.fixture(scope="module")
def silent_dns() -> Iterator[DnsServer]:
    with DnsServer(silent=True) as server:
        yield server


@pytest.fixture
def app_overrides(silent_dns, private) -> dict:
    return {"CALENDAR_DNS_RESOLVER": silent_dns.url, "CALENDAR_WEB_BUDGET_SECONDS": 1,
            "CALENDAR_READ_TIMEOUT_SECONDS": 60, "ALLOW_PRIVATE_CALENDAR_HOSTS": private}


@pytest.fixture(params=[True, False], ids=["private-allowed", "private-refused"])
def private(request) -> bool:
    """Refused: the address check resolves the host first (outside the reader's budget
    before this fix); allowed: only the reader's session resolves it."""
    return request.param


def test_connect_with_hanging_dns_gives_a_form_message(admin, silent_dns):
    """Regression: connecting a feed whose DNS never answered held the web worker (the
    address check resolved outside every deadline)."""
    started = time.monotonic()
    page = post(admin, "/admin/calendars/ics", {"url": "https://calendar.hangs.test/office.ics"},
                token_from="/admin/calendars", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert time.monotonic() - started < 1 + 5 + SLACK
    assert page.status_code in (200, 422), text[:3000]
    assert re.search(r"no complete answer within [01](\.\d)? s and was cut off", text), text[:3000]
    assert "calendar.hangs.test" in silent_dns.queries
