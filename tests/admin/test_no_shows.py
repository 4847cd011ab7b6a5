"""Clients with repeated no-shows are flagged on the dashboard (the count is the lawyer's
setting); nothing else happens automatically."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from service.storage.models import Booking, Lawyer

from .conftest import post

pytestmark = pytest.mark.db_matrix


def past_call(db, client, days_ago: int, outcome: str | None) -> Booking:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC) - timedelta(days=days_ago)
    booking = Booking(uid=secrets.token_hex(16), lawyer_id=client.lawyer_id, client_id=client.id, start=start,
                      end=start + timedelta(minutes=30), blocked_start=start, blocked_end=start + timedelta(minutes=30),
                      name=client.name, email=client.email, agenda="a", outcome=outcome,
                      manage_token_hash=secrets.token_hex(32), manage_token_enc="x")
    db.session.add(booking)
    db.session.commit()
    return booking


def test_repeated_no_shows_are_flagged_from_the_lawyers_threshold(frozen, admin, lawyer, make_client, db):
    often, _ = make_client(lawyer=lawyer, name="Often Absent", email="often@client.example")
    once, _ = make_client(lawyer=lawyer, name="Once Absent", email="once@client.example")
    elsewhere, _ = make_client(name="Other Lawyers Client", email="x@client.example")
    for days in (30, 20):
        past_call(db, often, days, "no_show")
    past_call(db, often, 10, "held")
    past_call(db, once, 15, "no_show")
    for days in (30, 20, 10):
        past_call(db, elsewhere, days, "no_show")

    page = admin.get("/admin/").get_data(as_text=True)
    assert "data-no-shows" in page
    assert f'data-no-show-client="{often.id}"' in page and "2 no-shows" in page
    assert f'data-no-show-client="{once.id}"' not in page
    assert "Other Lawyers Client" not in page

    # The lawyer raises the threshold: nobody is flagged; and 0 / empty turns it off.
    response = post(admin, "/admin/settings", {"action": "profile", "office_address": "Main St 1",
                                               "no_show_flag_at": "3"}, token_from="/admin/settings")
    assert response.status_code == 302
    assert db.session.get(Lawyer, lawyer.id).no_show_flag_at == 3
    assert "data-no-shows" not in admin.get("/admin/").get_data(as_text=True)
    post(admin, "/admin/settings", {"action": "profile", "office_address": "", "no_show_flag_at": "1"},
         token_from="/admin/settings")
    page = admin.get("/admin/").get_data(as_text=True)
    assert f'data-no-show-client="{once.id}"' in page and f'data-no-show-client="{often.id}"' in page
    post(admin, "/admin/settings", {"action": "profile", "office_address": "", "no_show_flag_at": ""},
         token_from="/admin/settings")
    assert "data-no-shows" not in admin.get("/admin/").get_data(as_text=True)
    # Nothing automatic: the clients and their links stay as they were.
    assert {c.status for c in (often, once)} == {"active"}


def test_an_upcoming_call_of_a_flagged_client_carries_the_flag(frozen, admin, lawyer, make_client, db, client):
    often, token = make_client(lawyer=lawyer)
    for days in (30, 20):
        past_call(db, often, days, "no_show")
    response = client.post("/api/v1/bookings", json={"token": token, "start": "2026-03-04T13:00:00+00:00",
                                                      "name": "Boris", "email": "b@client.example", "agenda": "a"})
    assert response.status_code == 201
    page = admin.get("/admin/").get_data(as_text=True)
    assert "data-no-show-flag" in page


def test_the_profile_form_refuses_a_bad_threshold(frozen, admin, lawyer, db):
    response = post(admin, "/admin/settings", {"action": "profile", "office_address": "x", "no_show_flag_at": "-4"},
                    token_from="/admin/settings")
    assert response.status_code == 422
    assert db.session.get(Lawyer, lawyer.id).no_show_flag_at == 2


def test_the_agreement_form_sets_channels_and_agenda_confirmation(frozen, admin, lawyer, make_client, db):
    from service.storage.models import Client

    person, _ = make_client(lawyer=lawyer)
    page = admin.get(f"/admin/clients/{person.id}/edit").get_data(as_text=True)
    assert 'name="channel_video"' in page and "checked" in page
    data = {"name": "Boris Petrov", "email": "boris@client.example", "language": "en",
            "windows-0-weekday": "0", "windows-0-start": "10:00", "windows-0-end": "12:00",
            "duration_min": "30", "prep_min": "30", "buffer_min": "0", "notice_hours": "24", "horizon_days": "30",
            "step_min": "", "status_day": "", "action": "save"}
    bad = post(admin, f"/admin/clients/{person.id}/edit", {**data, "channel_phone": "y", "default_channel": "video"},
               token_from=f"/admin/clients/{person.id}/edit")
    assert bad.status_code == 422 and db.session.get(Client, person.id).channels == "video"
    good = post(admin, f"/admin/clients/{person.id}/edit",
                {**data, "channel_phone": "y", "channel_office": "y", "default_channel": "office",
                 "agenda_confirm_hours": "12"}, token_from=f"/admin/clients/{person.id}/edit")
    assert good.status_code == 302, good.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Client, person.id)
    assert (saved.channels, saved.agenda_confirm_hours) == ("office,phone", 12)
    page = admin.get(f"/admin/clients/{person.id}").get_data(as_text=True)
    assert "How calls take place: At the office, Phone call." in page
    assert "confirms the agenda 12 hours before preparation" in page
