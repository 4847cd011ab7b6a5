"""The login throttle: failed sign-ins counted per address+account, per address, per account.

It keeps its counters in the same storage as the app's rate limits
(``RATELIMIT_STORAGE_URI``: memory for one process, ``redis://`` across workers and
hosts), using the ``limits`` library that Flask-Limiter is built on. Only failures count,
so a lawyer who types the password right is never slowed down; once a limit is reached
even the right password is refused until the window passes.

Switching to the app-wide limiter (``service/limits.py``): replace ``_limiter`` with one
built on that limiter's storage; ``blocked``/``failed``/``succeeded`` stay as they are.
"""

from __future__ import annotations

import time

from flask import Flask, current_app
from limits import RateLimitItem, parse, storage, strategies

PER_ACCOUNT_ADDRESS = parse("5 per 15 minutes")
PER_ADDRESS = parse("30 per hour")
PER_ACCOUNT = parse("50 per hour")  # a spread-out guessing attack on one account


def init_app(app: Flask) -> None:
    app.extensions["login_throttle"] = None  # built on first use (no connection at start-up)


def _limiter() -> strategies.RateLimiter:
    limiter = current_app.extensions.get("login_throttle")
    if limiter is None:
        backend = storage.storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        limiter = strategies.FixedWindowRateLimiter(backend)
        current_app.extensions["login_throttle"] = limiter
    return limiter


def _keys(email: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    account = email.strip().lower()[:320]
    return [
        (PER_ACCOUNT_ADDRESS, ("login", "account-address", account, address)),
        (PER_ADDRESS, ("login", "address", address)),
        (PER_ACCOUNT, ("login", "account", account)),
    ]


def blocked(email: str, address: str) -> int | None:
    """Seconds until another attempt is allowed, or None if allowed now."""
    limiter = _limiter()
    wait = 0.0
    for item, ids in _keys(email, address):
        if not limiter.test(item, *ids):
            reset, _remaining = limiter.get_window_stats(item, *ids)
            wait = max(wait, reset - time.time())
    return max(1, int(wait + 0.999)) if wait > 0 else None


def failed(email: str, address: str) -> None:
    limiter = _limiter()
    for item, ids in _keys(email, address):
        limiter.hit(item, *ids)


def succeeded(email: str, address: str) -> None:
    """A right password forgives this address's earlier typos for the account."""
    item, ids = _keys(email, address)[0]
    _limiter().clear(item, *ids)
