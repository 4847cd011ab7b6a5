"""One lawyer's hostile calendars never delay another lawyer's mail, and the worker and the
web survive a database outage (real ``flask worker``, PostgreSQL, aiosmtpd, gunicorn,
Radicale, and a hostile calendar server on loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.calendars import bounded
from tests import pg
from tests.calendar_servers import USER, start_server, unique
from tests.hostile_calendar import HostileServer
from tests.mail.conftest import Inbox, _free_port
from tests.servers import (
    ROOT,
    Gunicorn,
    flask_cli,
    in_app,
    request,
    server_env,
    stop_process,
    stored_uids,
    wait_for,
)
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVERY_DAY = ",".join(f"{d} 07:00-21:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
MAIL_BOUND_SECONDS = 10


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def seed_lawyer(name: str, *, feed_url: str | None = None, write_url: tuple[str, str, str] | None = None):
    """A lawyer (with a conflict feed and/or a CalDAV destination) and one client; returns
    (lawyer id, client id, link token)."""
    from service.core.crypto import encrypt_json
    from service.storage.extensions import db
    from service.storage.models import Calendar, CalendarAccount, Lawyer
    from service.usecases.clients import create_client

    lawyer = Lawyer(name=name, email=f"{name.lower()}@lawyers.example", timezone="Europe/Berlin")
    db.session.add(lawyer)
    db.session.flush()
    if feed_url:
        account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="feed", config={},
                                  secret_enc=encrypt_json({"url": feed_url}))
        account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id="feed", name="Feed",
                                          conflict=True, write_to=False))
        db.session.add(account)
    if write_url:
        url, calendar_url, password = write_url
        account = CalendarAccount(lawyer_id=lawyer.id, kind="caldav", label="office",
                                  config={"url": url, "username": USER},
                                  secret_enc=encrypt_json({"password": password}))
        account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id=calendar_url, name="Office",
                                          conflict=False, write_to=True))
        db.session.add(account)
    client, token = create_client(lawyer, name=f"Client of {name}", email=f"client-{name.lower()}@client.example",
                                   windows=EVERY_DAY, duration_min=30, prep_min=0, notice_hours=1,
                                   horizon_days=14)
    db.session.commit()
    return lawyer.id, client.id, token


def book_for(client_id: int, index: int = 0) -> tuple[str, float]:
    """Book the client's ``index``-th offered slot; returns (booking uid, time.time() at commit)."""
    from service.storage.extensions import db
    from service.storage.models import Client, utcnow
    from service.usecases.availability import slots_for
    from service.usecases.bookings import Contact, book

    client = db.session.get(Client, client_id)
    start = slots_for(client, utcnow())[index * 2].start
    booking, _manage = book(client, start, Contact(client.name, client.email, "Lease"), utcnow())
    return booking.uid, time.time()


def start_worker(env, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "service", "worker", "--interval", "0.2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen) -> None:
    stop_process(worker, 40, kill_wait=10)


def test_dripping_calendars_never_delay_another_lawyers_mail(tmp_path, inbox):
    """Regression: one lawyer's feed dripping a byte every few seconds held the worker, and
    every lawyer's mail and calendar writes waited behind it."""
    radicale = start_server("radicale", tmp_path / "radicale")
    calendar_url = radicale.make_calendar(unique("office"))
    try:
        with HostileServer(drip=2.0) as hostile, pg.fresh_database("ch_isolation") as db_url:
            env = server_env(db_url, tmp_path / "instance", ALLOW_PRIVATE_CALENDAR_HOSTS="true",
                             SMTP_HOST="127.0.0.1", SMTP_PORT=str(inbox.port),
                             CALENDAR_READ_TIMEOUT_SECONDS="120", WORKER_TASK_TIME_LIMIT_SECONDS="60")
            flask_cli(env, "db", "upgrade")
            # Three lawyers whose feeds drip (more than the sync lane has threads), one whose
            # calendar destination drips (its writes hang), and Boris's lawyer, Vera.
            for n in range(3):
                in_app(env, lambda n=n: seed_lawyer(f"Drip{n}", feed_url=hostile.url("drip", f"f{n}.ics")))
            _, stuck_client, _ = in_app(env, lambda: seed_lawyer(
                "Stuck", write_url=(hostile.url("drip", "dav/"), hostile.url("drip", "dav/cal/"), "pw")))
            _, vera_client, _ = in_app(env, lambda: seed_lawyer(
                "Vera", write_url=(radicale.url, calendar_url, radicale.password())))
            in_app(env, lambda: book_for(stuck_client))
            worker = start_worker(env, tmp_path / "worker.log")
            try:
                # The sync lane and the write lane are both busy with dripping answers.
                assert wait_for(lambda: hostile.requests >= 3, 30), hostile.requests
                time.sleep(1.0)
                uid, booked_at = in_app(env, lambda: book_for(vera_client))
                mail = wait_for(lambda: inbox.to("client-vera@client.example"), 30)
                received = time.time()
                written = wait_for(lambda: len(stored_uids(radicale, calendar_url)) == 1, 30)
                written_at = time.time()
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            finally:
                stop_worker(worker)
            latency = received - booked_at
            print(json.dumps({"figure": "other_lawyer_mail_latency_s", "value": round(latency, 2)}))
            print(json.dumps({"figure": "other_lawyer_write_latency_s", "value": round(written_at - booked_at, 2)}))
            assert mail, "Vera's client never got the confirmation"
            assert latency < MAIL_BOUND_SECONDS, latency
            assert written and written_at - booked_at < MAIL_BOUND_SECONDS
            assert uid
    finally:
        radicale.stop()


def test_worker_and_web_survive_a_20s_database_outage(tmp_path, inbox):
    """Regression: a 20 s PostgreSQL outage killed ``flask worker`` (OperationalError out of
    run_forever) and the web answered 500; now the worker backs off and carries on, and the
    web answers 503 (JSON under /api, a page elsewhere) while the database is away."""
    with pg.fresh_database("ch_db_outage") as direct_url:
        proxy = TcpProxy(("127.0.0.1", 5432))
        try:
            db_url = proxy.url(direct_url)
            env = server_env(db_url, tmp_path / "instance", SMTP_HOST="127.0.0.1",
                             SMTP_PORT=str(inbox.port))
            with Gunicorn(env, workers=2, log_dir=tmp_path) as web:
                _, client_id, token = in_app(env, lambda: seed_lawyer("Vera"))
                worker = start_worker(env, tmp_path / "worker.log")
                try:
                    in_app(env, lambda: book_for(client_id, 0))
                    assert wait_for(lambda: inbox.to("client-vera@client.example"), 20)
                    proxy.cut()
                    cut_at = time.monotonic()
                    api = request(web.url, "GET", f"/api/v1/slots?token={token}", timeout=30)
                    page = request(web.url, "GET", f"/b/{token}", timeout=30)
                    while time.monotonic() - cut_at < 20:
                        assert worker.poll() is None, "the worker died with the database"
                        time.sleep(0.5)
                    proxy.restore()
                    restored_at = time.monotonic()
                    answered = wait_for(lambda: request(web.url, "GET", f"/api/v1/slots?token={token}",
                                                        timeout=30).status == 200, 30, every=0.2)
                    web_back = time.monotonic() - restored_at
                    before = len(inbox.messages)
                    booked = time.monotonic()
                    in_app(env, lambda: book_for(client_id, 1))
                    mailed = wait_for(lambda: len(inbox.messages) > before, 30)
                    mail_back = time.monotonic() - booked
                    worker_back = time.monotonic() - restored_at
                    assert worker.poll() is None
                finally:
                    stop_worker(worker)
            log = (tmp_path / "worker.log").read_text()
            print(json.dumps({"figure": "web_recovery_after_db_outage_s", "value": round(web_back, 2)}))
            print(json.dumps({"figure": "worker_mail_after_restore_s", "value": round(worker_back, 2),
                              "booking_to_mail_s": round(mail_back, 2)}))
            assert api.status == 503, api.body
            assert api.json()["error"]["code"] == "database_unavailable"
            assert page.status == 503 and b"<html" in page.body.lower()
            assert answered and mailed, log[-3000:]
            assert "database unavailable" in log and "working again" in log
            assert "Traceback" not in log, log[-3000:]
        finally:
            proxy.close()


def test_three_slow_live_checks_leave_the_web_workers_free(tmp_path):
    """Regression: three bookings for a lawyer whose feed drips held every web worker until
    gunicorn killed them. Now one waits (CALENDAR_WEB_SLOTS=1) at most the budget, the other
    two are refused after a short wait for a slot, and the site keeps answering meanwhile."""
    import threading

    with HostileServer(drip=1.0) as hostile, pg.fresh_database("ch_web_slots") as db_url:
        env = server_env(db_url, tmp_path / "instance", ALLOW_PRIVATE_CALENDAR_HOSTS="true",
                         CALENDAR_WEB_BUDGET_SECONDS="6", CALENDAR_WEB_SLOTS="1",
                         RATELIMIT_BOOKING="10000/minute", RATELIMIT_BOOKING_TOKEN="10000/minute")
        with Gunicorn(env, workers=4, log_dir=tmp_path) as web:
            _, client_id, token = in_app(env, lambda: seed_lawyer("Drip", feed_url=hostile.url("drip")))
            start = in_app(env, lambda: _fresh_mirror_and_a_slot(client_id))
            body = {"token": token, "start": start, "name": "B", "email": "b@client.example", "agenda": "x"}
            replies: list = []

            def book() -> None:
                began = time.monotonic()
                reply = request(web.url, "POST", "/api/v1/bookings", body, timeout=60)
                replies.append((reply, time.monotonic() - began))

            threads = [threading.Thread(target=book) for _ in range(3)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)
            began = time.monotonic()
            slots = request(web.url, "GET", f"/api/v1/slots?token={token}", timeout=30)
            meanwhile = time.monotonic() - began
            for thread in threads:
                thread.join(60)
    print(json.dumps({"figure": "slots_answer_during_3_slow_checks_s", "value": round(meanwhile, 2)}))
    assert slots.status == 200 and meanwhile < 3, meanwhile  # a free worker answers it
    assert [r.status for r, _ in replies] == [503, 503, 503]
    assert all(r.json()["error"]["code"] == "calendar_unavailable" for r, _ in replies)
    assert max(s for _, s in replies) < 6 + 4  # the budget, and the queue behind it
    assert sorted(s for _, s in replies)[0] < bounded.SLOT_WAIT_SECONDS + 2  # not the budget


def _fresh_mirror_and_a_slot(client_id: int) -> str:
    import sqlalchemy as sa

    from service.storage.extensions import db
    from service.storage.models import Calendar, Client, utcnow
    from service.usecases.availability import slots_for

    db.session.execute(sa.update(Calendar).values(synced_at=utcnow()))
    db.session.commit()
    client = db.session.get(Client, client_id)
    return slots_for(client, utcnow())[0].start.isoformat()
