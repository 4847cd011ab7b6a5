"""Clients and agreements in the admin area: create, edit, windows editor, pause, archive,
links, and prepared callback links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.storage.models import Booking, CallbackLink, Client
from tests.admin.conftest import post


def form(windows=(("1", "16:00", "18:00"), ("3", "10:00", "12:00")), **fields) -> dict:
    data = {
        "name": "Boris Petrov", "email": "boris@client.example", "matter": "Lease dispute",
        "language": "ru", "note": "Urgent matters by e-mail.", "duration_min": "45", "prep_min": "30",
        "buffer_min": "15", "notice_hours": "24", "horizon_days": "30", "max_per_week": "1",
        "max_per_month": "", "step_min": "", "status_day": "4",
    }
    for i, (day, start, end) in enumerate(windows):
        data |= {f"windows-{i}-weekday": day, f"windows-{i}-start": start, f"windows-{i}-end": end}
    data.update(fields)
    return data


def link_of(page: str) -> str:
    return re.search(r'data-booking-link[^>]*|value="(http[^"]+/b/[^"]+)"', page) and re.search(
        r'value="(http://counsel\.test/b/[^"]+)"', page).group(1)


def test_create_client_with_agreement_and_show_the_link(frozen, admin, client, lawyer, db):
    response = post(admin, "/admin/clients/new", form())
    assert response.status_code == 302, response.get_data(as_text=True)
    created = db.session.scalar(sa.select(Client))
    assert created.lawyer_id == lawyer.id
    assert created.windows == "tue 16:00-18:00,thu 10:00-12:00"
    assert (created.duration_min, created.prep_min, created.buffer_min, created.max_per_week) == (45, 30, 15, 1)
    assert created.status_day == 4 and created.language == "ru" and created.max_per_month is None
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    url = link_of(page)
    assert client.get(url.removeprefix("http://counsel.test")).status_code == 200


@pytest.mark.parametrize(
    ("windows", "fields", "message"),
    [
        ((("1", "16:00", "18:00"), ("1", "17:00", "19:00")), {}, "overlap"),
        ((("1", "18:00", "16:00"),), {}, "must end after it starts"),
        ((("1", "25:00", "26:00"),), {}, "please give both times"),
        ((("", "10:00", "11:00"),), {}, "Choose a day"),
        ((), {}, "Add at least one window"),
        ((("1", "16:00", "16:30"),), {}, "does not fit"),
    ],
)
def test_bad_windows_are_refused_with_a_message(admin, db, windows, fields, message):
    response = post(admin, "/admin/clients/new", form(windows=windows, **fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 0


@pytest.mark.parametrize(
    "fields",
    [{"name": ""}, {"email": "not-an-address"}, {"duration_min": "0"}, {"duration_min": "abc"},
     {"horizon_days": "400"}, {"name": "two\nlines"}, {"language": "de"}],
)
def test_bad_fields_are_refused(admin, db, fields):
    response = post(admin, "/admin/clients/new", form(**fields))
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 0


def test_add_row_shows_one_more_row_and_saves_nothing(admin, db):
    response = post(admin, "/admin/clients/new", form() | {"action": "add_row"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("data-window-row") == 3
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 0


def test_edit_agreement_and_remove_a_window(admin, lawyer, make_client, db):
    client, _ = make_client(lawyer=lawyer)
    page = admin.get(f"/admin/clients/{client.id}/edit").get_data(as_text=True)
    assert page.count("data-window-row") == 3  # two windows and an empty row
    data = form(windows=(("0", "10:00", "12:00"), ("2", "14:00", "16:00"), ("4", "09:00", "10:00")),
                name="Boris P.", language="en", status_day="")
    data["windows-1-remove"] = "y"
    response = post(admin, f"/admin/clients/{client.id}/edit", data)
    assert response.status_code == 302
    db.session.refresh(client)
    assert client.windows == "mon 10:00-12:00,fri 09:00-10:00"
    assert client.name == "Boris P." and client.status_day is None


def test_pause_resume_archive(frozen, admin, client, lawyer, make_client, db):
    boris, token = make_client(lawyer=lawyer)
    assert 'data-slot-start' in client.get(f"/b/{token}").get_data(as_text=True)

    post(admin, f"/admin/clients/{boris.id}/status", {"status": "paused"})
    assert boris.status == "paused"
    page = client.get(f"/b/{token}")
    assert page.status_code == 200 and "data-slot-start" not in page.get_data(as_text=True)
    assert client.get(f"/api/v1/slots?token={token}").get_json() == {"slots": []}

    post(admin, f"/admin/clients/{boris.id}/status", {"status": "active"})
    assert "data-slot-start" in client.get(f"/b/{token}").get_data(as_text=True)

    post(admin, f"/admin/clients/{boris.id}/status", {"status": "archived"})
    assert client.get(f"/b/{token}").status_code == 404
    row = f'data-client-id="{boris.id}"'
    assert row not in admin.get("/admin/clients").get_data(as_text=True)
    assert row in admin.get("/admin/clients?show=archived").get_data(as_text=True)
    assert post(admin, f"/admin/clients/{boris.id}/status", {"status": "gone"}).status_code == 400


def test_regenerated_link_replaces_the_old_one(frozen, admin, client, lawyer, make_client):
    boris, old = make_client(lawyer=lawyer)
    before = link_of(admin.get(f"/admin/clients/{boris.id}").get_data(as_text=True))
    assert before.endswith(old)
    asked = post(admin, f"/admin/clients/{boris.id}/regenerate-link")
    assert "data-confirm-new-link" in asked.get_data(as_text=True)  # asks first
    assert link_of(admin.get(f"/admin/clients/{boris.id}").get_data(as_text=True)) == before
    post(admin, f"/admin/clients/{boris.id}/regenerate-link", {"confirm": "yes"})
    after = link_of(admin.get(f"/admin/clients/{boris.id}").get_data(as_text=True))
    assert after != before
    replaced = client.get(f"/b/{old}")
    assert replaced.status_code == 410 and "replaced" in replaced.get_data(as_text=True)
    assert lawyer.email in replaced.get_data(as_text=True)
    assert client.get(after.removeprefix("http://counsel.test")).status_code == 200


# -- prepared callback links -----------------------------------------------------------


def callback_link(admin, client_id: int, hours: str = "4") -> tuple[str, str]:
    response = post(admin, f"/admin/clients/{client_id}/callback", {"hours": hours})
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    token = re.search(r'data-callback-link[^>]*value="http://counsel\.test/b/([^"]+)"|value="http://counsel\.test/b/([^"]+)"[^>]*data-callback-link', page)
    message = re.search(r"data-callback-message[^>]*>(.*?)</textarea>", page, re.S).group(1)
    return next(g for g in token.groups() if g), message


def book(http, token, start):
    return http.post("/api/v1/bookings", json={"token": token, "start": start, "name": "Boris",
                                                "email": "boris@client.example", "agenda": "The landlord called"})


@pytest.mark.db_matrix
def test_callback_link_offers_the_agreed_slots_and_is_spent_after_one_booking(frozen, admin, client, lawyer, make_client, db):
    boris, _ = make_client(lawyer=lawyer)
    token, message = callback_link(admin, boris.id)
    page = client.get(f"/b/{token}")
    assert page.status_code == 200 and "This link works once" in page.get_data(as_text=True)
    slots = client.get(f"/api/v1/slots?token={token}").get_json()["slots"]
    assert slots and slots[0]["start"] == "2026-03-04T13:00:00+00:00"  # Wed 14:00 Berlin, an agreed window
    assert book(client, token, slots[0]["start"]).status_code == 201
    booking = db.session.scalar(sa.select(Booking))
    assert booking.callback_link_id is not None
    # Spent: the page says so (410), the API refuses (410), even for another free slot.
    assert client.get(f"/b/{token}").status_code == 410
    assert client.get(f"/api/v1/slots?token={token}").status_code == 410
    assert book(client, token, slots[-1]["start"]).status_code == 410


def test_callback_link_expires_after_its_hours(frozen, admin, client, lawyer, make_client):
    boris, _ = make_client(lawyer=lawyer)
    token, _ = callback_link(admin, boris.id, hours="4")
    frozen.tick(timedelta(hours=3, minutes=59))
    assert client.get(f"/b/{token}").status_code == 200
    frozen.tick(timedelta(minutes=2))
    assert client.get(f"/b/{token}").status_code == 410
    assert book(client, token, "2026-03-04T13:00:00+00:00").status_code == 410


def test_callback_message_is_in_the_clients_language(frozen, admin, lawyer, make_client):
    ru, _ = make_client(lawyer=lawyer, language="ru", name="Борис")
    en, _ = make_client(lawyer=lawyer, language="en", name="Clara", email="clara@client.example")
    token_ru, message_ru = callback_link(admin, ru.id)
    token_en, message_en = callback_link(admin, en.id)
    assert "Здравствуйте, Борис" in message_ru and token_ru in message_ru
    assert "Hello Clara" in message_en and token_en in message_en
    assert "2 March 2026" not in message_en  # valid 4 hours from Monday 09:00 Berlin
    assert "1:00\u202fPM" in message_en and "13:00" in message_ru  # until 13:00 Berlin, per locale


def test_no_callback_link_for_a_paused_client(frozen, admin, lawyer, make_client, db):
    boris, _ = make_client(lawyer=lawyer, status="paused")
    assert post(admin, f"/admin/clients/{boris.id}/callback", {"hours": "4"}).status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(CallbackLink.id))) == 0


@pytest.mark.db_matrix
def test_cli_callback_link_is_single_use_too(frozen, runner, client, make_client):
    _, token = make_client()
    result = runner.invoke(args=["client", "callback-link", "--token", token, "--hours", "2"])
    assert result.exit_code == 0, result.output
    url = result.output.split()[-1]
    cb = url.rsplit("/", 1)[-1]
    assert book(client, cb, "2026-03-04T13:00:00+00:00").status_code == 201
    assert client.get(f"/b/{cb}").status_code == 410
    frozen.tick(timedelta(hours=3))
    result = runner.invoke(args=["client", "callback-link", "--token", token, "--hours", "0"])
    assert result.exit_code != 0 and "--hours" in result.output


def test_cli_callback_link_prints_the_message_in_the_clients_language(frozen, runner, make_client):
    _, token = make_client(language="ru", name="Борис")
    result = runner.invoke(args=["client", "callback-link", "--token", token, "--hours", "24"])
    assert result.exit_code == 0, result.output
    url = result.output.split()[-1]
    assert url.startswith("http://counsel.test/b/")
    message = result.output.rsplit("Single-use link", 1)[0]
    assert "Здравствуйте, Борис" in message and url in message
    quiet = runner.invoke(args=["client", "callback-link", "--token", token, "--quiet"])
    assert quiet.output.count("\n") == 1 and quiet.output.split()[-1].startswith("http://counsel.test/b/")


def test_regression_window_errors_are_words_not_cli_syntax_and_all_at_once(admin, db):
    """The editor said ``window 'tue 11:00-09:00' must end after it starts`` and stopped at
    the first problem; now every row's problem is worded, together with the other fields'."""
    response = post(admin, "/admin/clients/new", form(windows=(("1", "11:00", "09:00"), ("3", "", "12:00")),
                                                     name=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tuesday: the window from 11:00 to 09:00 must end after it starts" in page
    assert "Thursday: please give both times" in page
    assert "'tue 11:00-09:00'" not in page and "This field is required" in page


def test_new_client_form_is_prefilled_with_sensible_defaults(admin):
    page = admin.get("/admin/clients/new").get_data(as_text=True)
    assert re.search(r'name="duration_min"[^>]*value="45"', page)
    assert re.search(r'name="notice_hours"[^>]*value="24"', page)
    assert re.search(r'name="windows-0-start"[^>]*value="16:00"', page)
