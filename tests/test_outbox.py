"""The outbox under several workers: one run at a time, nothing lost, failures dead-lettered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.storage import outbox
from service.storage.models import OutboxTask, utcnow
from tests.servers import ROOT

pytestmark = pytest.mark.db_matrix


@pytest.fixture
def handlers():
    """Register test handlers by kind; removed afterwards."""
    added: list[str] = []

    def register(kind: str, func) -> None:
        outbox.handler(kind)(func)
        added.append(kind)

    yield register
    for kind in added:
        outbox._HANDLERS.pop(kind, None)


def _task(db, task_id: int) -> OutboxTask:
    db.session.expire_all()
    return db.session.get(OutboxTask, task_id)


@pytest.mark.slow
def test_concurrent_workers_never_run_a_task_twice(app, db, handlers):
    """Also pins a bug: on SQLite, workers finishing tasks got "database is locked"."""
    running: set[int] = set()
    runs: list[int] = []
    overlaps: list[int] = []
    guard = threading.Lock()

    def slow(payload):
        n = payload["n"]
        with guard:
            if n in running:
                overlaps.append(n)
            running.add(n)
            runs.append(n)
        time.sleep(0.005)
        with guard:
            running.discard(n)

    handlers("test.slow", slow)
    for n in range(60):
        outbox.enqueue("test.slow", {"n": n})
    db.session.commit()

    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            with app.app_context():
                start.wait(10)
                for _ in range(50):
                    if not outbox.run_due(limit=5)["done"]:
                        break
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert overlaps == []
    assert sorted(runs) == list(range(60))  # each exactly once
    statuses = db.session.scalars(sa.select(OutboxTask.status)).all()
    assert set(statuses) == {"done"}


def test_claimed_task_of_a_dead_worker_is_retried_after_its_lease(db, handlers):
    done: list[int] = []
    handlers("test.ok", lambda payload: done.append(payload["n"]))
    task = outbox.enqueue("test.ok", {"n": 1})
    db.session.commit()
    now = utcnow()
    assert outbox.claim(now=now) == [task.id]  # ... and the worker dies here
    assert outbox.run_due(now=now + timedelta(minutes=1)) == {"done": 0, "failed": 0}
    assert outbox.run_due(now=now + outbox.LEASE + timedelta(seconds=1)) == {"done": 1, "failed": 0}
    assert done == [1]
    assert _task(db, task.id).status == "done"


def test_task_whose_lease_ran_out_in_a_slow_batch_runs_once(db, handlers, frozen):
    """Regression: a worker slow through its claimed batch (an SMTP timeout per task) ran a
    task whose lease had expired and which another worker had taken over: a second mail."""
    runs: list[int] = []
    handlers("test.ok", lambda payload: runs.append(payload["n"]))
    task = outbox.enqueue("test.ok", {"n": 1})
    db.session.commit()
    claimed_at = utcnow()
    assert outbox.claim(now=claimed_at) == [task.id]  # worker A, busy with earlier tasks...
    frozen.tick(outbox.LEASE + timedelta(seconds=1))
    assert outbox.run_due() == {"done": 1, "failed": 0}  # ... so worker B takes it over
    assert outbox.run_task(task.id, lease=claimed_at + outbox.LEASE) is None  # A, at last
    assert runs == [1]
    assert _task(db, task.id).attempts == 1


_DIE_MID_TASK = """
import os, sys, time
from service import create_app
from service.storage import outbox
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "k" * 32, "ENCRYPTION_KEY": sys.argv[2],
                  "ENV": "production"})
def hang(payload):
    open(sys.argv[3], "w").write("started")
    time.sleep(600)
outbox.handler("test.hang")(hang)
with app.app_context():
    outbox.run_due()
"""


@pytest.mark.slow
def test_worker_killed_mid_task_loses_nothing(app, db, handlers, tmp_path):
    """A real worker process is SIGKILLed inside a task; after the lease the task runs."""
    task = outbox.enqueue("test.hang", {"n": 7})
    db.session.commit()
    marker = tmp_path / "started"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    proc = subprocess.Popen(
        [sys.executable, "-c", _DIE_MID_TASK, app.config["DATABASE_URL"],
         app.config["ENCRYPTION_KEY"], str(marker)],
        cwd=ROOT, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "the worker exited early"
            assert time.monotonic() < deadline, "the worker never started the task"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    leased = _task(db, task.id)
    assert leased.status == "pending" and leased.locked_until is not None

    done: list[int] = []
    handlers("test.hang", lambda payload: done.append(payload["n"]))
    assert outbox.run_due()["done"] == 0  # still leased by the dead worker
    assert outbox.run_due(now=utcnow() + outbox.LEASE + timedelta(seconds=1))["done"] == 1
    assert done == [7]
    finished = _task(db, task.id)
    assert finished.status == "done" and finished.attempts == 1


def test_task_is_dead_lettered_after_max_attempts(db, handlers, frozen):
    def boom(payload):
        raise RuntimeError("calendar server said no")

    handlers("test.boom", boom)
    task = outbox.enqueue("test.boom", {})
    db.session.commit()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert outbox.run_due() == {"done": 0, "failed": 1}
        state = _task(db, task.id)
        assert state.attempts == attempt
        assert state.status == ("dead" if attempt == outbox.MAX_ATTEMPTS else "pending")
        if state.status == "pending":
            assert state.due_at > utcnow()  # backed off: not retried at once
            assert outbox.run_due() == {"done": 0, "failed": 0}
        frozen.tick(timedelta(hours=2))  # past any backoff
    assert state.last_error == "RuntimeError: calendar server said no"
    frozen.tick(timedelta(days=30))
    assert outbox.run_due() == {"done": 0, "failed": 0}


def test_permanent_error_is_dead_at_once(db, handlers):
    def gone(payload):
        raise outbox.PermanentError("booking no longer exists")

    handlers("test.gone", gone)
    task = outbox.enqueue("test.gone", {})
    db.session.commit()
    outbox.run_due()
    state = _task(db, task.id)
    assert (state.status, state.attempts, state.last_error) == ("dead", 1, "booking no longer exists")


def test_backoff_grows_and_is_jittered():
    first = [outbox.backoff(1).total_seconds() for _ in range(50)]
    fifth = [outbox.backoff(5).total_seconds() for _ in range(50)]
    assert all(15 <= s <= 30 for s in first) and len(set(first)) > 1
    assert all(240 <= s <= 480 for s in fifth)
    assert outbox.backoff(30) <= timedelta(hours=1)
