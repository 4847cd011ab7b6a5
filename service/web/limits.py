"""Rate limits on the public endpoints (Flask-Limiter), keyed on the real client address.

Which endpoint gets which limit is the table ``RULES`` below (by endpoint name); a view
of another blueprint can also opt in with the ``limited`` decorator. Limits come from
settings (``RATELIMIT_BOOKING`` etc., "10/minute;50/hour" style) and are counted in
``RATELIMIT_STORAGE_URI`` — Redis in production, so every worker and host shares them.

The client address is the socket peer. ``X-Forwarded-For`` is believed only for the
``TRUSTED_PROXIES`` proxies in front of us (werkzeug's ``ProxyFix`` takes the address
the nearest trusted proxy saw), so a forged header never buys a fresh limit.

The limits are checked in an app-wide ``before_request`` hook, before any blueprint's
own hooks (a CSRF check refusing a request still counts it), and the rules are looked
up by endpoint at request time, so blueprints registered later are covered too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limit, Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from service.core.config import ConfigError
from service.web.errors import error_response


def client_address() -> str:
    """The client's address as the last trusted hop saw it (see ``ProxyFix``)."""
    return request.remote_addr or "unknown"


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


def _as_limit(rule: Rule) -> Limit:
    def exempt() -> bool:
        if rule not in rules_for_request():
            return True
        return rule.key is token_key and link_token() is None

    return Limit(
        limit_provider=lambda: current_app.config[rule.setting],
        key_function=rule.key,
        scope=rule.scope,
        shared=True,  # endpoints with the same scope count together
        methods=rule.methods,
        exempt_when=exempt,
        error_message=lambda: gettext("Too many requests. Please wait a moment and try again."),
    )


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, not {proxies}")
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    for rule in _KNOWN:
        _limit_check(app, rule.setting)

    # No X-RateLimit-* headers on every answer: each costs the storage one more round trip
    # (a third of a cached slots answer, #19); a 429 says when to come back (Retry-After).
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)  # Redis down: still limit
    # "Default" limits in Flask-Limiter's terms: checked before every request, each one
    # exempt unless the endpoint's rules name it.
    limiter = Limiter(
        key_func=client_address,
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        default_limits=[_as_limit(rule) for rule in _KNOWN],
    )
    limiter.init_app(app)
    app.extensions["counsel_limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        _speak_the_links_language()
        body, status = error_response(429, "rate_limited", exc.description)
        return body, status, {"Retry-After": str(_retry_after(limiter))}


def _retry_after(limiter: Limiter) -> int:
    """Whole seconds until the limit this request broke lets the next one through (at
    least 1; the window's length if the storage cannot say)."""
    import time

    breached = limiter.current_limit
    if breached is None:
        return 1
    try:
        return max(1, int(breached.reset_at - time.time()))
    except Exception:  # noqa: BLE001 - storage gone: the whole window is an honest answer
        return max(1, int(breached.limit.get_expiry()))


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
    from limits import parse_many

    try:
        parse_many(app.config[setting])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{setting} must be a limit like '10/minute;50/hour': {exc}") from None
