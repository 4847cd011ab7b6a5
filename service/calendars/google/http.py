"""Calling Google: bounded retries with backoff and jitter, and errors worded for people.

Retried: 429, 5xx, 403 ``rateLimitExceeded``/``userRateLimitExceeded``, dropped
connections and timeouts (every write the provider makes is idempotent, so resending is
safe). Not retried: any other 4xx. ``invalid_grant`` from the token endpoint becomes an
AuthError: the lawyer has to reconnect. Messages never carry tokens.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from service.calendars import bounded
from service.calendars.base import AuthError, NotFound, ProviderError

log = logging.getLogger(__name__)

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_TRANSIENT = (
    auth_exceptions.RefreshError,
    auth_exceptions.TransportError,
    OSError,
    http.client.HTTPException,
    httplib2.HttpLib2Error,
)


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries; full-jitter delays from ``base_delay`` doubling;
    never more than ``max_total_sleep`` seconds asleep in all (a longer wait is left to
    the outbox's own backoff)."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_total_sleep: float = 20.0

    def delay(self, attempt: int, exc: BaseException) -> float:
        delay = random.uniform(0, self.base_delay * 2 ** (attempt - 1))
        if isinstance(exc, HttpError):
            retry_after = str(exc.resp.get("retry-after", ""))
            if retry_after.isdigit():
                delay = max(delay, float(retry_after))
        return delay


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


def execute(
    call: Callable[[], Any],
    *,
    what: str,
    ok: Callable[[HttpError], bool] | None = None,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
) -> Any:
    """``call()`` with retries; an HttpError that ``ok`` accepts returns None instead."""
    slept = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except HttpError as exc:
            if ok is not None and ok(exc):
                return None
            failure: BaseException = exc
        except _TRANSIENT as exc:
            failure = exc
        if is_retryable(failure) and attempt < policy.max_attempts:
            delay = policy.delay(attempt, failure)
            left = bounded.remaining()  # inside a web request or a worker task's budget
            if slept + delay <= policy.max_total_sleep and (left is None or delay < left):
                log.info(
                    "google %s: attempt %d failed (%s), retrying", what, attempt, _describe(failure)
                )
                sleep(delay)
                slept += delay
                continue
        raise provider_error(failure, what) from None


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


def _describe(exc: BaseException) -> str:
    return f"HTTP {status_of(exc)}" if isinstance(exc, HttpError) else type(exc).__name__
