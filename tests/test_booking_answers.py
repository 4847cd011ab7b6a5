"""A client's booking answers the same on SQLite and PostgreSQL whatever the shape of
its statements (#19 cut them from 18 to 2): a refusal by the lawyer's cap writes
nothing, a time another client holds is named by the check (not by the database's
no-overlap guard), and an intake's hold that ran out gives way to a client's booking
before the worker has released it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.storage.models import AuditEvent, Booking, OutboxTask
from tests.test_booking_statements import CONTACT, SLOT
from tests.test_intake import book as book_intake
from tests.test_intake import (
    count,
    make_intake,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.db_matrix


def book(client, token, start=SLOT):
    return client.post("/api/v1/bookings", json={"token": token, "start": start, **CONTACT})


def rows(db, model) -> int:
    db.session.rollback()  # what the requests committed, not what this session read
    return count(db, model)


def test_a_refusal_by_the_lawyers_cap_writes_nothing(client, make_client, frozen, db):
    """Refused by the lawyer's cap of one call a day: no booking, task or audit row."""
    lawyer_client, token = make_client(max_per_week=5)
    lawyer_client.lawyer.max_per_day = 1
    other, other_token = make_client(lawyer=lawyer_client.lawyer, name="Clara", email="clara@client.example")
    db.session.commit()
    assert book(client, token).status_code == 201
    counts = (rows(db, Booking), rows(db, OutboxTask), rows(db, AuditEvent))
    refused = book(client, other_token, "2026-03-04T14:00:00+00:00")  # the same day
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "slot_lawyer_day_limit"
    assert (rows(db, Booking), rows(db, OutboxTask), rows(db, AuditEvent)) == counts


def test_a_time_another_client_holds_is_named_by_the_check(client, make_client, frozen, db):
    first, token = make_client()
    _, other_token = make_client(lawyer=first.lawyer, name="Clara", email="clara@client.example")
    assert book(client, token).status_code == 201
    taken = book(client, other_token)
    assert taken.status_code == 409
    error = taken.get_json()["error"]
    assert error["code"] == "slot_busy"
    assert "collides with busy time" in error["message"], error
    assert rows(db, Booking) == 1


def test_a_hold_that_ran_out_gives_way_to_a_clients_booking(client, make_client, make_intake,  # noqa: F811
                                                            frozen, db):
    """An intake visitor's unconfirmed hold of Wed 14:00 ran out: a client of the same
    lawyer books that time (the database's no-overlap guard still counts the hold: the
    booking's transaction releases it first)."""
    booked, token = make_client()
    intake = make_intake(lawyer=booked.lawyer)
    assert book_intake(client, intake.slug, SLOT).status_code == 303
    frozen.tick(timedelta(minutes=31))
    response = book(client, token)
    assert response.status_code == 201, response.get_json()
    db.session.rollback()
    assert [b.status for b in db.session.scalars(sa.select(Booking).order_by(Booking.id))] == [
        "cancelled", "confirmed"]
