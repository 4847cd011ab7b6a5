"""Races through real gunicorn workers: the database keeps bookings single and in rule.

PostgreSQL runs with 4 workers (row lock on the lawyer + exclusion constraint), SQLite
with 2 (``BEGIN IMMEDIATE`` + triggers). Every answer must be a 201 or a 409 — never a
500 or "database is locked".
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from service.calendars.base import OWN_UID_SUFFIX
from tests import pg
from tests.calendar_servers import USER, CalendarServer, start_server, unique
from tests.servers import (
    Gunicorn,
    flask_cli,
    in_app,
    race,
    request,
    run_workers,
    server_env,
    stored_uids,
)

pytestmark = pytest.mark.slow

EVERY_DAY = ",".join(f"{d} 07:00-21:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
_names = itertools.count()
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Iterator[CalendarServer]:
    server = start_server("radicale", tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


@pytest.fixture(
    scope="module",
    params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"],
)
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"race-{request.param}")
    settings = {"RATELIMIT_BOOKING": "10000/minute", "RATELIMIT_BOOKING_TOKEN": "10000/minute",
                "ALLOW_PRIVATE_CALENDAR_HOSTS": "true"}
    if request.param == "postgresql":
        with pg.fresh_database("ch_race") as url:
            env = server_env(url, tmp / "instance", **settings)
            with Gunicorn(env, workers=4, log_dir=tmp) as gunicorn:
                yield gunicorn
    else:
        env = server_env(f"sqlite:///{tmp / 'race.db'}", tmp / "instance", **settings)
        with Gunicorn(env, workers=2, log_dir=tmp) as gunicorn:
            yield gunicorn


def seed(server: Gunicorn, clients: list[dict], **lawyer_fields):
    """A lawyer with ``clients`` (agreement fields); returns ``lawyer_id, [(client_id, token, slots)]``."""

    def work():
        from service.storage.extensions import db
        from service.storage.models import Lawyer, utcnow
        from service.usecases.availability import slots_for
        from service.usecases.clients import create_client

        n = next(_names)
        lawyer = Lawyer(name="Anna", email=f"anna{n}@race.example", timezone="Europe/Berlin",
                        **lawyer_fields)
        db.session.add(lawyer)
        made = []
        for i, fields in enumerate(clients):
            agreement = dict(name=f"Client {i}", email=f"c{n}-{i}@race.example", windows=EVERY_DAY,
                             duration_min=30, prep_min=0, notice_hours=1, horizon_days=14)
            agreement.update(fields)
            made.append(create_client(lawyer, **agreement))
        db.session.commit()
        now = utcnow()
        return lawyer.id, [(c.id, token, slots_for(c, now)) for c, token in made]

    return in_app(server.env, work)


def connect_destination(server: Gunicorn, radicale: CalendarServer, lawyer_id: int) -> str:
    """Connect a fresh Radicale calendar with the CLI (conflict source and destination)."""
    name = unique("office")
    url = radicale.make_calendar(name)
    flask_cli(server.env, "calendar", "add-caldav", "--lawyer", str(lawyer_id), "--url", url,
              "--username", USER, "--password", radicale.password(), "--write-to", name)
    return url


def booking_call(token: str, start) -> tuple:
    body = {"token": token, "start": start.isoformat(), "name": "Race",
            "email": "race@client.example", "agenda": "Who wins?"}
    return ("POST", "/api/v1/bookings", body, None)


def statuses(replies) -> Counter:
    return Counter(r.status for r in replies)


def assert_clean(server: Gunicorn, replies) -> None:
    for reply in replies:
        assert reply.status in (201, 409), (reply.status, reply.body[:300])
        if reply.status == 409:
            assert reply.json()["error"]["message"]
    assert "database is locked" not in server.logs()
    assert "Traceback" not in server.logs()


def rows(server: Gunicorn, lawyer_id: int):
    def work():
        from service.storage.extensions import db
        from service.storage.models import HOLDING_STATUSES, Booking, OutboxTask

        bookings = db.session.scalars(  # intake bookings hold their slot while pending
            sa.select(Booking).where(Booking.lawyer_id == lawyer_id, Booking.status.in_(HOLDING_STATUSES))
        ).all()
        tasks = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.lawyer_id == lawyer_id)).all()
        return (
            [(b.id, b.client_id, b.blocked_start, b.blocked_end) for b in bookings],
            [(t.kind, t.booking_id, t.payload.get("event")) for t in tasks],
        )

    return in_app(server.env, work)


def test_fifty_posts_for_one_slot_make_one_booking_and_one_event(server, radicale):
    workers = server.workers
    lawyer_id, [(_, token, slots)] = seed(server, [{"prep_min": 15}])
    calendar_url = connect_destination(server, radicale, lawyer_id)
    replies = race(server.url, [booking_call(token, slots[0].start)] * 50)
    assert_clean(server, replies)
    assert statuses(replies) == {201: 1, 409: 49}, f"{workers} workers"
    bookings, tasks = rows(server, lawyer_id)
    assert len(bookings) == 1
    booking_id = bookings[0][0]
    assert sorted(t for t in tasks if t[0] == "calendar.put") == [
        ("calendar.put", booking_id, "call"), ("calendar.put", booking_id, "prep")]
    assert sorted(t[2] for t in tasks if t[0] == "mail.booking") == ["booked", "booked"]
    # Two workers at once write the lawyer's calendar: one call event and its prep block.
    run_workers(server.env, 2)
    uid = next(r.json()["uid"] for r in replies if r.status == 201)
    assert sorted(stored_uids(radicale, calendar_url)) == [
        f"{uid}-call{OWN_UID_SUFFIX}", f"{uid}-prep{OWN_UID_SUFFIX}"]


def test_overlapping_slots_of_different_lengths_from_two_clients(server):
    """A 60-min call with 30-min prep and a 30-min call without prep, overlapping: one wins."""
    lawyer_id, [(_, long_token, long_slots), (_, short_token, _)] = seed(
        server, [{"duration_min": 60, "prep_min": 30}, {"duration_min": 30, "prep_min": 0}]
    )
    long_start = long_slots[0].start  # blocks [start - 30 min, start + 60 min)
    short_start = long_start + timedelta(minutes=30)  # inside the long call
    calls = [booking_call(long_token, long_start), booking_call(short_token, short_start)] * 10
    replies = race(server.url, calls)
    assert_clean(server, replies)
    assert statuses(replies)[201] == 1
    bookings, _ = rows(server, lawyer_id)
    assert len(bookings) == 1


def test_ten_bookings_in_one_week_for_a_once_a_week_client(server):
    lawyer_id, [(_, token, slots)] = seed(server, [{"max_per_week": 1}])
    by_week: dict[tuple, list] = {}
    for slot in slots:
        by_week.setdefault(slot.start.astimezone(BERLIN).isocalendar()[:2], []).append(slot)
    same_week = max(by_week.values(), key=len)
    starts = [s.start for s in same_week[::2][:10]]  # distinct, non-overlapping slots
    assert len(starts) == 10
    replies = race(server.url, [booking_call(token, start) for start in starts])
    assert_clean(server, replies)
    assert statuses(replies) == {201: 1, 409: 9}
    assert all(r.json()["error"]["code"] == "slot_client_week_limit" for r in replies if r.status == 409)
    assert len(rows(server, lawyer_id)[0]) == 1


def test_lawyer_daily_cap_holds_across_clients(server):
    lawyer_id, made = seed(server, [{}, {}, {}, {}], max_per_day=1)
    day = made[0][2][0].start.date()
    calls = []
    for i, (_, token, slots) in enumerate(made):
        same_day = [s for s in slots if s.start.date() == day]
        calls += [booking_call(token, same_day[(i * 3) % len(same_day)].start)] * 3
    replies = race(server.url, calls)
    assert_clean(server, replies)
    assert statuses(replies)[201] == 1
    assert len(rows(server, lawyer_id)[0]) == 1


def test_access_log_keeps_no_tokens(server):
    """gunicorn's access log would hold every link token it served; the app redacts them."""
    _, [(_, token, slots)] = seed(server, [{}])
    assert request(server.url, "GET", f"/b/{token}").status == 200
    assert request(server.url, "GET", f"/api/v1/slots?token={token}").status == 200
    created = request(server.url, *booking_call(token, slots[0].start)[:3])
    assert created.status == 201
    manage = created.json()["manage_url"].rsplit("/", 1)[-1]
    assert request(server.url, "GET", f"/m/{manage}").status == 200
    assert request(server.url, "GET", f"/m/{manage}/invite.ics").status == 200
    logs = server.logs()
    assert token not in logs and manage not in logs
    assert "GET /b/[redacted] HTTP/1.1" in logs and "token=[redacted]" in logs


def test_ten_intake_bookings_in_one_week_for_a_once_a_week_intake(server):
    """The public intake's cap counts all visitors together, also when they race."""

    def work():
        from service.storage.extensions import db
        from service.storage.models import Intake, Lawyer, utcnow
        from service.usecases.availability import slots_for
        from service.web import formtoken

        n = next(_names)
        lawyer = Lawyer(name="Anna", email=f"anna{n}@race.example", timezone="Europe/Berlin")
        intake = Intake(lawyer=lawyer, slug=f"first-{n}", title="First consultation",
                        windows=EVERY_DAY, duration_min=30, notice_hours=1, horizon_days=14,
                        max_per_week=1)
        db.session.add(intake)
        db.session.commit()
        return lawyer.id, intake.slug, formtoken.issue("intake", intake.slug), slots_for(intake, utcnow())

    lawyer_id, slug, form_token, slots = in_app(server.env, work)
    by_week: dict[tuple, list] = {}
    for slot in slots:
        by_week.setdefault(slot.start.astimezone(BERLIN).isocalendar()[:2], []).append(slot)
    starts = [s.start for s in max(by_week.values(), key=len)[::2][:10]]
    form = "form_token={}&name=Visitor+{}&email=v{}%40visitor.example&agenda=New+matter&start={}"
    calls = [("POST", f"/i/{slug}", form.format(form_token, i, i, quote(start.isoformat())).encode(),
              {"Content-Type": "application/x-www-form-urlencoded"}) for i, start in enumerate(starts)]
    replies = race(server.url, calls)
    assert Counter(r.status for r in replies) == {303: 1, 409: 9}, [r.body[:200] for r in replies]
    assert "Traceback" not in server.logs()
    assert len(rows(server, lawyer_id)[0]) == 1
