"""The worker: runs outbox tasks (calendar writes, mail, pushed syncs) and periodic
calendar sync.

Several workers may run at once, on several hosts: tasks are claimed with leases, so
each runs once at a time. ``run_forever`` (``flask worker``) is a supervisor
(``supervisor``) whose child process (``run_child``) runs the work in lanes with their
own threads, fair across lawyers, with a time limit per task (``lanes``); the supervisor
kills and replaces a child stuck past that limit. ``run_once`` (``flask worker --once``,
tests) does what is due now, in order.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta

from flask import current_app

import service.calendars.writeback  # noqa: F401 - registers calendar.put / calendar.delete
import service.jobs.change_mail  # noqa: F401 - registers mail.change_request
import service.jobs.intake_mail  # noqa: F401 - registers mail.intake_*, booking.release_hold
import service.jobs.invitations  # noqa: F401 - registers mail.invitation
import service.jobs.mail  # noqa: F401 - registers mail.booking
import service.jobs.notify  # noqa: F401 - registers mail.status_digest
import service.jobs.reminders  # noqa: F401 - registers reminder.client, reminder.prep
import service.jobs.sign_in_mail  # noqa: F401 - registers mail.sign_in_link
import service.jobs.status_letters  # noqa: F401 - registers mail.status_letter
from service.calendars import bounded
from service.calendars.google.accounts import renew_channels  # also registers calendar.sync
from service.calendars.microsoft.accounts import renew_subscriptions  # microsoft.subscriptions
from service.calendars.sync import queue_due_syncs, sync_due
from service.jobs import lanes, supervisor
from service.storage import outbox
from service.storage.models import utcnow
from service.usecases import privacy

log = logging.getLogger(__name__)

CHANNEL_RENEWAL_SECONDS = 3600


_retention_checked_at = None


def run_once() -> dict[str, int]:
    """Do what is due now: outbox tasks, calendars whose sync interval has passed, and
    (every ``RETENTION_CHECK_SECONDS``) the erasure of clients past their firm's retention."""
    counts = outbox.run_due()
    synced = sync_due(utcnow())
    counts["synced"], counts["sync_failed"] = synced["synced"], synced["failed"]
    counts["erased"] = retention_if_due()
    return counts


def retention_if_due() -> int:
    global _retention_checked_at
    now = utcnow()
    every = current_app.config.get("RETENTION_CHECK_SECONDS", 3600)
    if _retention_checked_at is not None and timedelta(0) <= now - _retention_checked_at < timedelta(seconds=every):
        return 0
    _retention_checked_at = now
    return privacy.run_retention(now)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def on_signal(*_args):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def run_forever(interval: float) -> None:
    """Supervise the lanes' child process (``run_child``, see ``supervisor``) until SIGTERM
    or SIGINT."""
    supervisor.supervise(current_app._get_current_object(), lambda fd: run_child(interval, fd),
                         _stop_on_signals())


def run_child(interval: float, report_fd: int) -> None:
    """The supervised child: run the lanes (``service/jobs/lanes.py``), reporting to the
    supervisor through ``report_fd``, until SIGTERM or SIGINT or the supervisor is gone."""
    stop = _stop_on_signals()
    report = supervisor.Reporter(report_fd, stop)
    renewed_at = [float("-inf")]

    def periodic() -> None:
        queue_due_syncs(utcnow())
        if time.monotonic() - renewed_at[0] > CHANNEL_RENEWAL_SECONDS:
            with bounded.budget(current_app.config.get("WORKER_TASK_TIME_LIMIT_SECONDS", 120)):
                renew_channels()
                renew_subscriptions()
            renewed_at[0] = time.monotonic()

    lanes.run_lanes(current_app._get_current_object(), interval, periodic, stop, report=report)
    log.info("worker child stopped")
