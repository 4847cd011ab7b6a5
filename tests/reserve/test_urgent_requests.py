"""A client's urgent request with a deadline; accepted, its link books reserved time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.storage.models import CallbackLink, UrgentRequest
from tests.admin.conftest import post

pytestmark = pytest.mark.db_matrix

TUE_17 = "2026-03-03T16:00:00+00:00"  # Tuesday 17:00 Berlin: reserved


@pytest.fixture
def reserved(db, lawyer, make_client):
    lawyer.reserve_windows = "tue 17:00-17:30"
    db.session.commit()
    return make_client(lawyer=lawyer, windows="mon 10:00-12:00,tue 16:00-18:00", notice_hours=1, prep_min=0)


def form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def ask(http, token, **fields):
    page = http.get(f"/b/{token}").get_data(as_text=True)
    return http.post(f"/b/{token}/urgent", data={"form_token": form_token(page), **fields})


def test_request_accept_and_book_the_reserve(frozen, client, admin, db, reserved):
    _boris, token = reserved
    response = ask(client, token, deadline="2026-03-04", reason="Court letter arrived, reply due Thursday")
    assert response.status_code == 200 and "data-notice" in response.get_data(as_text=True)
    request = db.session.scalar(sa.select(UrgentRequest))
    assert request.status == "pending"
    assert request.deadline == datetime(2026, 3, 4, 23, tzinfo=UTC)  # end of Wednesday, Berlin

    dashboard = admin.get("/admin/").get_data(as_text=True)
    assert "Court letter arrived" in dashboard and f'data-urgent-id="{request.id}"' in dashboard
    accepted = post(admin, f"/admin/urgent/{request.id}/accept")
    url = re.search(r'data-callback-link[^>]*value="([^"]+)"|value="([^"]+)"[^>]*data-callback-link',
                    accepted.get_data(as_text=True))
    link_url = url.group(1) or url.group(2)
    callback_token = link_url.rsplit("/", 1)[1]
    db.session.expire_all()
    assert db.session.get(UrgentRequest, request.id).status == "accepted"
    link = db.session.scalar(sa.select(CallbackLink))
    assert link.expires_at == request.deadline

    db.session.commit()
    slots = client.get(f"/api/v1/slots?token={callback_token}&from=2026-03-03&to=2026-03-03").get_json()["slots"]
    assert TUE_17 in [s["start"] for s in slots]
    ordinary = client.get(f"/api/v1/slots?token={token}&from=2026-03-03&to=2026-03-03").get_json()["slots"]
    assert TUE_17 not in [s["start"] for s in ordinary]
    booked = client.post("/api/v1/bookings", json={"token": callback_token, "start": TUE_17, "name": "Boris",
                                                   "email": "boris@client.example", "agenda": "Court letter"})
    assert booked.status_code == 201
    again = post(admin, f"/admin/urgent/{request.id}/accept")
    assert again.status_code == 409


@pytest.mark.parametrize("fields, status", [
    ({"deadline": "2026-03-01", "reason": "x"}, 422),  # yesterday
    ({"deadline": "2026-04-30", "reason": "x"}, 422),  # too far
    ({"deadline": "soon", "reason": "x"}, 422),
    ({"deadline": "2026-03-04", "reason": "  "}, 422),
])
def test_bad_requests_are_refused_and_nothing_is_written(frozen, client, db, reserved, fields, status):
    _boris, token = reserved
    assert ask(client, token, **fields).status_code == status
    assert db.session.scalar(sa.select(sa.func.count(UrgentRequest.id))) == 0


def test_the_lawyer_is_mailed_about_a_new_request(frozen, client, db, reserved, smtp, lawyer):
    from service.jobs import worker

    _boris, token = reserved
    ask(client, token, deadline="2026-03-04", reason="Court letter <arrived>")
    assert worker.run_once()["done"] == 1
    (message,) = smtp.to(lawyer.email)
    assert message["Subject"] == "Urgent request from Boris Petrov"
    body = message.get_content()
    assert "by Wednesday 4 March" in body and "Court letter <arrived>" in body and "/admin/" in body


def test_another_lawyers_request_is_404(frozen, client, admin, db, make_lawyer, make_client):
    _other, token = make_client(lawyer=make_lawyer())
    ask(client, token, deadline="2026-03-04", reason="x")
    request = db.session.scalar(sa.select(UrgentRequest))
    assert post(admin, f"/admin/urgent/{request.id}/accept").status_code == 404
    assert post(admin, f"/admin/urgent/{request.id}/decline").status_code == 404
