"""The worker's lanes: a task past its time limit is abandoned and retried later (its
lease honoured) while other work goes on; one task per lawyer per lane at a time."""

from __future__ import annotations

import threading

import pytest

from service.jobs import lanes
from service.storage import outbox
from service.storage.models import OutboxTask
from tests.servers import wait_for


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
        assert wait_for(lambda: _fresh(db, other.id).status == "done")  # the other lawyer: at once
        assert wait_for(lambda: "abandoned" in (_fresh(db, slow.id).last_error or ""))
        abandoned = _fresh(db, slow.id)
        assert abandoned.status == "pending" and abandoned.attempts == 1
        assert abandoned.locked_until is not None  # the lease stays: nobody reruns it yet
        assert abandoned.due_at >= abandoned.locked_until
        # The first lawyer's next task waited while the slow one held the lane's slot for
        # that lawyer, and runs once it was abandoned... not before its lease ends:
        assert _fresh(db, later_of_first.id).status == "pending"
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


@pytest.mark.db_matrix
def test_a_flood_of_one_lawyers_mail_never_starves_another(app, db, make_lawyer):
    """60 mails of one lawyer due first, one of another lawyer due last: the second lawyer's
    is the next claimed after the first lawyer's first, and the lawyer served longest ago
    goes first when both wait."""
    from datetime import timedelta

    from service.storage.models import utcnow

    flooding, other = make_lawyer(), make_lawyer()
    now = utcnow()
    for n in range(60):
        outbox.enqueue("mail.booking", {"n": n}, lawyer_id=flooding.id, due_at=now - timedelta(minutes=60 - n))
    last = outbox.enqueue("mail.booking", {}, lawyer_id=other.id, due_at=now)
    db.session.commit()
    served: dict = {}
    first_id, first_lease = outbox.claim_next(("calendar.put",), served, other_than=True)
    second_id, _ = outbox.claim_next(("calendar.put",), served, other_than=True)
    assert db.session.get(OutboxTask, first_id).lawyer_id == flooding.id
    assert second_id == last.id
    # Both tasks finish and the other lawyer gets a new one. Whoever was served longer
    # ago goes first, whatever the due times.
    outbox.run_task(first_id, first_lease, renew=False)
    outbox.run_task(second_id, None)
    newer = outbox.enqueue("mail.booking", {}, lawyer_id=other.id, due_at=now)
    db.session.commit()
    served[other.id] = served[flooding.id] + 1  # the other lawyer was served more recently
    third_id, _ = outbox.claim_next(("calendar.put",), served, other_than=True)
    assert db.session.get(OutboxTask, third_id).lawyer_id == flooding.id
    served[flooding.id] = served[other.id] + 1
    outbox.run_task(third_id, None)
    fourth_id, _ = outbox.claim_next(("calendar.put",), served, other_than=True)
    assert fourth_id == newer.id  # though the flooding lawyer's next mails were due earlier


@pytest.mark.db_matrix
def test_regression_a_task_cut_off_by_the_database_does_not_hold_its_lawyers_lane(app, db, cut_task,
                                                                                    monkeypatch):
    """The database went away while a lane held a claimed task, before anything was
    recorded: the lease stayed for its 5 minutes, and with it every other task of that
    lawyer in the lane (one per lawyer at a time) — a booking's mail after the outage
    waited minutes (seen in CI's 20 s outage test). Now the lane gives the lease up once
    the database is back, and the task runs again at once with no attempt counted."""
    import sqlalchemy as sa

    lawyer_id, cut_id, ran = cut_task
    real_run_task = outbox.run_task
    failed_once: list[int] = []

    def database_goes_away_once(task_id, lease=None, **kwargs):
        if task_id == cut_id and not failed_once:
            failed_once.append(task_id)
            raise sa.exc.OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
        return real_run_task(task_id, lease, **kwargs)

    monkeypatch.setattr(outbox, "run_task", database_goes_away_once)
    _lane_goes_on_after_the_cut(app, db, lawyer_id, cut_id, lambda: failed_once, ran)


@pytest.mark.db_matrix
def test_regression_a_claim_whose_commit_answer_was_lost_does_not_hold_its_lawyers_lane(
        app, db, cut_task, monkeypatch):
    """The database went away while a lane was taking a lease: the claim's COMMIT reached
    the server, its answer did not (CI's 20 s outage test: the cut came as the lane claimed
    the lawyer's copy of the first booking's mail). The lane saw only an error, so nobody
    ran the task, and its 5-minute lease held every later task of that lawyer in the mail
    lane: the booking after the outage was not mailed in 30 s. Now the lane gives up the
    lease it may have taken once the database answers, and both tasks run at once."""
    import sqlalchemy as sa

    lawyer_id, cut_id, ran = cut_task
    leasing: set[int] = set()  # the pooled connections that have just taken a lease
    lost: list[int] = []

    @sa.event.listens_for(db.engine, "after_cursor_execute")
    def note_lease(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE outbox_task SET locked_until") and context.rowcount == 1:
            leasing.add(id(conn.connection))

    dialect = db.engine.dialect
    real_commit = dialect.do_commit

    def commit_then_lose_the_answer(pooled):
        real_commit(pooled)
        if id(pooled) in leasing and not lost:  # committed; the lane hears a drop
            lost.append(cut_id)
            raise dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(dialect, "do_commit", commit_then_lose_the_answer)
    try:
        _lane_goes_on_after_the_cut(app, db, lawyer_id, cut_id, lambda: lost, ran)
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", note_lease)


@pytest.fixture
def cut_task(db, make_lawyer, monkeypatch) -> tuple[int, int, list[str]]:
    """A lawyer's one task ("cut", of a kind whose handler notes the names it runs):
    ``(lawyer id, task id, names run)``."""
    ran: list[str] = []
    monkeypatch.setitem(outbox._HANDLERS, "test.fast", lambda payload: ran.append(payload["name"]))
    lawyer = make_lawyer()
    cut = outbox.enqueue("test.fast", {"name": "cut"}, lawyer_id=lawyer.id)
    db.session.flush()
    ids = (lawyer.id, cut.id)  # (read after the commit, they would open a read transaction)
    db.session.commit()
    return (*ids, ran)


def _fresh(db, task_id: int) -> OutboxTask:
    """The task as the database holds it now (the test's session forgets what it read)."""
    db.session.rollback()
    return db.session.get(OutboxTask, task_id)


def _lane_goes_on_after_the_cut(app, db, lawyer_id: int, cut_id: int, cut_happened, ran: list[str]) -> None:
    """Run the lanes until the database has cut off the task ``cut_id`` (``cut_happened``),
    then queue another task of the same lawyer: both run at once (nothing holds the
    lawyer's lane), the cut one counted only for its one real run."""
    stop = threading.Event()
    worker = threading.Thread(target=lanes.run_lanes, args=(app, 0.1, lambda: None, stop), daemon=True)
    worker.start()
    try:
        assert wait_for(cut_happened)
        after = outbox.enqueue("test.fast", {"name": "after"}, lawyer_id=lawyer_id)
        db.session.commit()
        assert wait_for(lambda: _fresh(db, cut_id).status == "done", 10), "the cut task's lease was kept"
        assert wait_for(lambda: _fresh(db, after.id).status == "done", 10), "the lawyer's lane stayed held"
        assert _fresh(db, cut_id).attempts == 1  # its one run: the cut counted nothing
    finally:
        stop.set()
        worker.join(20)
    assert sorted(ran) == ["after", "cut"]
