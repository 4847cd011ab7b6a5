"""Calling Microsoft Graph: over the bounded session every calendar answer goes through
(``service.calendars.bounded``: ``CALENDAR_MAX_BYTES``, ``CALENDAR_READ_TIMEOUT_SECONDS``,
the budget in force), with the providers' one retry loop (``service.calendars.retry``),
and errors worded for people.

Retried: 429, 503, 504 (waiting what ``Retry-After`` says, or full-jitter backoff),
dropped connections; every write the provider makes is idempotent (creates carry a
``transactionId``), so resending is safe. Not retried: anything else, nor an answer cut
off for its size or its deadline (``bounded.CutOff``, worded for the calendars page).
Messages never carry tokens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import niquests

from service.calendars import bounded, netguard, retry
from service.calendars.base import AuthError, NotFound, ProviderError
from service.calendars.retry import RetryPolicy

RETRY_STATUSES = frozenset({429, 503, 504})
SUBJECT = "Microsoft Graph"


class GraphError(ProviderError):
    """Graph answered with an error status; ``code`` is Graph's ``error.code``."""

    def __init__(self, message: str, status: int, code: str = ""):
        super().__init__(message)
        self.status, self.code = status, code
        self.retryable = status in RETRY_STATUSES or status >= 500


class _Dropped(ProviderError):
    """The exchange failed before an answer came (refused, reset): tried again."""


def _error_code(data: Any) -> tuple[str, str]:
    try:
        error = data["error"]
        return str(error.get("code") or ""), str(error.get("message") or "")[:200]
    except (KeyError, TypeError, AttributeError):
        return "", ""


class GraphSession:
    """One Graph endpoint, one bearer token source, one bounded HTTP session."""

    def __init__(
        self,
        endpoint: str,
        token: Callable[[], str],
        *,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        # The endpoint is the installation's setting, not typed by a lawyer: no SSRF guard.
        self.http = netguard.session(allow_private=True, subject=SUBJECT)
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
        (``bounded.budget``; a shorter budget already in force stays).
        """
        refreshed = False

        def once() -> Any:
            nonlocal refreshed
            try:
                return self._once(method, path, params, body, headers, what)
            except _Unauthorized:
                refresh = getattr(self.token, "refused", None)
                if refreshed or refresh is None:
                    raise
                refresh()  # an access token revoked before its time: one fresh refresh
                refreshed = True
                return self._once(method, path, params, body, headers, what)
            except GraphError as exc:
                if ok is not None and ok(exc):
                    return None
                raise

        if deadline is None:
            return retry.run(once, judge=_judge, policy=self.policy, sleep=self.sleep, what=what, provider="graph")
        with bounded.budget(deadline):
            return retry.run(once, judge=_judge, policy=self.policy, sleep=self.sleep, what=what, provider="graph")

    def _once(self, method, path, params, body, headers, what) -> Any:
        sent = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        sent.update(headers or {})
        self.requests += 1
        try:
            response = self.http.request(method, self.url(path), params=params, json=body, headers=sent,
                                         timeout=self.timeout, allow_redirects=False)
        except niquests.exceptions.RequestException as exc:  # refused, reset, cut short
            raise _Dropped(f"Microsoft Graph is unreachable ({what}: {type(exc).__name__})") from None
        raw = response.content  # read whole by the bounded session, within its cap
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



def _judge(exc: BaseException) -> tuple[bool, str | None] | None:
    """For ``retry.run``: Graph's throttling and dropped exchanges are tried again."""
    if isinstance(exc, GraphError):
        return exc.status in RETRY_STATUSES, getattr(exc, "retry_after", None)
    if isinstance(exc, _Dropped):
        return True, None
    return None
