"""A booking costs at most 10 SQL statements and one availability check (#19).

Counted with SQLAlchemy's ``before_cursor_execute`` hook on every engine, over the whole
POST of a real booking: a client link's form, an intake's form and the JSON API, each
with no calendar and with an iCal feed connected (synced; the live check's conditional GET
answers 304). Transaction control is not counted: PostgreSQL's driver begins transactions
without a statement, and SQLite's ``BEGIN`` / ``BEGIN IMMEDIATE`` are counted apart (at
most two per booking).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from booking import availability as engine
from service.storage.models import Booking, Client, Consent, Firm, Intake, Lawyer, OutboxTask
from service.usecases import availability, steer
from tests.conftest import NOW
from tests.test_live_check_feed import CountingFeed, connect_synced_feed
from tests.test_pages import form_token

pytestmark = pytest.mark.db_matrix

SLOT = "2026-03-04T13:00:00+00:00"  # Wed 14:00 Berlin: offered by the default agreement
LIMIT = 10
CONTACT = {"name": "Boris", "email": "boris@client.example", "agenda": "Draft settlement, clause 4"}


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []
        self.begins = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.strip().upper().startswith("BEGIN"):
            self.begins += 1
        else:
            self.sql.append(statement)

    def __str__(self) -> str:
        return "\n".join(s.split("\n")[0][:120] for s in self.sql)


@contextmanager
def counted() -> Iterator[Statements]:
    seen = Statements()
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)


@pytest.fixture
def feed() -> Iterator[CountingFeed]:
    server = CountingFeed()
    yield server
    server.close()


@pytest.fixture(params=["no_calendar", "feed"])
def calendar(request, db, feed):
    """Connects a synced feed to a lawyer (or nothing); says which."""

    def connect(lawyer) -> None:
        if request.param == "feed":
            connect_synced_feed(db, lawyer, feed)

    connect.kind = request.param
    connect.feed = feed
    return connect


def assert_booked(db, response, seen: Statements, calendar) -> None:
    assert response.status_code in (200, 201, 303), response.get_data(as_text=True)[:500]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1
    assert len(seen.sql) <= LIMIT, f"{len(seen.sql)} statements:\n{seen}"
    assert seen.begins <= 2
    if calendar.kind == "feed":
        assert calendar.feed.not_modified == 1 and calendar.feed.downloads == 1  # the sync's


def test_json_api_booking_issues_at_most_10_statements(client, make_client, frozen, db, calendar):
    booked, token = make_client()
    calendar(booked.lawyer)
    db.session.remove()  # the request starts with an empty session, as in production
    with counted() as seen:
        response = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert_booked(db, response, seen, calendar)
    assert response.status_code == 201


def test_client_link_booking_issues_at_most_10_statements(client, make_client, frozen, db, calendar):
    booked, token = make_client()
    calendar(booked.lawyer)
    data = {"form_token": form_token(client.get(f"/b/{token}").get_data(as_text=True)), "start": SLOT,
            **CONTACT}
    db.session.remove()
    with counted() as seen:
        response = client.post(f"/b/{token}", data=data)
    assert_booked(db, response, seen, calendar)


def test_intake_booking_issues_at_most_10_statements(client, make_lawyer, frozen, db, calendar):
    lawyer = make_lawyer()
    db.session.add(Intake(lawyer=lawyer, slug="first", title="First consultation", windows="wed 14:00-16:00",
                          duration_min=30, prep_min=30, notice_hours=24, horizon_days=30))
    db.session.commit()
    calendar(lawyer)
    data = {"form_token": form_token(client.get("/i/first").get_data(as_text=True)), "start": SLOT,
            **CONTACT}
    db.session.remove()
    with counted() as seen:
        response = client.post("/i/first", data=data)
    assert_booked(db, response, seen, calendar)
    kinds = sorted(db.session.scalars(sa.select(OutboxTask.kind)))
    assert kinds == ["booking.release_hold", "mail.intake_confirm"]  # written in one INSERT


def test_a_booking_for_a_lawyer_without_calendars_does_not_read_calendars(client, make_client, frozen, db):
    """The link's query counts the lawyer's calendars (``links.with_agreement``): with none,
    the booking's read of them (``lawyer_calendars``) is left out; with no cap in force
    the lawyer's bookings are not read either (the no-overlap guard refuses a collision):
    5 statements in all; on PostgreSQL 2 (the link's query takes the lawyer's lock, and
    the booking, its tasks and its audit row are one statement)."""
    _, token = make_client()
    db.session.remove()
    with counted() as seen:
        response = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert response.status_code == 201
    assert not [s for s in seen.sql if s.lstrip().upper().startswith("SELECT CALENDAR.")], str(seen)
    assert len(seen.sql) == (2 if db.engine.dialect.name == "postgresql" else 5), str(seen)


def test_outbox_tasks_of_a_booking_are_one_insert(client, make_client, frozen, db):
    """The follow-up tasks (mails, reminders) were five INSERTs; now one INSERT ... VALUES
    (on PostgreSQL part of the booking's one statement, ``inserts.together``)."""
    _, token = make_client()
    db.session.remove()
    with counted() as seen:
        response = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert response.status_code == 201
    inserts = [s for s in seen.sql if "INSERT INTO OUTBOX_TASK" in s.upper()]
    assert len(inserts) == 1
    assert inserts[0].upper().count("INSERT INTO OUTBOX_TASK") == 1
    tasks = db.session.scalars(sa.select(OutboxTask).order_by(OutboxTask.id)).all()
    assert [t.kind for t in tasks] == [
        "reminder.client", "reminder.client", "reminder.prep", "mail.booking", "mail.booking"
    ]
    assert all(t.status == "pending" and t.attempts == 0 and t.booking_id == 1 for t in tasks)


@pytest.fixture
def engine_checks(monkeypatch) -> list[str]:
    """Every call of the engine's check of one start (``booking.availability.check_start``)."""
    calls: list[str] = []
    real = engine.check_start

    def counting(*args, **kwargs):
        calls.append(kwargs["start"].isoformat())
        return real(*args, **kwargs)

    monkeypatch.setattr(availability, "check_start", counting)
    return calls


def test_a_booking_checks_availability_once(client, make_client, frozen, db, calendar, engine_checks):
    """Regression: a booking ran the engine's check twice, before its live check and again
    in its transaction; now only in the transaction, with the live result fed in."""
    booked, token = make_client()
    calendar(booked.lawyer)
    response = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert response.status_code == 201, response.get_json()
    assert engine_checks == [SLOT]


def test_a_refused_booking_checks_availability_once(client, make_client, frozen, db, calendar, engine_checks):
    """Refused by a cap: one check, with the bookings the cap counts."""
    booked, token = make_client(max_per_week=1)
    calendar(booked.lawyer)
    assert client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT}).status_code == 201
    engine_checks.clear()
    later = "2026-03-04T14:00:00+00:00"  # the same week
    again = client.post("/api/v1/bookings", json={"token": token, "start": later, **CONTACT})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "slot_client_week_limit"
    assert engine_checks == [later]


def test_a_collision_with_no_cap_in_force_is_checked_again_with_the_bookings(
        client, make_client, frozen, db, calendar, engine_checks):
    """With no cap the first check weighs no bookings (none read); the no-overlap guard
    refuses the INSERT, and the second check, with the bookings over the blocked time,
    says why: two checks for a collision, one for every booking made."""
    booked, token = make_client()
    calendar(booked.lawyer)
    assert client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT}).status_code == 201
    assert engine_checks == [SLOT]
    engine_checks.clear()
    again = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, **CONTACT})
    assert again.status_code == 409
    assert "collides with busy time" in again.get_json()["error"]["message"]
    assert engine_checks == [SLOT, SLOT]


@pytest.fixture
def lawyer_checks(monkeypatch) -> dict[str, int]:
    """How often the lawyer side's engine check (``check_lawyer_start``) runs and the
    lawyer's bookings are read (``availability.lawyer_booking_rows``)."""
    counts = {"checks": 0, "reads": 0}
    real_check, real_rows = steer.check_lawyer_start, availability.lawyer_booking_rows

    def check(*args, **kwargs):
        counts["checks"] += 1
        return real_check(*args, **kwargs)

    def rows(*args, **kwargs):
        counts["reads"] += 1
        return real_rows(*args, **kwargs)

    monkeypatch.setattr(steer, "check_lawyer_start", check)
    monkeypatch.setattr(availability, "lawyer_booking_rows", rows)
    return counts


def test_regression_a_lawyer_side_booking_checks_availability_once(make_client, frozen, db, calendar,
                                                                    lawyer_checks):
    """Regression: the lawyer's booking ran the whole check (bookings and a month of busy
    time read) before its live check and again in its transaction; now as the client's:
    the agreement alone first, then one check in the transaction."""
    booked, _ = make_client()
    calendar(booked.lawyer)
    booking = steer.book_for_client(booked, datetime.fromisoformat(SLOT), "Clause 4", NOW)
    assert booking.booked_by == "lawyer"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1
    assert lawyer_checks == {"checks": 1, "reads": 1}
    if calendar.kind == "feed":
        assert calendar.feed.not_modified == 1 and calendar.feed.downloads == 1  # asked, unchanged


def test_regression_a_lawyer_side_move_checks_availability_once(make_client, frozen, db, calendar,
                                                                 lawyer_checks):
    booked, _ = make_client()
    calendar(booked.lawyer)
    booking = steer.book_for_client(booked, datetime.fromisoformat(SLOT), "Clause 4", NOW)
    lawyer_checks.update(checks=0, reads=0)
    moved = steer.move(booking, datetime.fromisoformat(SLOT) + timedelta(minutes=30), NOW)
    assert moved.start == datetime.fromisoformat(SLOT) + timedelta(minutes=30)
    assert lawyer_checks == {"checks": 1, "reads": 1}


@contextmanager
def lazy_loads() -> Iterator[list[str]]:
    """The attributes of a client, lawyer or firm loaded after the object was (a column the
    booking's query left out, ``links._booking_client_query``, read after all; an expired
    object loaded anew). A query that loads the object again (``populate_existing``) is
    not one."""
    seen: list[str] = []

    def refreshed(target, _context, attrs) -> None:
        if attrs is not None:
            seen.append(f"{type(target).__name__}.{sorted(attrs)}")

    models = (Client, Lawyer, Firm)
    for model in models:
        sa.event.listen(model, "refresh", refreshed)
    try:
        yield seen
    finally:
        for model in models:
            sa.event.remove(model, "refresh", refreshed)


@pytest.mark.parametrize("notice", [False, True])
def test_a_booking_reads_no_column_its_query_left_out(client, make_client, frozen, db, calendar, notice):
    """The link's query leaves out what a booking does not read (#19: fewer columns, 2 %
    of its instructions); reading one anyway would be a statement more, on every booking.
    Both the API and the form, with a feed or none, with the firm's privacy notice
    (consent stored) or none."""
    booked, token = make_client()
    calendar(booked.lawyer)
    if notice:
        firm = db.session.get(Firm, booked.lawyer.firm_id)
        firm.privacy_text_en, firm.privacy_version, firm.consent_required = "We process your data.", 1, True
        db.session.commit()
    data = {"form_token": form_token(client.get(f"/b/{token}").get_data(as_text=True)),
            "start": "2026-03-04T14:00:00+00:00", "consent": "on", **CONTACT}
    db.session.remove()
    with lazy_loads() as loaded:
        api = client.post("/api/v1/bookings", json={"token": token, "start": SLOT, "consent": True, **CONTACT})
        assert api.status_code == 201, api.get_data(as_text=True)
        page = client.post(f"/b/{token}", data=data)
        assert page.status_code == 303, page.get_data(as_text=True)[:500]
    assert loaded == []
    assert db.session.scalar(sa.select(sa.func.count(Consent.id))) == (1 if notice else 0)
