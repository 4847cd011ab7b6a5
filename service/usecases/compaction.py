"""Making erased bytes leave the database files after an erasure (``ERASE_COMPACT``).

SQLite (one file, a small office): connections run with ``secure_delete`` (freed space
is zeroed); right after the erasure VACUUM rebuilds the file and a TRUNCATE checkpoint
empties the WAL.

PostgreSQL: an UPDATE or DELETE leaves the old row version in the table's file; a plain
VACUUM marks its space reusable but does not wipe it (``bench/bench_erase.py`` found an
erased address still in the file afterwards), so ``VACUUM FULL`` rewrites the tables that
held the data. It takes an ACCESS EXCLUSIVE lock for the rewrite: measured at 100,000
bookings, 4-11 s (a busy 2-core machine) during which a booking waits. So it never runs in the request
(nor once per client of a retention run): the erasure queues one ``privacy.compact``
outbox task, coalescing every erasure until it runs — 10 minutes later, or at the quiet
hour ``ERASE_COMPACT_AT`` (``HH:MM`` UTC) — and the worker rewrites the tables one by
one, each giving up after ``LOCK_TIMEOUT_MS`` waiting for its lock (a long transaction
holding the table) instead of queueing every booking behind it; the outbox retries
later. Until it has run, the erased data is unreachable through the application but
still in the files (and, as ever, in backups and the WAL archive until they expire).

VACUUM FULL copies the old row versions that some open transaction might still see
("recently dead"): one started before the erasure committed (a report, a backup's
``pg_dump``, another database's session on the same server) keeps the erased data in
the rewritten file — the bench saw it happen. So the erasure records its transaction id
(``xid``, the newest of the coalesced erasures) and the task first checks that no
session on the server has a snapshot or transaction that old; if one has, it fails with
``ErasureStillVisible`` and the outbox retries later.
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


class ErasureStillVisible(RuntimeError):
    """A transaction older than the erasure is still open: VACUUM FULL would keep the data."""


def schedule(now: datetime) -> None:
    """Queue one compaction (in the erasure's transaction), or make the pending one wait
    for this erasure too."""
    if not enabled() or not deferred():
        return
    xid = int(db.session.scalar(sa.text("SELECT txid_current() % 4294967296")))
    waiting = sa.or_(OutboxTask.locked_until.is_(None), OutboxTask.locked_until <= now)  # not running now
    pending = db.session.scalar(sa.select(OutboxTask).where(OutboxTask.kind == KIND, OutboxTask.status == "pending",
                                                            waiting).order_by(OutboxTask.id).limit(1).with_for_update())
    if pending is None:
        outbox.enqueue(KIND, {"xid": xid}, due_at=due_at(now))
    else:
        pending.payload = {**pending.payload, "xid": xid}


def after_erasure() -> None:
    """Right after an erasure committed: SQLite compacts now (PostgreSQL: ``schedule``)."""
    if enabled() and not deferred():
        compact()


_OLDER_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND (
    (backend_xmin IS NOT NULL AND age(backend_xmin) >= age(CAST(CAST(%(xid)s AS text) AS xid)))
    OR (backend_xid IS NOT NULL AND age(backend_xid) >= age(CAST(CAST(%(xid)s AS text) AS xid))))
"""


def compact(xid: int | None = None, tables: tuple[str, ...] = TABLES) -> None:
    """Compact now (see the module doc); the session holds no connection meanwhile.
    PostgreSQL: ``xid`` is the (newest) erasure's transaction id; ``tables`` those to
    rewrite (none: only the check for older transactions)."""
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
        if xid is not None and connection.exec_driver_sql(_OLDER_SESSIONS, {"xid": xid}).scalar():
            raise ErasureStillVisible("a transaction older than the erasure is still open; compacting later")
        connection.exec_driver_sql(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        for table in tables:  # one lock at a time, each held only for its own rewrite
            connection.exec_driver_sql(f"VACUUM (FULL) {table}")


@outbox.handler(KIND)
def compact_task(payload: dict) -> None:
    if enabled():
        xid = payload.get("xid")
        compact(xid if isinstance(xid, int) else None)
