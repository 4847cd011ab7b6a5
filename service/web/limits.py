"""Rate limits on the public endpoints, keyed on the real client address.

Which endpoint gets which limit is the table ``RULES`` below (by endpoint name); a view
of another blueprint can also opt in with the ``limited`` decorator. Limits come from
settings (``RATELIMIT_BOOKING`` etc., "10/minute;50/hour" style) and are counted in
``RATELIMIT_STORAGE_URI`` — Redis in production, so every worker and host shares them —
with the ``limits`` library's storages and fixed windows (the counting Flask-Limiter
does, without its per-request machinery: that cost every request, ``/healthz``
included, about as much as the whole view of a cached slots answer, #19).

The client address is the socket peer. ``X-Forwarded-For`` is believed only for the
``TRUSTED_PROXIES`` proxies in front of us (werkzeug's ``ProxyFix`` takes the address
the nearest trusted proxy saw), so a forged header never buys a fresh limit.

The limits are checked in the first app-wide ``before_request`` hook, before any
blueprint's own hooks (a CSRF check refusing a request still counts it), and the rules
are looked up by endpoint at request time, so blueprints registered later are covered
too. An endpoint without rules (``/healthz``) costs one dictionary lookup.

Counting in batches (``SharedCounter``). A round trip to Redis per request and limit
was most of a cached slots answer. So a process takes up to ``RATELIMIT_BATCH`` hits of
a window at once from the shared counter (one ``INCRBY``: the counter says how many
hits all processes together have *taken*) and spends them locally; a batch is at most
1/``BATCH_SHARE`` of the limit, so small limits (the defaults' 10 or 120 a minute) are
still counted one request at a time. Why this and not counting cached answers only
locally: the limit is about an address, not about what its requests cost us, and
local counts would let every process grant the whole limit. The tolerance, per window:

- never more than the limit is granted: every granted hit is a distinct value of the
  shared counter at or below the limit, and a batch lives only as long as its window in
  Redis (its expiry is read with it), so it is never spent in the next window;
- at most (P - 1) x (n - 1) hits fewer than the limit, P processes (workers x hosts)
  and n the batch (hits taken but not yet spent elsewhere when the counter is full):
  with the defaults 0 (n = 1); at 1000/hour, 4 workers: 27 (2.7 %).

A window found full is refused locally until it ends, without asking Redis again.
Redis unreachable (or slower than ``STORAGE_TIMEOUT_SECONDS``): limits are counted per
process in memory until it answers again (asked again after 1, 2, 4 ... 60 s).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import gettext
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, Storage, storage_from_string
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from service.core.config import ConfigError
from service.web.errors import error_response


def client_address() -> str:
    """The client's address as the last trusted hop saw it (see ``ProxyFix``)."""
    return address_of(request.environ)


def address_of(environ: dict) -> str:
    """``client_address`` of a WSGI environ (behind ``ProxyFix``, as it left it)."""
    return environ.get("REMOTE_ADDR") or "unknown"


def link_token() -> str | None:
    """The bearer token a request is about: in the URL (``/b/<token>``) or the JSON body."""
    token = (request.view_args or {}).get("token")
    if token is None and request.is_json:
        body = request.get_json(silent=True)
        token = body.get("token") if isinstance(body, dict) else None
    return token if isinstance(token, str) and token else None


def token_key() -> str:
    """Limit key for a link token: its hash, so storage never holds the bearer secret."""
    token = (link_token() or "").encode("utf-8", "replace")
    return "token:" + hashlib.sha256(token).hexdigest()[:32]


def channel_key() -> str:
    """Limit key for a Google push: the channel it names (hashed; any length)."""
    channel = request.headers.get("X-Goog-Channel-ID", "").encode("utf-8", "replace")
    return "channel:" + hashlib.sha256(channel).hexdigest()[:32]


def intake_key() -> str:
    """Limit key for a public intake: its slug, so many addresses share one counter."""
    slug = str((request.view_args or {}).get("slug", "")).encode("utf-8", "replace")
    return "intake:" + hashlib.sha256(slug).hexdigest()[:32]


@dataclass(frozen=True)
class Rule:
    setting: str  # the config key holding the limit string
    scope: str  # endpoints with the same scope share one counter
    key: Callable[[], str] = client_address
    methods: tuple[str, ...] | None = None


BOOKING_BY_IP = Rule("RATELIMIT_BOOKING", "booking")
BOOKING_BY_TOKEN = Rule("RATELIMIT_BOOKING_TOKEN", "booking-token", token_key)
SLOTS_BY_IP = Rule("RATELIMIT_SLOTS", "slots")
LOGIN_BY_IP = Rule("RATELIMIT_LOGIN", "login", methods=("POST",))
INTAKE_BY_SLUG = Rule("RATELIMIT_INTAKE", "intake", intake_key, methods=("POST",))
GOOGLE_PUSH_BY_CHANNEL = Rule("RATELIMIT_GOOGLE_PUSH", "google-push", channel_key)
GOOGLE_PUSH_BY_IP = Rule("RATELIMIT_GOOGLE_PUSH_ADDRESS", "google-push-address")

#: endpoint name -> the limits it gets (names of endpoints not registered are harmless).
RULES: dict[str, tuple[Rule, ...]] = {
    # Writes: booking (API, page, widget), changing a call, public intake bookings.
    "api.create_booking": (BOOKING_BY_IP, BOOKING_BY_TOKEN),
    "public.book": (BOOKING_BY_IP, BOOKING_BY_TOKEN),
    "public.embed_book": (BOOKING_BY_IP, BOOKING_BY_TOKEN),
    "public.reschedule": (BOOKING_BY_IP,),
    "public.cancel": (BOOKING_BY_IP,),
    # Intakes: per address, and per intake across all addresses (bounds the mail and the
    # holds that many addresses together can cause).
    "public.intake_book": (BOOKING_BY_IP, INTAKE_BY_SLUG),
    "public.embed_intake_book": (BOOKING_BY_IP, INTAKE_BY_SLUG),
    "public.intake_confirm_post": (BOOKING_BY_IP,),
    "public.intake_confirm": (SLOTS_BY_IP,),
    # Reads that compute slots.
    "api.slots": (SLOTS_BY_IP,),
    "public.booking_page": (SLOTS_BY_IP,),
    "public.embed_booking_page": (SLOTS_BY_IP,),
    "public.manage": (SLOTS_BY_IP,),
    "public.embed_manage": (SLOTS_BY_IP,),
    "public.intake_page": (SLOTS_BY_IP,),
    "public.embed_intake_page": (SLOTS_BY_IP,),
    "admin.login": (LOGIN_BY_IP,),
}


_KNOWN: list[Rule] = [BOOKING_BY_IP, BOOKING_BY_TOKEN, SLOTS_BY_IP, LOGIN_BY_IP, INTAKE_BY_SLUG]


def limited(*rules: Rule) -> Callable:
    """Decorator: give a view these limits, e.g. ``@limited(limits.LOGIN_BY_IP)``.

    Use it at import time (a new ``Rule`` must be known when the app is created).
    """
    for rule in rules:
        if rule not in _KNOWN:
            _KNOWN.append(rule)

    def mark(view: Callable) -> Callable:
        view.rate_limit_rules = (*getattr(view, "rate_limit_rules", ()), *rules)  # type: ignore[attr-defined]
        return view

    return mark


def rules_for_request() -> tuple[Rule, ...]:
    endpoint = request.endpoint or ""
    view = current_app.view_functions.get(endpoint)
    return RULES.get(endpoint, ()) + tuple(getattr(view, "rate_limit_rules", ()))


#: A batch is at most this share of its limit (1/100): see "Counting in batches" above.
BATCH_SHARE = 100
#: Deadline of one call to the limit storage (connecting, or an answer).
STORAGE_TIMEOUT_SECONDS = 0.5
#: Longest wait before an unreachable storage is asked again.
STORAGE_RETRY_MAX_SECONDS = 60
#: Windows a process remembers (a batch being spent, or a window found full).
MAX_LEASES = 10_000

log = logging.getLogger(__name__)


@dataclass
class _Lease:
    """What a process holds of one window: the counter values ``next``..``last`` it may
    still grant, until ``ends`` (the window's end in the storage); ``full``: the shared
    counter has reached the limit, so nothing more is granted in this window."""

    next: int
    last: int
    ends: float
    full: bool


class SharedCounter:
    """Fixed-window limits counted in a ``limits`` storage, up to ``batch`` hits per round
    trip (see "Counting in batches" above; ``batch=1``: every hit is counted there, as
    ``limits.FixedWindowRateLimiter`` does)."""

    def __init__(self, storage: Storage, batch: int = 1) -> None:
        self.storage, self.batch_max = storage, batch
        self._leases: OrderedDict[str, _Lease] = OrderedDict()
        self._lock = threading.Lock()
        self.round_trips = 0  # calls to the storage (a count, for tests and the bench)

    def batch(self, item: RateLimitItem) -> int:
        return max(1, min(self.batch_max, item.amount // BATCH_SHARE))

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one hit; False if the window is full (the hit is refused)."""
        key = item.key_for(*identifiers)
        window_ends = None  # the end of the window a spent batch came from
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None:
                if time.time() >= lease.ends:
                    del self._leases[key]
                elif lease.next <= lease.last:
                    lease.next += 1
                    return True
                elif lease.full:
                    return False
                else:
                    window_ends = lease.ends
        n = self.batch(item)
        started = time.time()
        total = self.storage.incr(key, item.get_expiry(), amount=n)
        self.round_trips += 1
        granted = total - n + 1 <= item.amount
        if n == 1 and total < item.amount:
            return True  # nothing to remember: the next hit asks again
        # The window's end: known when this call opened it (the counter was empty) or
        # from the batch before it (that window still lives); else asked, after the
        # increment, so that a batch never outlives its window.
        if total == n:
            ends = started + item.get_expiry()
        else:
            ends = window_ends if window_ends is not None else self._ends(key)
        lease = _Lease(next=total - n + 2, last=min(total, item.amount), ends=ends,
                       full=total >= item.amount)
        with self._lock:
            self._leases[key] = lease
            self._leases.move_to_end(key)
            while len(self._leases) > MAX_LEASES:
                self._leases.popitem(last=False)
        return granted

    def reset_at(self, item: RateLimitItem, *identifiers: str) -> float:
        """When the current window of ``item`` ends (a time.time() instant)."""
        key = item.key_for(*identifiers)
        with self._lock:
            lease = self._leases.get(key)
        return lease.ends if lease is not None else self._ends(key)

    def _ends(self, key: str) -> float:
        """The earliest instant the window of ``key`` may end: the storage's answer less
        the time it took, less half a second (Redis rounds a TTL to the nearest second)."""
        started = time.time()
        ends = self.storage.get_expiry(key)
        self.round_trips += 1
        return ends - (time.time() - started) - 0.5


class Limiter:
    """The app's limits: counted in the configured storage, in memory while it is down."""

    def __init__(self, uri: str, prefix: str, batch: int) -> None:
        self.prefix = prefix
        shared = not uri.startswith("memory://")
        self.primary = SharedCounter(_storage(uri), batch if shared else 1)
        self.fallback = SharedCounter(MemoryStorage()) if shared else None
        self._down_until = 0.0
        self._failures = 0
        self._lock = threading.Lock()

    def _counted(self, use: Callable[[SharedCounter], object]) -> object:
        if self.fallback is None or time.time() >= self._down_until:
            try:
                answer = use(self.primary)
            except Exception:  # noqa: BLE001 - any storage failure: count in memory instead
                if self.fallback is None:
                    raise
                self._storage_failed()
            else:
                self._failures = 0
                return answer
        return use(self.fallback)

    def _storage_failed(self) -> None:
        with self._lock:
            wait = min(STORAGE_RETRY_MAX_SECONDS, 2 ** self._failures)
            self._failures += 1
            self._down_until = time.time() + wait
        log.warning("rate limit storage unreachable: counting in memory, asking again in %s s",
                    wait, exc_info=self._failures == 1)

    def hit(self, item: RateLimitItem, scope: str, key: str) -> bool:
        return bool(self._counted(lambda counter: counter.hit(item, self.prefix, scope, key)))

    def retry_after(self, item: RateLimitItem, scope: str, key: str) -> int:
        """Whole seconds until the window of ``item`` lets the next hit through (at least 1;
        the window's length if the storage cannot say)."""
        try:
            ends = self._counted(lambda counter: counter.reset_at(item, self.prefix, scope, key))
            return max(1, int(ends - time.time() + 0.999))
        except Exception:  # noqa: BLE001 - storage gone: the whole window is an honest answer
            return max(1, item.get_expiry())


def _storage(uri: str) -> Storage:
    """The ``limits`` storage of ``uri``; Redis with a deadline on every call."""
    options: dict[str, float] = {}
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = {"socket_timeout": STORAGE_TIMEOUT_SECONDS,
                   "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS}
    try:
        return storage_from_string(uri, **options)
    except ConfigurationError as exc:
        raise ConfigError(f"RATELIMIT_STORAGE_URI cannot be used: {exc}") from None


@functools.lru_cache(maxsize=64)
def _items(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


class RateLimited(TooManyRequests):
    """A request over one of its limits; ``retry_after``: whole seconds to wait."""


def check_limits() -> None:
    """Count this request against each of its rules' limits; ``RateLimited`` when one is
    full (the limits after it are not counted)."""
    rules = rules_for_request()
    if not rules:
        return
    for rule in dict.fromkeys(rules):  # each rule once
        if rule.methods is not None and request.method not in rule.methods:
            continue
        if rule.key is token_key and link_token() is None:
            continue
        refused = count(current_app, rule, rule.key())
        if refused is not None:
            raise refused


def count(app: Flask, rule: Rule, key: str) -> RateLimited | None:
    """Count one request of ``key`` against each of ``rule``'s limits; the refusal if one
    is full (the limits after it are not counted). Also outside a request
    (``replay``)."""
    if not app.config["RATELIMIT_ENABLED"]:
        return None
    limiter: Limiter = app.extensions["counsel_limiter"]
    for item in _items(app.config[rule.setting]):
        if not limiter.hit(item, rule.scope, key):
            log.info("rate limit %s of %s reached", item, rule.scope)
            return RateLimited(retry_after=limiter.retry_after(item, rule.scope, key))
    return None


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, not {proxies}")
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    for rule in _KNOWN:
        _limit_check(app, rule.setting)
    batch = app.config["RATELIMIT_BATCH"]
    if not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"RATELIMIT_BATCH must be a whole number above 0, not {batch!r}")
    app.extensions["counsel_limiter"] = Limiter(
        app.config["RATELIMIT_STORAGE_URI"], app.config["RATELIMIT_KEY_PREFIX"], batch
    )
    if app.config["RATELIMIT_ENABLED"]:
        # First of the app-wide hooks: a request refused by a later hook still counts.
        app.before_request_funcs.setdefault(None, []).insert(0, check_limits)

    # No X-RateLimit-* headers on answers: each cost the storage one more round trip (a
    # third of a cached slots answer, #19); a 429 says when to come back (Retry-After).
    @app.errorhandler(RateLimited)
    def too_many(exc: RateLimited):
        _speak_the_links_language()
        body, status = error_response(
            429, "rate_limited", gettext("Too many requests. Please wait a moment and try again.")
        )
        return body, status, {"Retry-After": str(exc.retry_after)}


def _speak_the_links_language() -> None:
    """On a client's page (``/b/<token>``, ``/m/<token>``) the refusal speaks the client's
    agreed language, as the page itself would (two indexed lookups, well-formed tokens only)."""
    from flask import g

    from service.usecases import links

    token = (request.view_args or {}).get("token")
    if not links.well_formed_token(token):
        return
    client = links.find_client(token)
    if client is None:
        booking = links.find_by_manage_token(token)
        client = booking.client if booking is not None else None
    if client is not None:
        g.lang = client.language
        g.pop("_flask_babel", None)  # a locale chosen earlier in this request is chosen again


def _limit_check(app: Flask, setting: str) -> None:
    try:
        parse_many(app.config[setting])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{setting} must be a limit like '10/minute;50/hour': {exc}") from None
