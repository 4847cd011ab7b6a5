"""Work done after commit: calendar writes and mail, retried by the worker until done.

A task row is written in the same transaction as the booking it belongs to, so a
committed booking always has its follow-up work recorded. ``run_due`` claims due rows,
runs their handler, and reschedules failures with exponential backoff and jitter; after
``MAX_ATTEMPTS`` a task is "dead" and shown to the lawyer.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from service.core.logredact import redact
from service.storage import inserts
from service.storage.db_setup import database_away, write_transaction
from service.storage.extensions import db
from service.storage.models import OutboxTask, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)  # a claimed task is retried after this if its worker died

Handler = Callable[[dict[str, Any]], None]
_HANDLERS: dict[str, Handler] = {}
#: kind -> called (in the parking transaction) when a task of that kind is parked as
#: failed for having been killed too often: payload, message
_ON_PARKED: dict[str, Callable[[dict[str, Any], str], None]] = {}
#: A task whose run had to be killed this often is parked as failed ("dead"): one poison
#: task never takes the worker down again and again.
POISON_KILLS = 3


class PermanentError(Exception):
    """The task can never succeed (e.g. its booking is gone): no retry."""


class LeaseInDoubt(Exception):
    """The database went away while a lease was being taken: the claim's COMMIT may have
    reached the server with its answer lost, so the task may be leased to nobody until
    the lease ends. The caller gives the lease up once the database is back
    (``release`` is conditional on this very lease, so a lease never taken is left be).
    The database's error is the ``__cause__``."""

    def __init__(self, task_id: int, lease: datetime):
        super().__init__(f"lease of task {task_id} in doubt")
        self.task_id, self.lease = task_id, lease


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _HANDLERS[kind] = func
        return func

    return register


def on_parked(kind: str) -> Callable[[Callable[[dict[str, Any], str], None]], Callable[[dict[str, Any], str], None]]:
    """Register what to do when a task of ``kind`` is parked for being killed too often
    (e.g. a calendar sync: say so on the calendar, stop queueing it on its own)."""
    def register(func: Callable[[dict[str, Any], str], None]) -> Callable[[dict[str, Any], str], None]:
        _ON_PARKED[kind] = func
        return func

    return register


def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    lawyer_id: int | None = None,
    booking_id: int | None = None,
    due_at: datetime | None = None,
) -> OutboxTask | None:
    """Add a task to the current transaction (it runs only if the transaction commits).
    Inside ``batched()`` the task is written with the block's others (returns None)."""
    batch = _batch.get()
    if batch is not None:
        now = utcnow()
        batch.append({"kind": kind, "payload": payload, "lawyer_id": lawyer_id,
                      "booking_id": booking_id, "status": "pending", "attempts": 0,
                      "due_at": due_at or now, "created_at": now})
        return None
    task = OutboxTask(
        kind=kind,
        payload=payload,
        lawyer_id=lawyer_id,
        booking_id=booking_id,
        due_at=due_at or utcnow(),
    )
    db.session.add(task)
    return task


_batch: ContextVar[list[dict[str, Any]] | None] = ContextVar("outbox_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """The tasks enqueued inside the block are written at its end with one
    ``INSERT ... VALUES`` (same transaction; nothing is written if the block raises).
    Inside another ``batched()`` block they join that one's."""
    if _batch.get() is not None:
        yield
        return
    rows: list[dict[str, Any]] = []
    token = _batch.set(rows)
    try:
        yield
    finally:
        _batch.reset(token)
    # One INSERT ... VALUES of every row, from a statement compiled once
    # (``inserts.insert_rows``; ``insert().values(rows)`` was compiled anew each time).
    inserts.insert_rows(OutboxTask.__table__, rows)


def revive(tasks: sa.Select | list[OutboxTask], now: datetime | None = None) -> int:
    """Put dead tasks back in the queue as new (the lawyer fixed what made them fail)."""
    rows = list(db.session.scalars(tasks)) if isinstance(tasks, sa.Select) else tasks
    for task in rows:
        if task.status == "dead":
            task.status, task.attempts, task.kills, task.locked_until = "pending", 0, 0, None
            task.due_at = now or utcnow()
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter: up to 30 s, 60 s, ... capped at one hour."""
    ceiling = min(3600.0, 30.0 * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def claim(limit: int = 20, now: datetime | None = None) -> list[int]:
    """Lease up to ``limit`` due tasks for this worker; several workers may run."""
    now = now or utcnow()
    query = (
        sa.select(OutboxTask.id)
        .where(
            OutboxTask.status == "pending",
            OutboxTask.due_at <= now,
            sa.or_(OutboxTask.locked_until.is_(None), OutboxTask.locked_until <= now),
        )
        .order_by(OutboxTask.due_at, OutboxTask.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    else:
        with write_transaction():
            ids = list(db.session.scalars(query))
            _lease(ids, now)
        return ids
    ids = list(db.session.scalars(query))
    _lease(ids, now)
    db.session.commit()
    return ids


def _lease(ids: list[int], now: datetime) -> None:
    if ids:
        db.session.execute(
            sa.update(OutboxTask).where(OutboxTask.id.in_(ids)).values(locked_until=now + LEASE)
        )


def _renew(task_id: int, lease: datetime) -> datetime | None:
    """Extend our lease on the task, if it is still ours; the new lease, else None.

    A worker works through its claimed batch one task at a time; when earlier tasks are
    slow (an SMTP timeout each), a later task's lease can run out and another worker
    claim it. Without this check both would run it, and send the mail twice.
    """
    renewed = utcnow() + LEASE
    with write_transaction():
        result = db.session.execute(
            sa.update(OutboxTask)
            .where(OutboxTask.id == task_id, OutboxTask.status == "pending",
                   OutboxTask.locked_until == lease)
            .values(locked_until=renewed)
        )
    return renewed if result.rowcount == 1 else None


def run_task(task_id: int, lease: datetime | None = None, *, renew: bool = True) -> bool | None:
    """Run one claimed task; True if it is done, None if it is no longer ours.

    ``lease`` is the ``locked_until`` the claim set: the task runs only while the lease is
    still ours (see ``_renew``; ``renew=False`` when it was just taken), and its outcome
    is recorded only if no other worker has taken the task over in the meantime.
    """
    if lease is not None and renew:
        lease = _renew(task_id, lease)
        if lease is None:
            return None
    task = db.session.get(OutboxTask, task_id)
    if task is None or task.status != "pending":
        return False
    func = _HANDLERS.get(task.kind)
    kind, payload = task.kind, dict(task.payload)
    db.session.commit()  # release the read transaction while the handler does I/O
    error: str | None = None
    permanent = False
    try:
        if func is None:
            raise PermanentError(f"no handler for task kind {kind!r}")
        func(payload)
    except PermanentError as exc:
        error, permanent = redact(str(exc)), True
    except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
        permanent = getattr(exc, "retryable", True) is False
        error = redact(f"{type(exc).__name__}: {exc}")  # logged and shown to the lawyer
        log.warning("outbox task %s (%s) failed: %s", task_id, kind, error)
    return _record_outcome(task_id, lease, error, permanent)


#: How long to keep trying to record a task's outcome while the database is away (the
#: work is done: recording it spares a second mail after the lease ends).
RECORD_PATIENCE = timedelta(minutes=2)


def _record_outcome(
    task_id: int, lease: datetime | None, error: str | None, permanent: bool
) -> bool | None:
    give_up = utcnow() + RECORD_PATIENCE
    if lease is not None:
        give_up = min(give_up, lease)
    delay = 0.5
    while True:
        try:
            return _record_once(task_id, lease, error, permanent)
        except sa.exc.DBAPIError as exc:
            if not database_away(exc) or utcnow() + timedelta(seconds=delay) >= give_up:
                raise
            log.warning("database unavailable while recording task %s; retrying", task_id)
            db.session.rollback()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _record_once(task_id: int, lease: datetime | None, error: str | None, permanent: bool) -> bool | None:
    # A write transaction from the start: on SQLite a deferred read that later writes
    # fails with "database is locked" when another worker wrote in between.
    with write_transaction():
        task = db.session.get(OutboxTask, task_id)
        if lease is not None and task.locked_until != lease:
            return None  # ran past its lease and another worker took it over
        task.attempts += 1
        task.locked_until = None
        if error is None:
            task.status, task.done_at, task.last_error = "done", utcnow(), None
        else:
            task.last_error = error[:2000]
            if permanent or task.attempts >= MAX_ATTEMPTS:
                task.status = "dead"
            else:
                task.due_at = utcnow() + backoff(task.attempts)
    return error is None


def run_due(limit: int = 100, now: datetime | None = None) -> dict[str, int]:
    """Do what is due now; returns counts of done and failed tasks."""
    done = failed = skipped = 0
    while done + failed + skipped < limit:
        claimed_at = now or utcnow()
        ids = claim(min(20, limit - done - failed - skipped), claimed_at)
        if not ids:
            break
        for task_id in ids:
            outcome = run_task(task_id, lease=claimed_at + LEASE)
            if outcome is None:
                skipped += 1
            elif outcome:
                done += 1
            else:
                failed += 1
    return {"done": done, "failed": failed}


# --- lanes: one task at a time per lawyer, fair across lawyers ----------------------------


def claim_next(
    kinds: tuple[str, ...],
    served: dict[int | None, float],
    now: datetime | None = None,
    *,
    other_than: bool = False,
    scan: int = 50,
) -> tuple[int, datetime] | None:
    """Lease one due task of ``kinds`` (or of any other kind, ``other_than``) for a lane;
    returns (task id, lease) or None.

    Fair across lawyers: a lawyer who already has a leased task of these kinds waits (one
    slow calendar occupies one slot of a lane, never all), and among the rest the lawyer
    served longest ago (``served``: lawyer id -> monotonic time, kept by the lane and
    updated here) goes first, then the task due first. The lease is taken with a
    conditional UPDATE, so several lanes and workers may race for the same row: one wins,
    the others look again.
    """
    now = now or utcnow()
    busy = sa.orm.aliased(OutboxTask)
    leased_for_lawyer = (
        sa.select(busy.id)
        .where(
            busy.lawyer_id == OutboxTask.lawyer_id,
            busy.status == "pending",
            busy.locked_until > now,
            _kind_in(busy, kinds, other_than),
        )
        .exists()
    )
    # Each lawyer's first due task only (a flood of one lawyer's mail fills no scan).
    ranked = (
        sa.select(
            OutboxTask.id,
            OutboxTask.lawyer_id,
            OutboxTask.due_at,
            sa.func.row_number()
            .over(partition_by=OutboxTask.lawyer_id, order_by=(OutboxTask.due_at, OutboxTask.id))
            .label("rank"),
        )
        .where(
            OutboxTask.status == "pending",
            OutboxTask.due_at <= now,
            sa.or_(OutboxTask.locked_until.is_(None), OutboxTask.locked_until <= now),
            _kind_in(OutboxTask, kinds, other_than),
            ~leased_for_lawyer,
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ranked.c.id, ranked.c.lawyer_id)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.due_at, ranked.c.id)
        .limit(scan)
    ).all()
    db.session.commit()
    order = [
        (served.get(lawyer_id, float("-inf")), position, task_id, lawyer_id)
        for position, (task_id, lawyer_id) in enumerate(rows)
    ]
    lease = now + LEASE
    for _served_at, _position, task_id, lawyer_id in sorted(order):
        try:
            with write_transaction():
                won = db.session.execute(
                    sa.update(OutboxTask)
                    .where(
                        OutboxTask.id == task_id,
                        OutboxTask.status == "pending",
                        sa.or_(OutboxTask.locked_until.is_(None), OutboxTask.locked_until <= now),
                    )
                    .values(locked_until=lease)
                ).rowcount
        except sa.exc.DBAPIError as exc:
            if database_away(exc):
                raise LeaseInDoubt(task_id, lease) from exc
            raise
        if won == 1:
            served[lawyer_id] = time.monotonic()
            return task_id, lease
    return None


def _kind_in(entity: Any, kinds: tuple[str, ...], other_than: bool) -> sa.ColumnElement[bool]:
    return entity.kind.not_in(kinds) if other_than else entity.kind.in_(kinds)


def abandon(task_id: int, lease: datetime, limit_seconds: float) -> bool:
    """A task ran past its time limit: count the attempt and retry it later with backoff.

    The lease stays (the abandoned run may still be going, and no other worker may start
    the task before the lease ends); the retry is due no earlier than the lease's end. If
    the abandoned run finishes after all, it records its outcome as usual. False if the
    task is no longer ours.
    """
    with write_transaction():
        task = db.session.get(OutboxTask, task_id)
        if task is None or task.status != "pending" or task.locked_until != lease:
            return False
        task.attempts += 1
        task.last_error = f"abandoned: still running after the time limit of {limit_seconds:.0f} s"
        if task.attempts >= MAX_ATTEMPTS:
            task.status = "dead"
        else:
            task.due_at = max(lease, utcnow() + backoff(task.attempts))
    log.warning("outbox task %s abandoned after %.0f s; retried later", task_id, limit_seconds)
    return True


# --- the supervisor: runs killed with their process ---------------------------------------


def killed(task_id: int, lease: datetime, message: str) -> str | None:
    """The process running the task was killed while it ran (stuck past its time limit,
    or the process stopped answering or crashed with it): count an attempt and a kill,
    and retry it later with backoff, or, after ``POISON_KILLS`` kills (or
    ``MAX_ATTEMPTS`` attempts), park it as failed. The run is over (its process is gone),
    so the lease is let go. Returns "parked", "retry", or None if the task is no longer
    ours (it finished, or another worker took it over)."""
    with write_transaction():
        task = db.session.get(OutboxTask, task_id)
        if task is None or task.status != "pending" or task.locked_until != lease:
            return None
        task.attempts += 1
        task.kills += 1
        task.locked_until = None
        task.last_error = message[:2000]
        if task.kills >= POISON_KILLS or task.attempts >= MAX_ATTEMPTS:
            task.status = "dead"
            hook = _ON_PARKED.get(task.kind)
            if hook is not None:
                hook(dict(task.payload), task.last_error)
            outcome = "parked"
        else:
            task.due_at = utcnow() + backoff(task.attempts)
            outcome = "retry"
    log.warning("outbox task %s killed with its worker process (%d of %d): %s",
                task_id, task.kills, POISON_KILLS, "parked as failed" if outcome == "parked" else "retried later")
    return outcome


def release(task_id: int, lease: datetime) -> bool:
    """The process running the task was stopped for another task's sake: let go of the
    lease so that the task runs again at once, with no attempt counted. (Had it already
    done its work without recording it, it is done again: at least once, as always.)"""
    with write_transaction():
        released = db.session.execute(
            sa.update(OutboxTask)
            .where(OutboxTask.id == task_id, OutboxTask.status == "pending",
                   OutboxTask.locked_until == lease)
            .values(locked_until=None)
        ).rowcount
    return released == 1
