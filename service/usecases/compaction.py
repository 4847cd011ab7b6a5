"""Making erased bytes leave the database files after an erasure (``ERASE_COMPACT``).

SQLite (one file, a small office): connections run with ``secure_delete`` (freed space
is zeroed); right after the erasure VACUUM rebuilds the file and a TRUNCATE checkpoint
empties the WAL.

PostgreSQL: an UPDATE or DELETE leaves the old row version in the table's file; a plain
VACUUM marks its space reusable but does not wipe it (``bench/bench_erase.py`` found an
erased address still in the file afterwards), so ``VACUUM FULL`` rewrites the tables that
held the data. It takes an ACCESS EXCLUSIVE lock for the rewrite: measured at 100,000
bookings, about 4-5 s during which a booking waits. So it never runs in the request
(nor once per client of a retention run): the erasure queues one ``privacy.compact``
outbox task, coalescing every erasure until it runs — 10 minutes later, or at the quiet
hour ``ERASE_COMPACT_AT`` (``HH:MM`` UTC) — and the worker rewrites the tables one by
one, each giving up after ``LOCK_TIMEOUT_MS`` waiting for its lock (a long transaction
holding the table) instead of queueing every booking behind it; the outbox retries
later. Until it has run, the erased data is unreachable through the application but
still in the files (and, as ever, in backups and the WAL archive until they expire).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, Client, Consent, OutboxTask

KIND = "privacy.compact"
COALESCE = timedelta(minutes=10)
LOCK_TIMEOUT_MS = 2000
TABLES = tuple(t.__tablename__ for t in (Client, Consent, OutboxTask, Booking))  # the big one last


def enabled() -> bool:
    return bool(current_app.config.get("ERASE_COMPACT", True))


def deferred() -> bool:
    """Whether compaction waits for the worker (PostgreSQL) or runs at once (SQLite)."""
    return db.engine.dialect.name != "sqlite"


def due_at(now: datetime) -> datetime:
    """When the next compaction runs: ``ERASE_COMPACT_AT`` (HH:MM UTC) next, else soon."""
    at = current_app.config.get("ERASE_COMPACT_AT") or ""
    if not at:
        return now + COALESCE
    hour, minute = (int(part) for part in at.split(":"))
    due = now.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return due if due > now else due + timedelta(days=1)


def schedule(now: datetime) -> None:
    """Queue one compaction (in the erasure's transaction) unless one is pending already."""
    if not enabled() or not deferred():
        return
    pending = db.session.scalar(sa.select(OutboxTask.id).where(OutboxTask.kind == KIND,
                                                               OutboxTask.status == "pending").limit(1))
    if pending is None:
        outbox.enqueue(KIND, {}, due_at=due_at(now))


def after_erasure() -> None:
    """Right after an erasure committed: SQLite compacts now (PostgreSQL: ``schedule``)."""
    if enabled() and not deferred():
        compact()


def compact() -> None:
    """Compact now (see the module doc); the session holds no connection meanwhile."""
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        for table in TABLES:  # one lock at a time, each held only for its own rewrite
            connection.exec_driver_sql(f"VACUUM (FULL) {table}")


@outbox.handler(KIND)
def compact_task(_payload: dict) -> None:
    if enabled():
        compact()
