"""Booking holes of the security review (issue #12): paused clients moving calls, names
that do not show as what they are."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.core.names import name_problem
from service.storage.models import Booking, token_hash
from service.web import formtoken

WED_14 = "2026-03-04T13:00:00+00:00"
MON_9 = "2026-03-09T09:00:00+00:00"


def api_book(client, token, name="Boris Petrov", start=WED_14):
    return client.post("/api/v1/bookings", json={"token": token, "start": start, "name": name,
                                                  "email": "boris@client.example", "agenda": "Clause 4"})


@pytest.mark.parametrize("status", ["paused", "archived"])
def test_paused_or_archived_client_cannot_reschedule_through_the_manage_link(client, make_client, frozen, db, status):
    """The manage link's reschedule POST succeeded for a paused or archived client."""
    lawyer_client, token = make_client()
    booked = api_book(client, token)
    assert booked.status_code == 201
    manage = booked.json["manage_url"].rsplit("/", 1)[-1]
    lawyer_client.status = status
    db.session.commit()
    response = client.post(f"/m/{manage}/reschedule", data={
        "form_token": formtoken.issue("manage", token_hash(manage)), "start": MON_9})
    assert response.status_code == 403
    booking = db.session.scalar(sa.select(Booking))
    assert booking.start.isoformat() == WED_14 and booking.sequence == 0
    # Nor cancel-and-rebook: cancelling is allowed, booking anew through the link is not.
    cancelled = client.post(f"/m/{manage}/cancel", data={"form_token": formtoken.issue("manage", token_hash(manage)),
                                                       "confirm": "yes"})
    assert cancelled.status_code == 303
    again = api_book(client, token, start=MON_9)
    assert again.status_code in (403, 404, 409, 410) and again.status_code != 201
    assert db.session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.status != "cancelled")) == 0


def test_active_client_still_reschedules(client, make_client, frozen, db):
    _, token = make_client()
    manage = api_book(client, token).json["manage_url"].rsplit("/", 1)[-1]
    response = client.post(f"/m/{manage}/reschedule", data={
        "form_token": formtoken.issue("manage", token_hash(manage)), "start": MON_9})
    assert response.status_code == 303


INVISIBLE_NAMES = [
    "\u200b", "\u200b\u200c\u200d", "\ufeff", "\u2060\u2061", "\u3164", "\u115f\u1160",
    "\u2800\u2800", " \u200b ", "\u0301\u0301", "\u00ad", "\U000e0041\U000e0042", "\u180e",
]
BIDI_NAMES = [
    "Anna \u202eKeller", "\u202dBoris", "Boris\u202c", "\u2066Boris\u2069", "\u2067x\u2069",
    "\u2068x", "\u202ax", "\u202bx",
]
FINE_NAMES = ["Boris Petrov", "Пётр Иванов", "José Ñandú", "李小龙", "محمد علي", "שרה כהן",
              "O'Brien-Smith", "Zoë 😀", "A. B.", "Dr. Müller (GmbH)"]


@pytest.mark.parametrize("name", INVISIBLE_NAMES + BIDI_NAMES)
def test_bidi_override_and_zero_width_only_names_are_refused(name):
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", FINE_NAMES)
def test_real_names_in_any_script_are_accepted(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["\u200b\u200b", "Anna \u202eKeller", "\u3164"])
def test_bidi_and_zero_width_names_refused_by_the_booking_api(client, make_client, frozen, db, name):
    _, token = make_client()
    response = api_book(client, token, name=name)
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_name"
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


@pytest.mark.parametrize("name", ["\u200b\u200b", "Anna \u202eKeller"])
def test_bidi_and_zero_width_names_refused_by_the_cli(runner, make_lawyer, name):
    lawyer = make_lawyer()
    result = runner.invoke(args=["client", "create", "--lawyer", str(lawyer.id), "--name", name,
                                 "--email", "x@client.example", "--windows", "mon 10:00-12:00",
                                 "--duration", "30", "--prep", "0"])
    assert result.exit_code != 0 and "name" in result.output
    result = runner.invoke(args=["lawyer", "create", "--name", name, "--email", "l@counsel.example",
                                 "--timezone", "Europe/Berlin"])
    assert result.exit_code != 0 and "Traceback" not in result.output
