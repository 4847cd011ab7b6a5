"""The login throttle: failed sign-ins counted per address+account, per address, per
account — slowing a guessing attacker without locking the lawyer out.

It keeps its counters in the same storage as the app's rate limits
(``RATELIMIT_STORAGE_URI``: memory for one process, ``redis://`` across workers and
hosts) under ``RATELIMIT_KEY_PREFIX``, using the ``limits`` library that Flask-Limiter
is built on. Only failures count, so a lawyer who types the password right is never
slowed down; once a limit is reached even the right password is refused until the
window passes.

The per-account limit (a guessing attack spread over many addresses) would lock the
owner out too, wherever they come from. So a browser that once signed in to the account
gets a signed *device cookie* (OWASP's "device cookies"): such a browser is exempt from
the per-account limit — it has its own small per-device limit instead — and the owner
signs in from a new address while the attacker's fresh addresses stay locked. A
brand-new browser of the owner's (no device cookie) gets in through a one-time link
mailed to the account's own address (``usecases.signin``; offered on the "too many
failed sign-ins" page), which also makes it a known device.

Asking for such a link (or a password reset) is limited too, per address and per
account (``link_allowed``), so the form cannot flood anybody's mailbox.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse, storage, strategies

PER_ACCOUNT_ADDRESS = parse("5 per 15 minutes")
PER_ADDRESS = parse("30 per hour")
PER_ACCOUNT = parse("20 per hour")  # a spread-out guessing attack on one account (the owner: a mailed link)
PER_DEVICE = parse("10 per 15 minutes")  # a known browser, wherever it signs in from
LINKS_PER_ADDRESS = parse("10 per hour")  # reset / sign-in links asked from one address
LINKS_PER_ACCOUNT = parse("3 per hour")  # links mailed to one address

DEVICE_COOKIE = "ch_device"
DEVICE_DAYS = 180
_SALT = "login-device"


def init_app(app: Flask) -> None:
    app.extensions["login_throttle"] = None  # built on first use (no connection at start-up)


def _limiter() -> strategies.RateLimiter:
    limiter = current_app.extensions.get("login_throttle")
    if limiter is None:
        backend = storage.storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        limiter = strategies.FixedWindowRateLimiter(backend)
        current_app.extensions["login_throttle"] = limiter
    return limiter


def _account(email: str) -> str:
    return (email or "").strip().lower()[:320]


def _keys(email: str, address: str, device: str | None) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    account = _account(email)
    keys = [
        (PER_ACCOUNT_ADDRESS, (prefix, "login", "account-address", account, address)),
        (PER_ADDRESS, (prefix, "login", "address", address)),
    ]
    if device is None:
        keys.append((PER_ACCOUNT, (prefix, "login", "account", account)))
    else:
        keys.append((PER_DEVICE, (prefix, "login", "device", device)))
    return keys


def blocked(email: str, address: str, device: str | None = None) -> int | None:
    """Seconds until another attempt is allowed, or None if allowed now.

    ``device``: what ``known_device`` said of this browser's cookie for this account.
    """
    limiter = _limiter()
    wait = 0.0
    for item, ids in _keys(email, address, device):
        if not limiter.test(item, *ids):
            reset, _remaining = limiter.get_window_stats(item, *ids)
            wait = max(wait, reset - time.time())
    return max(1, int(wait + 0.999)) if wait > 0 else None


def failed(email: str, address: str, device: str | None = None) -> None:
    limiter = _limiter()
    for item, ids in _keys(email, address, device):
        limiter.hit(item, *ids)
    if device is not None:  # a known browser's failures still count towards the account
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        limiter.hit(PER_ACCOUNT, prefix, "login", "account", _account(email))


def succeeded(email: str, address: str, device: str | None = None) -> None:
    """A right password forgives this address's (and this browser's) earlier typos."""
    for item, ids in _keys(email, address, device):
        if item in (PER_ACCOUNT_ADDRESS, PER_DEVICE):
            _limiter().clear(item, *ids)


def link_allowed(email: str, address: str) -> tuple[bool, bool]:
    """Count one request for a mailed link: (address allowed, account allowed).

    The account's count is kept for any typed address, signing in or not, so being
    limited says nothing about whether the address has an account."""
    limiter = _limiter()
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    by_address = limiter.hit(LINKS_PER_ADDRESS, prefix, "link", "address", address)
    by_account = by_address and limiter.hit(LINKS_PER_ACCOUNT, prefix, "link", "account", _account(email))
    return by_address, by_account


# -- device cookies ------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _account_tag(email: str) -> str:
    return hashlib.sha256(_account(email).encode()).hexdigest()[:16]


def new_device_cookie(email: str, device: str | None = None) -> str:
    """The signed cookie value marking this browser as known for the account."""
    return _serializer().dumps({"a": _account_tag(email), "d": device or secrets.token_urlsafe(12)})


def known_device(cookie: str | None, email: str) -> str | None:
    """This browser's device id if its cookie was issued for this account, else None."""
    if not cookie or len(cookie) > 512:
        return None
    try:
        data = _serializer().loads(cookie, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("a") != _account_tag(email) or not isinstance(data.get("d"), str):
        return None
    return data["d"]
