"""The worker: runs outbox tasks (calendar writes, mail, pushed syncs) and periodic
calendar sync.

Several workers may run at once, on several hosts: tasks are claimed with leases
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so each runs once at a time.
"""

from __future__ import annotations

import logging
import signal
import time

import service.calendars.writeback  # noqa: F401 - registers calendar.put / calendar.delete
import service.jobs.change_mail  # noqa: F401 - registers mail.change_request
import service.jobs.mail  # noqa: F401 - registers mail.booking
import service.jobs.notify  # noqa: F401 - registers mail.status_digest
from service.calendars.google.accounts import renew_channels  # also registers calendar.sync
from service.calendars.sync import sync_due
from service.storage import outbox
from service.storage.models import utcnow

log = logging.getLogger(__name__)

CHANNEL_RENEWAL_SECONDS = 3600


def run_once() -> dict[str, int]:
    """Do what is due now: outbox tasks, then calendars whose sync interval has passed."""
    counts = outbox.run_due()
    synced = sync_due(utcnow())
    counts["synced"], counts["sync_failed"] = synced["synced"], synced["failed"]
    return counts


def run_forever(interval: float) -> None:
    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started (poll every %.1fs)", interval)
    renewed_at = 0.0
    while not stopping:
        counts = run_once()
        if time.monotonic() - renewed_at > CHANNEL_RENEWAL_SECONDS:
            renew_channels()
            renewed_at = time.monotonic()
        busy = counts["done"] or counts["failed"]
        if busy:
            log.info("worker: %s", counts)
        else:
            time.sleep(interval)
