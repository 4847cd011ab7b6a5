"""Keep calendar URLs from reaching into the service's own network (SSRF).

A lawyer types a calendar URL; the server fetches it. Without a guard that URL could be
``http://169.254.169.254/`` (cloud metadata) or a database on the private network. Two
checks, both refused unless ``ALLOW_PRIVATE_CALENDAR_HOSTS`` is on:

1. :func:`check_url` up front, for a clear message when an account is added: the scheme
   must be https (plain http only together with private hosts, for local test servers)
   and every address the host name resolves to must be public.
2. :func:`session`: an HTTP session whose DNS resolver hands the socket only public
   addresses, so the address actually connected to is checked too. That covers DNS
   rebinding (a name that resolved publicly a moment ago and privately now) and
   redirects to private hosts.

Both look names up with ``CALENDAR_DNS_RESOLVER`` (a niquests resolver URL such as
``dou://9.9.9.9`` or ``doh+cloudflare://``; empty: the system's resolver), and inside the
exchange's deadline (``bounded.within``): a resolver that never answers is cut off like a
slow server (``TooSlow``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import niquests
from niquests.packages.urllib3.contrib.resolver import BaseResolver, ResolverDescription
from niquests.packages.urllib3.contrib.resolver.system import SystemResolver

from service.calendars import bounded
from service.calendars.base import ProviderError

MAX_REDIRECTS = 5


class BlockedHost(ProviderError):
    """The calendar URL points at a private, loopback or otherwise internal address."""

    retryable = False


class BlockedAddressError(OSError):
    """Raised inside the HTTP stack when a connection would go to a refused address."""


def private_hosts_allowed() -> bool:
    """The app's ``ALLOW_PRIVATE_CALENDAR_HOSTS``; False (refuse) outside an app."""
    from flask import current_app, has_app_context

    return bool(has_app_context() and current_app.config.get("ALLOW_PRIVATE_CALENDAR_HOSTS"))


def dns_resolver_url() -> str:
    """The app's ``CALENDAR_DNS_RESOLVER``; empty (the system's resolver) outside an app."""
    from flask import current_app, has_app_context

    return str(current_app.config.get("CALENDAR_DNS_RESOLVER") or "") if has_app_context() else ""


def base_resolver(url: str = "") -> BaseResolver:
    """The resolver names are looked up with: ``url``'s (niquests' resolver URLs), else the
    system's."""
    return ResolverDescription.from_url(url).new() if url else SystemResolver()


#: NAT64 (RFC 6052 well-known prefix): the last 32 bits are the IPv4 address reached.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Never a calendar server: local-use NAT64 (RFC 8215, any mapping the network chose)
#: the deprecated IPv4-compatible addresses ``::a.b.c.d`` (RFC 4291) and SIIT's
#: IPv4-translated ``::ffff:0:a.b.c.d`` (RFC 2765).
_REFUSED_V6 = tuple(
    ipaddress.ip_network(net) for net in ("64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; an IPv6 address that carries an
    IPv4 address (IPv4-mapped, 6to4, NAT64) is judged by the IPv4 address it reaches."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
        elif any(ip in network for network in _REFUSED_V6):
            return False
    return ip.is_global and not ip.is_multicast


def blocked_message(host: str, address: str) -> str:
    return (
        f"{host} resolves to {address}, a private or internal address; calendar URLs "
        "must point to a public server (an administrator can allow private hosts with "
        "ALLOW_PRIVATE_CALENDAR_HOSTS)"
    )


def display_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def normalise_url(url: str) -> str:
    """Trim, and read ``webcal://`` (calendar feed links) as https."""
    url = url.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    return url


def check_url(url: str, *, allow_private: bool | None = None) -> str:
    """Validate a calendar URL before it is stored or used; returns it normalised.

    Raises :class:`BlockedHost` for private addresses and :class:`ProviderError` for
    malformed URLs and host names that do not resolve.
    """
    if allow_private is None:
        allow_private = private_hosts_allowed()
    url = normalise_url(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise ProviderError(f"not a calendar URL: {display_url(url)!r} (expected https://...)")
    if parts.username is not None or parts.password is not None:
        raise ProviderError("put the username and password in their own fields, not in the URL")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ProviderError(f"not a calendar URL: {url!r} (bad port)") from None
    if not allow_private:
        for address in resolve(parts.hostname, port):
            if not is_public(address):
                raise BlockedHost(blocked_message(parts.hostname, address))
        if scheme == "http":
            raise ProviderError(
                f"{display_url(url)} is not encrypted: use an https:// URL for calendars"
            )
    return url


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, looked up within what is left of the deadline
    (``TooSlow`` when the resolver does not answer in time)."""
    seconds = bounded.seconds_left()
    resolver = base_resolver(dns_resolver_url())
    try:
        infos = bounded.within(
            seconds,
            lambda: resolver.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM),
            f"the DNS lookup of {host}",
        )
    except bounded.DeadlineExceeded:
        raise bounded.too_slow(f"the calendar server {host} (DNS lookup)", round(seconds, 1)) from None
    except (OSError, UnicodeError):
        raise ProviderError(
            f"cannot find the calendar server {host!r} (DNS lookup failed)"
        ) from None
    finally:
        resolver.close()
    return sorted({str(info[4][0]) for info in infos})


class GuardedResolver(SystemResolver):
    """A resolver (``dns``: a niquests resolver URL; empty: the system's) returning only
    public addresses (unless allowed), each lookup cut off at the exchange's deadline; the
    sockets it connects are noted in ``sockets`` (the session's deadline watchdog)."""

    def __init__(self, *patterns: str, allow_private: bool = False,
                 sockets: bounded.SocketRegistry | None = None, dns: str = "", **kwargs: Any):
        super().__init__(*patterns, **kwargs)
        self.allow_private = allow_private
        self.sockets = sockets if sockets is not None else bounded.SocketRegistry()
        self.dns = dns
        self.inner = base_resolver(dns)

    def recycle(self) -> GuardedResolver:
        return GuardedResolver(allow_private=self.allow_private, sockets=self.sockets, dns=self.dns)

    def close(self) -> None:
        self.inner.close()

    def is_available(self) -> bool:
        return self.inner.is_available()

    def create_connection(self, *args: Any, **kwargs: Any) -> socket.socket:
        sock = super().create_connection(*args, **kwargs)
        self.sockets.add(sock)
        return sock

    def getaddrinfo(self, host, port, family, type, proto=0, flags=0, **kwargs):  # noqa: A002
        deadline = self.sockets.deadline
        seconds = bounded.seconds_left() if deadline is None else deadline - time.monotonic()
        name = host.decode() if isinstance(host, bytes) else str(host)
        records = bounded.within(
            seconds,
            lambda: self.inner.getaddrinfo(host, port, family, type, proto, flags, **kwargs),
            f"the DNS lookup of {name}",
        )
        if self.allow_private:
            return records
        public = [r for r in records if is_public(str(r[4][0]))]
        if not public:
            address = str(records[0][4][0]) if records else "?"
            raise BlockedAddressError(blocked_message(name, address))
        return public


def session(
    *, allow_private: bool | None = None, subject: str = "the calendar server"
) -> bounded.BoundedSession:
    """An HTTP session for calendar traffic: guarded resolver, no environment
    proxies or ``.netrc`` (they would bypass the guard or add credentials), a small
    redirect limit, every answer capped in size and total time (``bounded``).
    ``subject`` names the server in messages."""
    if allow_private is None:
        allow_private = private_hosts_allowed()
    sockets = bounded.SocketRegistry()
    http = bounded.BoundedSession(
        resolver=GuardedResolver(allow_private=allow_private, sockets=sockets, dns=dns_resolver_url()),
        sockets=sockets,
        subject=subject,
    )
    http.trust_env = False
    # Without trust_env, niquests would also ignore the operator's CA bundle: honour it
    # (a corporate CA in front of Graph; the tests' stand-ins), nothing else of the env.
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        http.verify = bundle
    http.max_redirects = MAX_REDIRECTS
    return http


class SessionPool:
    """Guarded sessions kept per (process, server, ``allow_private``), so repeated reads of
    one server (a booking's conditional GET of a feed, every few seconds) reuse an open
    connection instead of a new TCP (and TLS) handshake each time.

    A session is lent to one caller at a time (its deadline watchdog shuts down only its
    own sockets), given back only after a clean exchange (never once cut off), and
    dropped after ``IDLE_SECONDS`` unused. Each is an ordinary :func:`session`: the
    resolver checks every new connection's address as before.
    """

    IDLE_SECONDS = 60.0
    PER_SERVER = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple, list[tuple[float, bounded.BoundedSession]]] = {}

    @contextmanager
    def lend(self, url: str, *, allow_private: bool, subject: str) -> Iterator[bounded.BoundedSession]:
        parts = urlsplit(url)
        key = (os.getpid(), parts.scheme.lower(), parts.hostname, parts.port, allow_private, subject)
        now = time.monotonic()
        http = None
        with self._lock:
            idle = self._idle.get(key, [])
            while idle and http is None:
                used, candidate = idle.pop()
                if now - used <= self.IDLE_SECONDS:
                    http = candidate
                else:
                    candidate.close()
        if http is None:
            http = session(allow_private=allow_private, subject=subject)
        clean = False
        try:
            yield http
            clean = http.cut_off is None
        finally:
            if clean:
                with self._lock:
                    idle = self._idle.setdefault(key, [])
                    if len(idle) < self.PER_SERVER:
                        idle.append((time.monotonic(), http))
                        http = None
            if http is not None:
                http.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for sessions in idle.values():
            for _, http in sessions:
                http.close()


#: The process's pool (``SessionPool``), used by the iCal feed provider.
POOL = SessionPool()


def blocked_in(exc: BaseException) -> BlockedAddressError | None:
    """The :class:`BlockedAddressError` somewhere in ``exc``'s chain, if any."""
    found = bounded.in_chain(exc, BlockedAddressError)
    return found if isinstance(found, BlockedAddressError) else None


def unreachable(
    exc: niquests.exceptions.RequestException, subject: str, reason: str | None = None
) -> ProviderError:
    """The lawyer-worded error for a failed request to ``subject`` ("the CalDAV server
    dav.example"): a refused private address, a timeout, or no connection."""
    blocked = blocked_in(exc)
    if blocked is not None:
        return BlockedHost(str(blocked))
    if isinstance(exc, niquests.exceptions.TooManyRedirects):
        return ProviderError(f"{subject} redirects too often (more than {MAX_REDIRECTS} times)")
    if isinstance(exc, niquests.exceptions.Timeout):
        return ProviderError(f"{subject} did not answer in time")
    return ProviderError(f"cannot reach {subject}" + (f" ({reason})" if reason else ""))
