"""Compaction after erasures (#17): on PostgreSQL, VACUUM FULL locks each table it rewrites
(about 4-5 s for 100,000 bookings, bench/bench_erase.py), so it runs in the worker, once
for many erasures, at a quiet hour if configured, and never waits long for its lock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.core.config import ConfigError, _hhmm
from service.storage.models import Client, OutboxTask
from service.usecases import compaction, privacy
from tests.conftest import NOW

pytestmark = pytest.mark.db_matrix


def _erase_two(db, make_client) -> None:
    for n in range(2):
        row, _ = make_client(name=f"Client {n}", email=f"c{n}@example.com")
        privacy.erase_client(db.session.get(Client, row.id), NOW)


def test_erasures_on_postgresql_queue_one_compaction_not_one_vacuum_per_client(app, db, make_client, frozen):
    """Each erasure ran VACUUM FULL in the request: a retention run of 100 clients held
    the bookings table locked 100 times over."""
    _erase_two(db, make_client)
    tasks = list(db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == compaction.KIND)))
    if db.engine.dialect.name == "sqlite":
        assert tasks == []  # compacted at once: one file, a small office
    else:
        (task,) = tasks
        assert task.due_at == NOW + compaction.COALESCE
        assert task.payload["xid"] > 0  # the newest erasure's transaction: the task waits for it


@pytest.mark.postgres_only
def test_compaction_waits_while_a_transaction_older_than_the_erasure_is_open(app, db, make_client):
    """VACUUM FULL keeps row versions an open transaction may still see: run while a
    report (or pg_dump) older than the erasure was open, it left the erased address in
    the rewritten file. The task now refuses to run until that transaction has ended."""
    row, _ = make_client(name="Olga Oldsnapshot", email="olga@old.example")
    engine = db.engine
    with engine.connect() as older:
        older.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ")
        older.exec_driver_sql("SELECT count(*) FROM client").scalar()  # its snapshot sees Olga
        privacy.erase_client(db.session.get(Client, row.id), NOW)
        task = db.session.scalar(sa.select(OutboxTask).where(OutboxTask.kind == compaction.KIND))
        with pytest.raises(compaction.ErasureStillVisible):
            compaction.compact_task(task.payload)
        older.rollback()
    from tests.firm.test_privacy import run_compaction

    run_compaction(task.payload)  # the retry, once the older transaction ended


def test_compaction_runs_at_the_configured_quiet_hour(app, db, make_client, frozen):
    app.config["ERASE_COMPACT_AT"] = "03:00"
    with app.app_context():
        assert compaction.due_at(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
        assert compaction.due_at(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["25:00", "3", "03:7", "noon", "03:60"])
def test_a_bad_erase_compact_at_fails_at_start_up(value):
    with pytest.raises(ConfigError, match="ERASE_COMPACT_AT"):
        _hhmm(value, "ERASE_COMPACT_AT")


@pytest.mark.postgres_only
def test_vacuum_full_gives_up_instead_of_queueing_bookings_behind_a_long_transaction(app, db, make_client):
    """A VACUUM FULL waiting for its lock makes every later query of the table wait behind
    it; with a lock timeout it gives up after 2 s and the outbox retries it later."""
    make_client()
    holder_ready, release = threading.Event(), threading.Event()
    engine = db.engine

    def long_transaction() -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT count(*) FROM client")  # holds ACCESS SHARE until the end
            holder_ready.set()
            release.wait(30)
            connection.rollback()

    thread = threading.Thread(target=long_transaction)
    thread.start()
    try:
        assert holder_ready.wait(10)
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            compaction.compact()
        assert time.monotonic() - started < compaction.LOCK_TIMEOUT_MS / 1000 + 3
    finally:
        release.set()
        thread.join()
    compaction.compact()  # the retry, once the transaction ended
