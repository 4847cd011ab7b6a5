"""Calling Microsoft Graph: bounded retries honouring ``Retry-After``, capped reads,
a total deadline per operation, and errors worded for people.

Retried: 429, 503, 504 (waiting what ``Retry-After`` says, or full-jitter backoff),
dropped connections and timeouts; every write the provider makes is idempotent
(creates carry a ``transactionId``), so resending is safe. Not retried: anything else.
A wait that would pass the operation's deadline is not taken: the caller's own retry
(the outbox, the next sync) takes over. Messages never carry tokens.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from service.calendars.base import AuthError, NotFound, ProviderError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 503, 504})
MAX_BYTES = 8 * 1024 * 1024  # per response; a page of 100 events is far below


class GraphError(ProviderError):
    """Graph answered with an error status; ``code`` is Graph's ``error.code``."""

    def __init__(self, message: str, status: int, code: str = ""):
        super().__init__(message)
        self.status, self.code = status, code
        self.retryable = status in RETRY_STATUSES or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries, full-jitter delays from ``base_delay`` doubling
    (or ``Retry-After`` when Graph sends it), never more than ``max_total_sleep``."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_total_sleep: float = 20.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        delay = random.uniform(0, self.base_delay * 2 ** (attempt - 1))
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after.strip()))
        return delay


def _error_code(data: Any) -> tuple[str, str]:
    try:
        error = data["error"]
        return str(error.get("code") or ""), str(error.get("message") or "")[:200]
    except (KeyError, TypeError, AttributeError):
        return "", ""


class GraphSession:
    """One Graph endpoint, one bearer token source, one ``requests.Session``."""

    def __init__(
        self,
        endpoint: str,
        token: Callable[[], str],
        *,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self.http = http or requests.Session()
        self.requests = 0  # HTTP requests made, retries included

    def close(self) -> None:
        self.http.close()

    def url(self, path: str) -> str:
        """``path`` under the endpoint; a full URL (a next or delta link Graph gave) only
        on the endpoint's own origin, so the bearer token never goes anywhere else."""
        if "://" not in path:
            return self.endpoint + path
        if urlsplit(path)[:2] != urlsplit(self.endpoint)[:2]:
            raise ProviderError("Microsoft Graph sent a link to another host; not followed")
        return path

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ok: Callable[[GraphError], bool] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """The JSON answer (None for 204, or for an error ``ok`` accepts).

        ``deadline``: seconds for the whole operation, retries and waits included
        (default: the session's timeout times the attempts).
        """
        end = time.monotonic() + (deadline if deadline is not None else self.timeout * 3)
        slept = 0.0
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            retry_after = None
            left = end - time.monotonic()
            if left <= 0:
                raise ProviderError(f"Microsoft Graph did not answer in time ({what}: timeout)")
            try:
                return self._once(method, path, params, body, headers, min(self.timeout, left), what)
            except _Unauthorized:
                refresh = getattr(self.token, "refused", None)
                if refreshed or refresh is None:
                    raise
                refresh()  # an access token revoked before its time: one fresh refresh
                refreshed = True
                continue
            except GraphError as exc:
                if ok is not None and ok(exc):
                    return None
                failure: ProviderError = exc
                retry_after = getattr(exc, "retry_after", None)
                retryable = exc.status in RETRY_STATUSES
            except requests.RequestException as exc:  # dropped, refused, timed out, cut short
                kind = "timeout" if isinstance(exc, requests.Timeout) else "unreachable"
                failure = ProviderError(f"Microsoft Graph is {kind} ({what}: {type(exc).__name__})")
                retryable = True
            if retryable and attempt < self.policy.max_attempts:
                delay = self.policy.delay(attempt, retry_after)
                if slept + delay <= self.policy.max_total_sleep and time.monotonic() + delay < end:
                    log.info("graph %s: attempt %d failed (%s), retrying", what, attempt, failure)
                    self.sleep(delay)
                    slept += delay
                    continue
            raise failure

    def _once(self, method, path, params, body, headers, timeout, what) -> Any:
        sent = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        sent.update(headers or {})
        self.requests += 1
        started = time.monotonic()
        with self.http.request(
            method,
            self.url(path),
            params=params,
            json=body,
            headers=sent,
            timeout=timeout,
            stream=True,
            allow_redirects=False,
        ) as response:
            raw = _read_capped(response, started + timeout, what)
        data = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        status = response.status_code
        if status < 300:
            if raw and data is None:
                raise ProviderError(f"Microsoft Graph sent something that is not JSON ({what})")
            return data
        code, message = _error_code(data)
        if status == 401:
            raise _Unauthorized("Microsoft rejected the stored authorization; reconnect the Microsoft account")
        text = f"Microsoft Graph {what} failed: {status} {code or response.reason or ''}".strip()
        error: GraphError
        if status == 404:
            error = _NotFoundGraph(text, status, code)
        else:
            error = GraphError(text, status, code)
        error.retry_after = response.headers.get("Retry-After")  # type: ignore[attr-defined]
        error.detail = message  # type: ignore[attr-defined]
        raise error


class _Unauthorized(AuthError):
    pass


class _NotFoundGraph(GraphError, NotFound):
    def __init__(self, message: str, status: int, code: str = ""):
        GraphError.__init__(self, message, status, code)
        self.retryable = False


def _read_capped(response: requests.Response, deadline: float, what: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise ProviderError(f"Microsoft Graph answer too large ({what})")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise ProviderError(f"Microsoft Graph answer too large ({what})")
        if time.monotonic() > deadline:
            raise ProviderError(f"Microsoft Graph did not answer in time ({what}: timeout)")
        chunks.append(chunk)
    return b"".join(chunks)
