"""The worker's lanes: mail, calendar writes and syncs, each with its own threads.

One slow or hostile calendar must not delay another lawyer's mail. So:

- **Lanes.** Each kind of work has its own threads (``WORKER_*_CONCURRENCY``): a sync
  stuck on a dripping feed occupies a sync thread, never a mail thread.
- **Fairness.** A lane runs at most one task per lawyer at a time and serves the lawyer
  waiting longest first (``outbox.claim_next``).
- **Time limit.** Every task runs inside a calendar budget of
  ``WORKER_TASK_TIME_LIMIT_SECONDS`` (every calendar exchange in it is cut off at the
  limit, see ``service.calendars.bounded``). A task still running a little after its
  limit is abandoned: the attempt is counted, the task is retried later with backoff and
  no earlier than its lease ends (``outbox.abandon``), and the lane gets a fresh thread.
  Python cannot kill a thread; an abandoned one finishes on its own (its calendar calls
  are already cut off) and is not given more work. One that does not (pure CPU work,
  e.g. a feed whose events cost seconds each to expand) is the supervisor's to end:
  ``flask worker`` runs the lanes in a child process (``service.jobs.supervisor``) that
  reports each task's start and end and a heartbeat through ``report``, and kills it.
  Too many abandoned threads alive at once and the process exits, to be started afresh.
- **The database may go away.** A lane thread that cannot reach the database logs once,
  backs off (up to ``MAX_BACKOFF`` seconds) and tries again; so does the scheduler. A
  lease the lane held (or may have taken: the claim's answer lost, ``LeaseInDoubt``) with
  nothing recorded is given up once the database is back (``Lane._let_go``).

Periodic syncs are queued as ``calendar.sync`` tasks by the scheduler thread, so they
run in the sync lane under the same rules as pushed ones.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from service.calendars import bounded
from service.storage import outbox
from service.storage.db_setup import database_away
from service.storage.extensions import db

log = logging.getLogger(__name__)

WRITE_KINDS = ("calendar.put", "calendar.delete")
# Tasks that talk to calendar servers other than writes: never in the mail lane.
SYNC_KINDS = ("calendar.sync", "microsoft.subscriptions")
GRACE_SECONDS = 5.0  # past the limit before a task is abandoned (its cut-offs come first)
MAX_BACKOFF = 2.0  # seconds between tries while the database is away
MAX_ABANDONED = 8  # abandoned threads alive at once before the process gives up
IDLE_SECONDS = 0.5
HEARTBEAT_SECONDS = 1.0
SHUTDOWN_SECONDS = 10.0


@dataclass(frozen=True)
class LaneSpec:
    name: str
    kinds: tuple[str, ...]
    setting: str
    other_than: bool = False  # the lane takes every kind but ``kinds``


LANES = (
    LaneSpec("mail", WRITE_KINDS + SYNC_KINDS, "WORKER_MAIL_CONCURRENCY", other_than=True),
    LaneSpec("write", WRITE_KINDS, "WORKER_WRITE_CONCURRENCY"),
    LaneSpec("sync", SYNC_KINDS, "WORKER_SYNC_CONCURRENCY"),
)


def discard_session() -> None:
    """Roll back and drop the thread's session after a failure (each step may fail too)."""
    for cleanup in (db.session.rollback, db.session.remove):
        try:
            cleanup()
        except Exception as failure:  # noqa: BLE001 - the session is discarded either way
            log.debug("session cleanup failed: %s", type(failure).__name__)


class Backoff:
    """Log the first failure of a run of them, then sleep longer each time (capped)."""

    def __init__(self, what: str, stop: threading.Event):
        self.what, self.stop, self.failures, self.since = what, stop, 0, 0.0

    def failed(self, exc: BaseException) -> None:
        if self.failures == 0:
            self.since = time.monotonic()
            if database_away(exc):
                log.warning("%s: database unavailable (%s); retrying", self.what, type(exc.orig).__name__)
            else:
                log.exception("%s failed; retrying", self.what)
        else:
            log.debug("%s: still failing (%s)", self.what, type(exc).__name__)
        self.failures += 1
        discard_session()
        self.stop.wait(min(MAX_BACKOFF, 0.25 * 2 ** self.failures))

    def ok(self) -> None:
        if self.failures:
            log.warning("%s: working again after %.1f s", self.what, time.monotonic() - self.since)
        self.failures = 0


@dataclass
class Slot:
    """One thread of a lane and the task it runs now."""

    lane: Lane
    thread: threading.Thread | None = None
    task: tuple[int, datetime, float] | None = None  # id, lease, monotonic start
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


#: what the lanes tell a supervisor: ("start", task id, lease), ("end", task id), ("beat",)
Report = Callable[..., None]


def _no_report(*_event: object) -> None:
    pass


class Lane:
    def __init__(self, app: Flask, spec: LaneSpec, stop: threading.Event, report: Report = _no_report):
        self.app, self.spec, self.stop, self.report = app, spec, stop, report
        self.size = int(app.config.get(spec.setting, 2))
        self.limit = float(app.config.get("WORKER_TASK_TIME_LIMIT_SECONDS", 120))
        self.served: dict[int | None, float] = {}
        self.slots: list[Slot] = []
        self.done = self.failed = 0

    def start(self) -> None:
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> Slot:
        slot = Slot(self)
        slot.thread = threading.Thread(target=self._run, args=(slot,), daemon=True,
                                       name=f"lane-{self.spec.name}-{len(self.slots)}")
        self.slots.append(slot)
        slot.thread.start()
        return slot

    def _run(self, slot: Slot) -> None:
        backoff = Backoff(f"worker lane {self.spec.name}", self.stop)
        with self.app.app_context():
            while not self.stop.is_set() and not slot.abandoned:
                try:
                    claimed = outbox.claim_next(self.spec.kinds, self.served,
                                                other_than=self.spec.other_than)
                    backoff.ok()
                except outbox.LeaseInDoubt as doubt:
                    backoff.failed(doubt.__cause__ or doubt)
                    self._let_go(doubt.task_id, doubt.lease)
                    continue
                except Exception as exc:  # noqa: BLE001 - the lane carries on
                    backoff.failed(exc)
                    continue
                if claimed is None:
                    self.stop.wait(IDLE_SECONDS)
                    continue
                task_id, lease = claimed
                with slot.lock:
                    slot.task = (task_id, lease, time.monotonic())
                self.report("start", task_id, lease)
                try:
                    with bounded.budget(self.limit):
                        outcome = outbox.run_task(task_id, lease, renew=False)
                    if outcome:
                        self.done += 1
                    elif outcome is False:
                        self.failed += 1
                except Exception as exc:  # noqa: BLE001 - recorded by the lease's end
                    backoff.failed(exc)
                    if database_away(exc):
                        self._let_go(task_id, lease)
                finally:
                    with slot.lock:
                        slot.task = None
                    self.report("end", task_id)
            db.session.remove()

    def _let_go(self, task_id: int, lease: datetime) -> None:
        """The database went away while the task was ours (or while its lease was being
        taken, ``LeaseInDoubt``) and nothing was recorded: once it is back, give the lease
        up so the task runs again at once. Kept until the lease's end, it held back every
        other task of that lawyer in this lane (one task per lawyer at a time) for
        minutes after the database returned."""
        while not self.stop.is_set() and outbox.utcnow() < lease:
            try:
                outbox.release(task_id, lease)
                return
            except Exception as exc:  # noqa: BLE001 - the lease's end lets go anyway
                if not database_away(exc):
                    log.warning("could not let go of task %s: %s", task_id, type(exc).__name__)
                    return
                discard_session()
                self.stop.wait(MAX_BACKOFF)

    def watch(self) -> None:
        """Abandon tasks past their time limit; give the lane a fresh thread for each."""
        now = time.monotonic()
        for slot in list(self.slots):
            if slot.abandoned:
                if slot.thread is not None and not slot.thread.is_alive():
                    self.slots.remove(slot)
                continue
            with slot.lock:
                running = slot.task
            if running is None or now - running[2] <= self.limit + GRACE_SECONDS:
                continue
            slot.abandoned = True
            task_id, lease, _started = running
            log.warning("worker lane %s: task %s over its limit of %.0f s; abandoned",
                        self.spec.name, task_id, self.limit)
            with self.app.app_context():
                try:
                    outbox.abandon(task_id, lease, self.limit)
                except Exception as exc:  # noqa: BLE001 - the lease's end retries it anyway
                    log.warning("could not record the abandoned task %s: %s", task_id, exc)
                finally:
                    db.session.remove()
            self._spawn()

    def abandoned_alive(self) -> int:
        return sum(1 for s in self.slots if s.abandoned and s.thread and s.thread.is_alive())


def run_lanes(app: Flask, interval: float, periodic: Callable[[], None],
              stop: threading.Event, periodic_every: float | None = None,
              report: Report = _no_report) -> None:
    """Run the lanes and the periodic work until ``stop`` is set; ``report`` hears of
    each task's start and end, and a heartbeat every second (from its own thread: it
    stops only when the whole process does, e.g. a C loop holding the GIL)."""
    lanes = [Lane(app, spec, stop, report) for spec in LANES]
    for lane in lanes:
        lane.start()
    scheduler = threading.Thread(target=_schedule, args=(app, periodic, stop, periodic_every or interval),
                                 daemon=True, name="scheduler")
    scheduler.start()
    threading.Thread(target=_beat, args=(report, stop), daemon=True, name="heartbeat").start()
    log.info("worker started: lanes %s, task limit %.0f s",
             ", ".join(f"{lane.spec.name}×{lane.size}" for lane in lanes), lanes[0].limit)
    while not stop.wait(1.0):
        for lane in lanes:
            lane.watch()
        if sum(lane.abandoned_alive() for lane in lanes) > MAX_ABANDONED:
            log.error("worker: %d abandoned tasks still running; exiting for a clean restart",
                      sum(lane.abandoned_alive() for lane in lanes))
            os._exit(3)
    # Let running tasks finish for a while; a task still running after that keeps its
    # lease and runs again when the lease ends (the process exits, its threads with it).
    # Abandoned threads are not waited for: they are past their limit already.
    until = time.monotonic() + SHUTDOWN_SECONDS
    for thread in [scheduler] + [s.thread for lane in lanes for s in lane.slots
                                 if s.thread and not s.abandoned]:
        thread.join(timeout=max(0.0, until - time.monotonic()))


def _beat(report: Report, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        report("beat")


def _schedule(app: Flask, periodic: Callable[[], None], stop: threading.Event, every: float) -> None:
    backoff = Backoff("worker scheduler", stop)
    with app.app_context():
        while not stop.is_set():
            try:
                periodic()
                backoff.ok()
            except Exception as exc:  # noqa: BLE001 - the scheduler carries on
                backoff.failed(exc)
                continue
            finally:
                db.session.remove()
            stop.wait(every)
