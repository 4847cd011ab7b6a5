"""The worker's supervisor (service/jobs/supervisor.py) with real forked children: which
tasks a kill blames and which it lets go, a child frozen by a C loop that holds the GIL
(a catastrophic regular expression: no heartbeat), a crash; and the outbox's side of it
(kills counted, parked after POISON_KILLS, a parked calendar sync not queued again)."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import timedelta

import pytest

from service.calendars import sync
from service.core.crypto import encrypt_json
from service.jobs import lanes, supervisor
from service.storage import outbox
from service.storage.models import Calendar, CalendarAccount, OutboxTask, utcnow
from tests import servers


@pytest.fixture
def app_overrides() -> dict:
    return {"WORKER_TASK_TIME_LIMIT_SECONDS": 1}


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(lanes, "GRACE_SECONDS", 0.1)
    monkeypatch.setattr(supervisor, "KILL_GRACE_SECONDS", 0.1)
    monkeypatch.setattr(supervisor, "TERM_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(supervisor, "HEARTBEAT_TIMEOUT_SECONDS", 1.5)
    monkeypatch.setattr(supervisor, "YOUNG_SECONDS", 0.0)


def leased(db, lawyer, kind="mail.booking"):
    task = outbox.enqueue(kind, {}, lawyer_id=lawyer.id)
    db.session.commit()
    served: dict = {}
    claimed = outbox.claim_next((), served, other_than=True)
    assert claimed is not None and claimed[0] == task.id
    return claimed


def state(db, task_id):
    db.session.rollback()
    return db.session.get(OutboxTask, task_id)


def run_supervisor(app, child):
    """Supervise ``child`` (called in each forked child with the report descriptor) in a
    thread; returns the stop event and the thread."""
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.supervise, args=(app, child, stop), daemon=True)
    thread.start()
    return stop, thread


def beating(fd, stop=None):
    """A child that beats until SIGTERM (default action: it ends)."""
    report = supervisor.Reporter(fd, stop or threading.Event())
    while True:
        report("beat")
        time.sleep(0.2)


def wait_for(condition, seconds=20.0):
    return servers.wait_for(condition, seconds)


def first_child_only(marker, first, later=beating):
    """Run ``first`` in the first child, ``later`` in every later one (a file marks it)."""
    def child(fd):
        if marker.exists():
            later(fd)
        else:
            marker.write_text(str(os.getpid()))
            first(fd)
    return child


def test_task_past_its_limit_blamed_and_the_others_let_go(app, db, make_lawyer, quick, tmp_path):
    """Regression: a task stuck in pure CPU work kept its thread for ever; now its child is
    killed, the task counts a kill and waits for its backoff, and the other lawyer's task
    that was running beside it is let go to run again at once."""
    poison_id, poison_lease = leased(db, make_lawyer())
    other_id, other_lease = leased(db, make_lawyer())

    def poisoned(fd):
        report = supervisor.Reporter(fd, threading.Event())
        report("start", poison_id, poison_lease)
        threading.Thread(target=beating, args=(fd,), daemon=True).start()
        time.sleep(1.0)
        report("start", other_id, other_lease)
        while True:  # pure Python CPU work, never ending
            sum(range(10_000))

    stop, thread = run_supervisor(app, first_child_only(tmp_path / "m", poisoned))
    try:
        assert wait_for(lambda: state(db, poison_id).kills == 1)
    finally:
        stop.set()
        thread.join(30)
    poison, other = state(db, poison_id), state(db, other_id)
    assert poison.status == "pending" and poison.locked_until is None and poison.attempts == 1
    assert poison.due_at > utcnow() + timedelta(seconds=5)  # backoff
    assert "past its time limit of 1 s" in poison.last_error
    assert other.kills == 0 and other.attempts == 0 and other.locked_until is None
    assert other.due_at <= utcnow()  # runs again at once
    assert not thread.is_alive()
    first = int((tmp_path / "m").read_text())
    with pytest.raises(ChildProcessError):  # reaped: no zombie, no orphan
        os.waitpid(first, os.WNOHANG)


def test_child_frozen_by_a_c_loop_holding_the_gil_is_killed(app, db, make_lawyer, quick, tmp_path):
    """A regular expression backtracking for ever holds the GIL: no thread of the child runs,
    not even its heartbeat, nor a SIGTERM handler. The supervisor sees the heartbeat stop,
    SIGKILLs the child and blames the task it was running."""
    app.config["WORKER_TASK_TIME_LIMIT_SECONDS"] = 60  # the heartbeat, not the limit, decides
    task_id, lease = leased(db, make_lawyer())

    def frozen_child(fd):
        report = supervisor.Reporter(fd, threading.Event())
        threading.Thread(target=beating, args=(fd,), daemon=True).start()
        report("start", task_id, lease)
        time.sleep(0.5)
        re.match(r"(a+)+$", "a" * 64 + "b")  # exponential, in C, holding the GIL

    stop, thread = run_supervisor(app, first_child_only(tmp_path / "m", frozen_child))
    try:
        assert wait_for(lambda: state(db, task_id).kills == 1)
        task = state(db, task_id)
    finally:
        stop.set()
        thread.join(30)
    assert "no heartbeat" in task.last_error and task.locked_until is None
    assert not thread.is_alive()


def test_a_crashing_child_is_restarted_and_its_task_blamed(app, db, make_lawyer, quick, tmp_path):
    task_id, lease = leased(db, make_lawyer())

    def crashing(fd):
        supervisor.Reporter(fd, threading.Event())("start", task_id, lease)
        os._exit(7)

    stop, thread = run_supervisor(app, first_child_only(tmp_path / "m", crashing))
    try:
        assert wait_for(lambda: state(db, task_id).kills == 1)
        task = state(db, task_id)
    finally:
        stop.set()
        thread.join(30)
    assert "exited with code 7" in task.last_error


def test_killed_three_times_the_task_is_parked(app, db, make_lawyer):
    task_id, lease = leased(db, make_lawyer())
    for kill in range(1, outbox.POISON_KILLS + 1):
        outcome = outbox.killed(task_id, lease, "killed: it kept the worker busy past its time limit of 1 s")
        task = state(db, task_id)
        assert task.kills == kill
        if kill < outbox.POISON_KILLS:
            assert outcome == "retry" and task.status == "pending"
            task.locked_until, task.due_at = lease, utcnow()  # claimed again with the same lease
            db.session.commit()
    assert outcome == "parked" and state(db, task_id).status == "dead"
    assert outbox.killed(task_id, lease, "again") is None  # no longer ours
    outbox.revive([state(db, task_id)])
    db.session.commit()
    revived = state(db, task_id)
    assert revived.status == "pending" and revived.kills == 0 and revived.attempts == 0


def test_release_only_with_our_lease(app, db, make_lawyer):
    task_id, lease = leased(db, make_lawyer())
    assert outbox.release(task_id, lease + timedelta(seconds=1)) is False
    assert outbox.release(task_id, lease) is True
    assert state(db, task_id).locked_until is None and state(db, task_id).attempts == 0


def test_parked_calendar_sync_says_so_and_is_not_queued_again(app, db, make_lawyer):
    """Regression: a parked poison sync would be queued anew every sync interval, and kill
    the worker three times more each time."""
    lawyer = make_lawyer()
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="Feed", config={},
                              secret_enc=encrypt_json({"url": "https://feed.example/cal.ics"}))
    calendar = Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed", name="Feed", conflict=True)
    db.session.add_all([account, calendar])
    db.session.commit()
    outbox.enqueue("calendar.sync", {"calendar_id": calendar.id}, lawyer_id=lawyer.id)
    db.session.commit()
    task_id, lease = outbox.claim_next(lanes.SYNC_KINDS, {})
    for _ in range(outbox.POISON_KILLS):
        outbox.killed(task_id, lease, "killed: it kept the worker busy past its time limit of 120 s (x)")
        task = state(db, task_id)
        task.locked_until = lease
        db.session.commit()
    assert state(db, task_id).status == "dead"
    db.session.rollback()
    assert "past its time limit of 120 s" in db.session.get(Calendar, calendar.id).last_error
    sync._queued_at.clear()
    sync.queue_due_syncs(utcnow())
    queued = db.session.query(OutboxTask).filter(OutboxTask.kind == "calendar.sync",
                                                 OutboxTask.status == "pending").count()
    assert queued == 0
    from service.usecases.calendar_connect import plain_error

    words = plain_error(db.session.get(Calendar, calendar.id).last_error)
    assert "limit of 120 s" in words and "no longer synced on its own" in words
