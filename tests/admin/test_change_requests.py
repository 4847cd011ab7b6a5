"""Ask for a change inside the notice: the manage page offers it, the message reaches the
lawyer by mail (real SMTP) and on the dashboard, one click moves or cancels, and handling
the call closes the request."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from service.jobs import worker
from service.storage.models import Booking, ChangeRequest, token_hash
from service.web import formtoken
from tests.admin.conftest import log_in, post
from tests.mail.conftest import smtp  # noqa: F401 - the SMTP fixture

WED_14 = "2026-03-04T13:00:00+00:00"
INSIDE_NOTICE = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # 12 hours before, notice is 24 h


def booked(client, token) -> str:
    response = client.post("/api/v1/bookings", json={"token": token, "start": WED_14, "name": "Борис Петров",
                                                      "email": "boris@client.example", "agenda": "Пункт 4"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["manage_url"].rsplit("/", 1)[-1]


def ask(client, manage_token, message="Заседание суда в это время, прошу перенести"):
    fresh = formtoken.issue("manage", token_hash(manage_token))
    return client.post(f"/m/{manage_token}/ask", data={"form_token": fresh, "message": message})


def test_outside_the_notice_the_page_moves_and_cancels_without_asking(frozen, client, make_client):
    _, token = make_client(language="ru")
    manage_token = booked(client, token)
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert "data-ask-form" not in page
    assert ask(client, manage_token).status_code == 409


def test_ask_for_a_change_reaches_the_lawyer_and_one_click_cancels(frozen, client, make_client, lawyer, db,
                                                                   smtp):  # noqa: F811
    person, token = make_client(lawyer=lawyer, language="ru")
    manage_token = booked(client, token)
    worker.run_once()
    smtp.messages.clear()
    frozen.move_to(INSIDE_NOTICE)
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert "data-ask-form" in page
    response = ask(client, manage_token)
    assert response.status_code == 200 and "data-change-asked" in response.get_data(as_text=True)
    worker.run_once()
    (mail,) = smtp.to(lawyer.email)
    body = mail.get_body(("plain",)).get_content()
    booking = db.session.scalar(sa.select(Booking))
    assert "Заседание суда в это время" in body and f"/admin/bookings/{booking.id}" in body
    assert mail["Reply-To"].endswith("<boris@client.example>")

    log_in(client, lawyer.email)
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "data-change-requests" in dashboard and "Заседание суда в это время" in dashboard
    reason = re.search(r'name="reason" value="([^"]+)"', dashboard).group(1)
    confirm = post(client, f"/admin/bookings/{booking.id}/cancel", {"reason": reason})
    assert "data-confirm-cancel" in confirm.get_data(as_text=True)
    post(client, f"/admin/bookings/{booking.id}/cancel", {"reason": reason, "confirm": "yes"})
    db.session.refresh(booking)
    assert booking.status == "cancelled"
    assert db.session.scalar(sa.select(ChangeRequest.handled_at)) is not None
    assert "data-change-requests" not in client.get("/admin/").get_data(as_text=True)
    page = client.get(f"/m/{manage_token}").get_data(as_text=True)
    assert "data-book-again" in page


def test_an_empty_or_repeated_message_is_refused(frozen, client, make_client, db):
    _, token = make_client()
    manage_token = booked(client, token)
    frozen.move_to(INSIDE_NOTICE)
    assert ask(client, manage_token, "   ").status_code == 422
    for _ in range(3):
        assert ask(client, manage_token).status_code == 200
    assert ask(client, manage_token).status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(ChangeRequest.id))) == 3
