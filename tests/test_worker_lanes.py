"""The worker's lanes: a task past its time limit is abandoned and retried later (its
lease honoured) while other work goes on; one task per lawyer per lane at a time."""

from __future__ import annotations

import threading
import time

import pytest

from service.jobs import lanes
from service.storage import outbox
from service.storage.models import OutboxTask


@pytest.fixture
def app_overrides() -> dict:
    return {"WORKER_TASK_TIME_LIMIT_SECONDS": 1, "WORKER_MAIL_CONCURRENCY": 2}


@pytest.fixture
def handlers(monkeypatch):
    ran: list[str] = []
    release = threading.Event()

    def slow(payload):
        ran.append("slow")
        release.wait(20)

    monkeypatch.setitem(outbox._HANDLERS, "test.slow", slow)
    monkeypatch.setitem(outbox._HANDLERS, "test.fast", lambda payload: ran.append("fast"))
    monkeypatch.setattr(lanes, "GRACE_SECONDS", 0.2)
    yield ran
    release.set()


def wait_for(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_task_past_its_time_limit_is_abandoned_and_retried_later(app, db, make_lawyer, handlers):
    """Regression: one task stuck on a calendar held the worker for as long as it lasted."""
    first, second = make_lawyer(), make_lawyer()
    slow = outbox.enqueue("test.slow", {}, lawyer_id=first.id)
    later_of_first = outbox.enqueue("test.fast", {}, lawyer_id=first.id)
    other = outbox.enqueue("test.fast", {}, lawyer_id=second.id)
    db.session.commit()
    stop = threading.Event()
    worker = threading.Thread(target=lanes.run_lanes, args=(app, 0.1, lambda: None, stop), daemon=True)
    worker.start()
    try:
        def state(task_id):
            db.session.rollback()
            return db.session.get(OutboxTask, task_id)

        assert wait_for(lambda: state(other.id).status == "done")  # the other lawyer: at once
        assert wait_for(lambda: "abandoned" in (state(slow.id).last_error or ""))
        abandoned = state(slow.id)
        assert abandoned.status == "pending" and abandoned.attempts == 1
        assert abandoned.locked_until is not None  # the lease stays: nobody reruns it yet
        assert abandoned.due_at >= abandoned.locked_until
        # The first lawyer's next task waited while the slow one held the lane's slot for
        # that lawyer, and runs once it was abandoned... not before its lease ends:
        assert state(later_of_first.id).status == "pending"
    finally:
        stop.set()
        worker.join(20)
    assert handlers.count("slow") == 1


def test_one_task_per_lawyer_per_lane(app, db, make_lawyer):
    lawyer = make_lawyer()
    first = outbox.enqueue("mail.booking", {}, lawyer_id=lawyer.id)
    outbox.enqueue("mail.booking", {}, lawyer_id=lawyer.id)
    db.session.commit()
    served: dict = {}
    claimed = outbox.claim_next(("calendar.put",), served, other_than=True)
    assert claimed is not None and claimed[0] == first.id
    assert outbox.claim_next(("calendar.put",), served, other_than=True) is None
    # Another lane's kinds are not held back by it.
    outbox.enqueue("calendar.put", {}, lawyer_id=lawyer.id)
    db.session.commit()
    assert outbox.claim_next(("calendar.put",), served) is not None
