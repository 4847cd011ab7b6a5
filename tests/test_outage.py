"""A calendar server dies during 50 bookings: every booking stands, every event is written
exactly once after the server returns, none duplicated (gunicorn, PostgreSQL, Radicale).

The server dies after the third batch of ten, while the worker writes their events; the
two batches after it are booked with the server away (the test had seven such batches,
each alike: its bookings' writes fail until the server is back)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

import pytest

from service.calendars.base import OWN_UID_SUFFIX
from tests import pg
from tests.calendar_servers import USER, start_server, unique
from tests.servers import ROOT, Gunicorn, in_app, race, run_workers, server_env, stored_uids

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVERY_DAY = ",".join(f"{d} 07:00-21:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def seed(env, radicale, calendar_url):
    """A lawyer whose Radicale calendar is a write-only destination, and one client."""

    def work():
        from service.core.crypto import encrypt_json
        from service.storage.extensions import db
        from service.storage.models import Calendar, CalendarAccount, Lawyer, utcnow
        from service.usecases.availability import slots_for
        from service.usecases.clients import create_client

        lawyer = Lawyer(name="Anna", email="anna@outage.example", timezone="Europe/Berlin")
        db.session.add(lawyer)
        db.session.flush()
        account = CalendarAccount(lawyer_id=lawyer.id, kind="caldav", label="office",
                                  config={"url": radicale.url, "username": USER},
                                  secret_enc=encrypt_json({"password": radicale.password()}))
        # Not a conflict source: a booking must not wait for (or fail on) the dead server.
        account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id=calendar_url, name="Office",
                                          conflict=False, write_to=True))
        db.session.add(account)
        client, token = create_client(lawyer, name="Boris", email="boris@client.example",
                                      windows=EVERY_DAY, duration_min=30, prep_min=15,
                                      notice_hours=1, horizon_days=14)
        db.session.commit()
        return token, [s.start for s in slots_for(client, utcnow())]

    return in_app(env, work)


def outbox_state(env):
    def work():
        import sqlalchemy as sa

        from service.storage.extensions import db
        from service.storage.models import Booking, OutboxTask

        booked = db.session.scalars(sa.select(Booking.uid).where(Booking.status == "confirmed")).all()
        tasks = Counter(tuple(row) for row in db.session.execute(
            sa.select(OutboxTask.kind, OutboxTask.status)))
        return booked, tasks

    return in_app(env, work)


def make_due_now(env) -> None:
    """Time passes: the backed-off retries become due."""

    def work():
        import sqlalchemy as sa

        from service.storage.extensions import db
        from service.storage.models import OutboxTask, utcnow

        db.session.execute(sa.update(OutboxTask).where(OutboxTask.status == "pending")
                           .values(due_at=utcnow(), locked_until=None))
        db.session.commit()

    in_app(env, work)


def test_calendar_server_killed_during_50_bookings(tmp_path):
    radicale = start_server("radicale", tmp_path / "radicale")
    calendar_url = radicale.make_calendar(unique("office"))
    try:
        with pg.fresh_database("ch_outage") as db_url:
            env = server_env(db_url, tmp_path / "instance", ALLOW_PRIVATE_CALENDAR_HOSTS="true",
                             RATELIMIT_BOOKING="10000/minute", RATELIMIT_BOOKING_TOKEN="10000/minute")
            with Gunicorn(env, workers=4, log_dir=tmp_path) as gunicorn:
                token, slots = seed(env, radicale, calendar_url)
                starts = slots[::2][:50]  # a call + prep every hour: none overlaps another
                assert len(starts) == 50
                worker = subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "service", "worker", "--interval", "0.2"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    replies = []
                    for batch in range(5):
                        if batch == 3:  # the calendar server dies mid-way, without warning
                            radicale.process.send_signal(signal.SIGKILL)
                            radicale.process.wait(10)
                        calls = [("POST", "/api/v1/bookings",
                                  {"token": token, "start": start.isoformat(), "name": "Boris",
                                   "email": "boris@client.example", "agenda": f"Matter {i}"}, None)
                                 for i, start in enumerate(starts[batch * 10:(batch + 1) * 10])]
                        replies += race(gunicorn.url, calls)
                finally:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(30)
                assert Counter(r.status for r in replies) == {201: 50}
                booked, tasks = outbox_state(env)
                assert len(booked) == 50
                assert tasks[("calendar.put", "pending")] > 0  # the outage left work behind

                radicale.start()  # the server returns, with what it had stored
                for _ in range(10):
                    make_due_now(env)
                    run_workers(env, 2)
                    booked, tasks = outbox_state(env)
                    if not tasks[("calendar.put", "pending")]:
                        break
                assert tasks[("calendar.put", "done")] == 100, tasks
                assert not tasks[("calendar.put", "dead")]
    finally:
        radicale.stop()
    uids = stored_uids(radicale, calendar_url)
    expected = {f"{uid}-{which}{OWN_UID_SUFFIX}" for uid in booked for which in ("call", "prep")}
    assert len(uids) == len(set(uids)) == 100  # none duplicated
    assert set(uids) == expected  # every event written
