"""One retry loop for the providers' API calls (Google, Microsoft Graph).

A failed call is tried again only when the provider's ``judge`` says it may be (429,
503, dropped connections...): at most ``max_attempts`` tries, full-jitter delays from
``base_delay`` doubling, or the server's ``Retry-After`` when longer, never more than
``max_total_sleep`` seconds asleep in all, and never a wait past the budget in force
(``bounded.budget``: the web's, a worker task's, or the operation's own). A wait that
would not fit is not taken: the failure is raised and the caller's own retry (the
outbox, the next sync) takes over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from service.calendars import bounded

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ``judge(exc)``: None if ``exc`` is not a failure of the call (raised at once), else
#: (may it be retried, the answer's ``Retry-After`` or None).
Judge = Callable[[BaseException], "tuple[bool, str | None] | None"]


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries; full-jitter delays from ``base_delay`` doubling;
    never more than ``max_total_sleep`` seconds asleep in all."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_total_sleep: float = 20.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1, 2, ...)."""
        delay = random.uniform(0, self.base_delay * 2 ** (attempt - 1))
        if retry_after is not None and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after.strip()))
        return delay


def run(call: Callable[[], T], *, judge: Judge, policy: RetryPolicy, sleep: Callable[[float], None],
        what: str, provider: str) -> T:
    """``call()`` until it succeeds, or raise its last failure (see the module doc).

    ``provider`` and ``what`` name the call in the log ("graph", "calendar view")."""
    slept = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - the judge says which are the call's failures
            verdict = judge(exc)
            if verdict is None:
                raise
            retryable, retry_after = verdict
            if not retryable or attempt >= policy.max_attempts:
                raise
            delay = policy.delay(attempt, retry_after)
            left = bounded.remaining()
            if slept + delay > policy.max_total_sleep or (left is not None and delay >= left):
                raise
            log.info("%s %s: attempt %d failed (%s), retrying", provider, what, attempt, type(exc).__name__)
            sleep(delay)
            slept += delay
