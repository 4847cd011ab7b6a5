"""Rate limits on the public endpoints (Flask-Limiter), keyed on the real client address.

Which endpoint gets which limit is the table ``RULES`` below (by endpoint name); a view
of another blueprint can also opt in with the ``limited`` decorator. Limits come from
settings (``RATELIMIT_BOOKING`` etc., "10/minute;50/hour" style) and are counted in
``RATELIMIT_STORAGE_URI`` — Redis in production, so every worker and host shares them.

The client address is the socket peer. ``X-Forwarded-For`` is believed only for the
``TRUSTED_PROXIES`` proxies in front of us (werkzeug's ``ProxyFix`` takes the address
the nearest trusted proxy saw), so a forged header never buys a fresh limit.

``init_app`` wraps the views that exist when it runs: call it after every blueprint is
registered (``create_app`` does it last).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import ConfigError
from service.errors import error_response


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

#: endpoint name -> the limits it gets. Endpoints not registered (yet) are skipped.
RULES: dict[str, tuple[Rule, ...]] = {
    "api.create_booking": (BOOKING_BY_IP, BOOKING_BY_TOKEN),
    "public.book": (BOOKING_BY_IP, BOOKING_BY_TOKEN),
    "public.reschedule": (BOOKING_BY_IP,),
    "public.cancel": (BOOKING_BY_IP,),
    "api.slots": (SLOTS_BY_IP,),
    "public.booking_page": (SLOTS_BY_IP,),
    "public.manage": (SLOTS_BY_IP,),
    "admin.login": (LOGIN_BY_IP,),
}


def limited(*rules: Rule) -> Callable:
    """Decorator: give a view these limits, e.g. ``@limited(limits.LOGIN_BY_IP)``."""

    def mark(view: Callable) -> Callable:
        view.rate_limit_rules = (*getattr(view, "rate_limit_rules", ()), *rules)  # type: ignore[attr-defined]
        return view

    return mark


def _limit_string(setting: str) -> Callable[[], str]:
    return lambda: current_app.config[setting]


def _apply(limiter: Limiter, view: Callable, rules: tuple[Rule, ...]) -> Callable:
    for rule in rules:
        view = limiter.shared_limit(
            _limit_string(rule.setting),
            scope=rule.scope,
            key_func=rule.key,
            methods=list(rule.methods) if rule.methods else None,
            exempt_when=(lambda: link_token() is None) if rule.key is token_key else None,
            error_message=lambda: gettext("Too many requests. Please wait a minute and try again."),
        )(view)
    return view


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, not {proxies}")
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]

    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)  # Redis down: still limit
    limiter = Limiter(key_func=client_address, key_prefix=app.config["RATELIMIT_KEY_PREFIX"])
    limiter.init_app(app)
    app.extensions["counsel_limiter"] = limiter
    apply_limits(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        return error_response(429, "rate_limited", exc.description)


def apply_limits(app: Flask) -> None:
    """Wrap every registered view that has rules (safe to call again after late blueprints)."""
    limiter: Limiter = app.extensions["counsel_limiter"]
    done: set[str] = app.extensions.setdefault("counsel_limited_endpoints", set())
    for endpoint, view in list(app.view_functions.items()):
        rules = RULES.get(endpoint, ()) + tuple(getattr(view, "rate_limit_rules", ()))
        if rules and endpoint not in done:
            for rule in rules:
                _limit_check(app, rule.setting)
            app.view_functions[endpoint] = _apply(limiter, view, rules)
            done.add(endpoint)


def _limit_check(app: Flask, setting: str) -> None:
    from limits import parse_many

    try:
        parse_many(app.config[setting])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{setting} must be a limit like '10/minute;50/hour': {exc}") from None
