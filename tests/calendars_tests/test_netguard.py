"""The SSRF guard: URLs checked up front, and the address actually connected to."""

from __future__ import annotations

import pytest

from service.calendars import netguard
from service.calendars.base import ProviderError
from service.calendars.netguard import BlockedHost


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "2001:db8::1",  # documentation
    ],
)
def test_internal_addresses_are_not_public(address):
    assert not netguard.is_public(address)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 to 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254 (cloud metadata)
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::808:808",  # local-use NAT64: the network chooses the mapping
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::808:808",  # IPv4-compatible, deprecated: never a calendar server
        "::ffff:0:a00:1",  # SIIT-translated 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_nat64_and_ipv4_compatible_addresses_refused_by_the_guard(address):
    """Regression: 64:ff9b::7f00:1 and ::7f00:1 counted as public (Python calls them global)."""
    assert not netguard.is_public(address)


def test_nat64_and_ipv4_compatible_loopback_refused_by_check_url(monkeypatch):
    """The same through check_url: a name resolving to NAT64 loopback is refused."""
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["64:ff9b::7f00:1"])
    with pytest.raises(BlockedHost, match="64:ff9b::7f00:1"):
        netguard.check_url("https://calendar.example/feed.ics", allow_private=False)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2a00:1450:4001:80b::200e", "64:ff9b::808:808"]
)
def test_public_addresses(address):
    assert netguard.is_public(address)


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/dav/", "https://localhost:8443/", "http://[::1]:5232/"]
)
def test_check_url_refuses_loopback(url):
    with pytest.raises(BlockedHost, match="private or internal address"):
        netguard.check_url(url, allow_private=False)


def test_check_url_allows_loopback_when_configured():
    assert netguard.check_url("http://127.0.0.1:5232/", allow_private=True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/cal.ics", "not a calendar URL"),
        ("https://user:pw@example.com/", "not in the URL"),
        ("https://example.com:99999/", "bad port"),
        ("https://no-such-host.invalid/", "DNS lookup failed"),
    ],
)
def test_check_url_rejects_malformed(url, message):
    with pytest.raises(ProviderError, match=message):
        netguard.check_url(url, allow_private=False)


def test_webcal_is_read_as_https():
    assert netguard.normalise_url(" webcal://example.com/a.ics ") == "https://example.com/a.ics"


def test_display_url_hides_credentials():
    assert (
        netguard.display_url("https://u:secret@example.com:8443/x") == "https://example.com:8443/x"
    )


def test_connection_to_loopback_refused_by_the_resolver(radicale):
    """Even past check_url (a name that re-resolved, a redirect), the socket is never
    opened to a private address."""
    with netguard.session(allow_private=False) as http, pytest.raises(Exception) as caught:
        http.get(radicale.url, timeout=5)
    blocked = netguard.blocked_in(caught.value)
    assert blocked is not None and "127.0.0.1" in str(blocked)


def test_connection_allowed_when_configured(radicale):
    with netguard.session(allow_private=True) as http, http.get(radicale.url, timeout=5) as r:
        assert r.status_code in (200, 302, 401)


def test_outside_an_app_private_hosts_are_refused():
    assert netguard.private_hosts_allowed() is False
