"""A deactivated lawyer's practice rests (#17's left-over): their clients' links and
intake pages offer no times and take no bookings, the firm page no longer lists them,
calls already booked stay; reactivating brings everything back as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, Intake
from tests.admin.conftest import post
from tests.conftest import NOW
from tests.firm.test_people_edit import _as

pytestmark = pytest.mark.db_matrix


def _slots(http, token: str) -> list[str]:
    answer = http.get(f"/api/v1/slots?token={token}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [slot["start"] for slot in answer.get_json()["slots"]]


def _set(app, world, action: str, admin=None):
    admin = admin or _as(app, world.lawyer_a.email)
    return post(admin, f"/admin/people/lawyers/{world.lawyer_b.id}/active", {"action": action},
                token_from="/admin/people")


@pytest.fixture
def boris_practice(db, world, make_client):
    client, token = make_client(lawyer=world.lawyer_b, name="Olga Client", email="olga@client.example",
                                notice_hours=1)
    db.session.add(Intake(lawyer_id=world.lawyer_b.id, slug="boris-first", title="First talk",
                          windows="mon 10:00-12:00,wed 14:00-16:00", duration_min=30))
    db.session.commit()
    return client, token


def test_a_deactivated_lawyers_links_offer_nothing_and_book_nothing_until_reactivated(
        app, db, world, frozen, boris_practice):
    client, token = boris_practice
    http = app.test_client()
    offered = _slots(http, token)  # fills the slot cache: deactivating must not be served from it
    assert offered and "Boris Brandt" in http.get("/f/keller").get_data(as_text=True)
    assert http.get("/i/boris-first").status_code == 200

    response = _set(app, world, "deactivate")
    assert response.status_code == 302

    assert _slots(http, token) == []
    page = http.get(f"/b/{token}")
    assert page.status_code == 200 and offered[0] not in page.get_data(as_text=True)
    assert "Booking through this link is paused at the moment." in page.get_data(as_text=True)
    refused = http.post("/api/v1/bookings", json={"token": token, "start": offered[0], "name": "Olga",
                                                  "email": "olga@client.example", "agenda": "Lease"})
    assert 400 <= refused.status_code < 500 and refused.get_json()["error"]["code"] == "unknown_client"
    assert http.get("/i/boris-first").status_code == 404
    assert "Boris Brandt" not in http.get("/f/keller").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.client_id == client.id)) == 0

    assert _set(app, world, "reactivate").status_code == 302
    assert _slots(http, token) == offered
    assert "data-resting" not in http.get(f"/b/{token}").get_data(as_text=True)
    booked = http.post("/api/v1/bookings", json={"token": token, "start": offered[0], "name": "Olga",
                                                 "email": "olga@client.example", "agenda": "Lease"})
    assert booked.status_code == 201, booked.get_data(as_text=True)


def test_deactivating_says_how_many_booked_calls_stay(app, db, world, frozen, boris_practice):
    client, token = boris_practice
    start = NOW + timedelta(days=2)
    for n, (begin, status) in enumerate([(start, "confirmed"), (start + timedelta(days=1), "confirmed"),
                                         (start + timedelta(days=2), "cancelled"),
                                         (NOW - timedelta(days=1), "confirmed")]):
        db.session.add(Booking(uid=f"b-{n}", lawyer_id=world.lawyer_b.id, client_id=client.id, start=begin,
                               end=begin + timedelta(minutes=30), blocked_start=begin,
                               blocked_end=begin + timedelta(minutes=30), status=status, name="Olga",
                               email="olga@client.example", agenda="Lease", manage_token_hash=f"h{n}", manage_token_enc="x"))
    db.session.commit()
    admin = _as(app, world.lawyer_a.email)
    response = _set(app, world, "deactivate", admin)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 calls already booked stay as they are." in page
    assert db.session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.status == "confirmed")) == 4
