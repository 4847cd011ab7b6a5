"""The worker: runs outbox tasks (calendar writes, mail) and periodic calendar sync.

Several workers may run at once, on several hosts: tasks are claimed with leases
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so each runs once at a time.
"""

from __future__ import annotations

import logging
import signal
import time

from service import outbox

log = logging.getLogger(__name__)


def _load_handlers() -> None:
    """Import the modules that register outbox handlers."""
    import service.calendar_admin  # noqa: F401 - calendar.sync
    import service.mail  # noqa: F401
    import service.notify  # noqa: F401 - mail.status_digest

    try:
        import service.calendars.writeback  # noqa: F401
    except ModuleNotFoundError as exc:  # providers land later; nothing to write yet
        if exc.name != "service.calendars.writeback":
            raise


def run_once() -> dict[str, int]:
    _load_handlers()
    return outbox.run_due()


def run_forever(interval: float) -> None:
    _load_handlers()
    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started (poll every %.1fs)", interval)
    while not stopping:
        counts = outbox.run_due()
        if counts["done"] or counts["failed"]:
            log.info("outbox: %s", counts)
        time.sleep(interval if not (counts["done"] or counts["failed"]) else 0)
