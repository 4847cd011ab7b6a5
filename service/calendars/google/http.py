"""Calling Google: bounded retries (``service.calendars.retry``, shared with Microsoft
Graph), and errors worded for people.

Retried: 429, 5xx, 403 ``rateLimitExceeded``/``userRateLimitExceeded``, dropped
connections and timeouts (every write the provider makes is idempotent, so resending is
safe). Not retried: any other 4xx. ``invalid_grant`` from the token endpoint becomes an
AuthError: the lawyer has to reconnect. Messages never carry tokens.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from service.calendars import retry
from service.calendars.base import AuthError, NotFound, ProviderError
from service.calendars.retry import RetryPolicy

log = logging.getLogger(__name__)

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_TRANSIENT = (
    auth_exceptions.RefreshError,
    auth_exceptions.TransportError,
    OSError,
    http.client.HTTPException,
    httplib2.HttpLib2Error,
)


def status_of(exc: HttpError) -> int:
    return int(exc.resp.status)


def error_reasons(exc: HttpError) -> set[str]:
    """The ``reason`` values of Google's error JSON (``error.errors[].reason``)."""
    try:
        data = json.loads(exc.content.decode("utf-8"))
        return {e.get("reason", "") for e in data["error"].get("errors", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, HttpError):
        status = status_of(exc)
        return (
            status == 429
            or status >= 500
            or (status == 403 and bool(error_reasons(exc) & RATE_LIMIT_REASONS))
        )
    if isinstance(exc, auth_exceptions.RefreshError):
        return bool(getattr(exc, "retryable", False))
    return isinstance(exc, _TRANSIENT)


def _judge(exc: BaseException) -> tuple[bool, str | None] | None:
    if isinstance(exc, HttpError):
        return is_retryable(exc), str(exc.resp.get("retry-after", "")) or None
    if isinstance(exc, _TRANSIENT):
        return is_retryable(exc), None
    return None


def execute(
    call: Callable[[], Any],
    *,
    what: str,
    ok: Callable[[HttpError], bool] | None = None,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
) -> Any:
    """``call()`` with retries (``service.calendars.retry``); an HttpError that ``ok``
    accepts returns None instead."""

    def once() -> Any:
        try:
            return call()
        except HttpError as exc:
            if ok is not None and ok(exc):
                return None
            raise

    try:
        return retry.run(once, judge=_judge, policy=policy, sleep=sleep, what=what, provider="google")
    except (HttpError, *_TRANSIENT) as exc:
        raise provider_error(exc, what) from None


def provider_error(exc: BaseException, what: str) -> ProviderError:
    """The ProviderError (or AuthError/NotFound) for a failed call, without secrets."""
    if isinstance(exc, auth_exceptions.RefreshError):
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        if data.get("error") == "invalid_grant" or "invalid_grant" in str(exc.args[:1]):
            return AuthError(
                "Google access for this calendar was revoked or has expired; "
                "reconnect the Google account"
            )
        if getattr(exc, "retryable", False):
            return ProviderError(f"Google sign-in is temporarily unavailable ({what})")
        code = data.get("error") or "refused"
        return AuthError(
            f"Google refused the stored authorization ({code}); reconnect the Google account"
        )
    if not isinstance(exc, HttpError):
        return ProviderError(f"Google Calendar is unreachable ({what}: {type(exc).__name__})")
    status = status_of(exc)
    if status == 401:
        return AuthError("Google rejected the stored authorization; reconnect the Google account")
    message = f"Google Calendar {what} failed: {status} {exc.reason}".strip()
    if status == 404:
        return NotFound(message)
    error = ProviderError(message)
    if 400 <= status < 500 and not is_retryable(exc):
        error.retryable = False
    return error

