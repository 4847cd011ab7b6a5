"""The admin's "book a call" and "move" forms offer the client's own free slots as buttons
(grouped by day, in the lawyer's zone, the very offer of the client's link), with the
date/time fields and overrides as the explicit second path. Plain forms, no JavaScript."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from service.storage.models import Booking
from tests.admin.conftest import post

SLOT = re.compile(r'<button type="submit" name="start" value="([^"]+)"[^>]*data-slot-start="([^"]+)"')
OFFERED = re.compile(r'data-slot-start="([^"]+)"')


@pytest.fixture
def boris(make_client, lawyer):
    return make_client(lawyer=lawyer, name="Борис Петров", language="ru", max_per_week=1)


def buttons(page: str) -> list[str]:
    found = SLOT.findall(page)
    assert all(value == data for value, data in found)
    return [value for value, _ in found]


def clients_offer(http, token: str) -> list[str]:
    """What the client's own booking page offers (the public page, with no session)."""
    return OFFERED.findall(http.get(f"/b/{token}").get_data(as_text=True))


def test_book_form_offers_the_clients_own_slots_by_day_in_the_lawyers_zone(frozen, admin, boris, app):
    client, token = boris
    page = admin.get(f"/admin/clients/{client.id}/book").get_data(as_text=True)
    offered = buttons(page)
    with app.test_client() as anonymous:
        assert offered and offered == clients_offer(anonymous, token)
    # 2026-03-04 13:00 UTC is 2:00 PM in the lawyer's Europe/Berlin: labels are the lawyer's wall clock
    assert datetime.fromisoformat(offered[0]) == datetime.fromisoformat("2026-03-04T13:00:00+00:00")
    assert re.search(r'data-slot-start="2026-03-04T13:00:00\+00:00">2:00\W*PM</button>', page)
    assert "data-offered-slots" in page and page.count('<fieldset class="day">') >= 2  # grouped by day
    assert "data-other-time" in page and 'name="outside_terms"' in page  # the second path stays


def test_regression_slot_button_books_and_the_slot_leaves_the_clients_offer(frozen, admin, boris, db, app):
    """The admin form took only a typed date and time; a slot's button books it at once."""
    client, token = boris
    path = f"/admin/clients/{client.id}/book"
    chosen = buttons(admin.get(path).get_data(as_text=True))[0]
    response = post(admin, path, {"start": chosen, "agenda": "Пункт 4", "day": "2026-03-04", "time": "09:00",
                                  "other": ""}, token_from=path)
    assert response.status_code == 302, response.get_data(as_text=True)
    booking = db.session.scalar(sa.select(Booking))
    assert booking.start == datetime.fromisoformat(chosen) and booking.booked_by == "lawyer"
    assert not booking.outside_terms
    with app.test_client() as anonymous:
        assert chosen not in clients_offer(anonymous, token)
    assert chosen not in buttons(admin.get(path).get_data(as_text=True))


def test_slot_button_needs_the_agenda_and_keeps_the_form(frozen, admin, boris, db):
    client, _ = boris
    path = f"/admin/clients/{client.id}/book"
    chosen = buttons(admin.get(path).get_data(as_text=True))[0]
    response = post(admin, path, {"start": chosen, "agenda": " "}, token_from=path)
    assert response.status_code == 422
    assert "what the call is about" in response.get_data(as_text=True)
    assert chosen in buttons(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(Booking)) is None


def test_a_forged_start_on_the_slot_path_is_never_an_override(frozen, admin, boris, db):
    """The override boxes belong to the other-time path; a start posted as a slot is checked
    against the agreement exactly as the client's would be."""
    client, _ = boris
    path = f"/admin/clients/{client.id}/book"
    response = post(admin, path, {"start": "2026-03-03T21:00:00+01:00", "agenda": "x", "outside_terms": "1",
                                  "over_busy": "1"}, token_from=path)
    assert response.status_code == 422 and "outside the agreed windows" in response.get_data(as_text=True)
    response = post(admin, path, {"start": "not-a-time", "agenda": "x"}, token_from=path)
    assert response.status_code == 422 and "offered times" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Booking)) is None


def test_the_other_time_path_still_books_outside_the_agreement(frozen, admin, boris, db):
    client, _ = boris
    path = f"/admin/clients/{client.id}/book"
    response = post(admin, path, {"day": "2026-03-03", "time": "09:00", "agenda": "x", "outside_terms": "1",
                                  "other": "1"}, token_from=path)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Booking)).outside_terms


def test_move_form_offers_what_the_clients_manage_page_offers_and_moves_on_click(frozen, admin, boris, db, app):
    client, token = boris
    path = f"/admin/clients/{client.id}/book"
    first = buttons(admin.get(path).get_data(as_text=True))[0]
    assert post(admin, path, {"start": first, "agenda": "Пункт 4"}, token_from=path).status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    page_path = f"/admin/bookings/{booking.id}"
    offered = buttons(admin.get(page_path).get_data(as_text=True))
    assert offered and first not in offered  # its own time is not offered as a move
    # the cadence (one a week) counts this call out while moving it, as on the manage page
    assert any(datetime.fromisoformat(s).isocalendar().week == datetime.fromisoformat(first).isocalendar().week
               for s in offered)
    target = offered[-1]
    response = post(admin, f"{page_path}/move", {"start": target, "reason": "Суд"}, token_from=page_path)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.start == datetime.fromisoformat(target) and booking.sequence == 1
    with app.test_client() as anonymous:
        offer = clients_offer(anonymous, token)
    assert target not in offer


def test_paused_client_offers_no_slots_but_the_other_path(frozen, admin, boris, db):
    client, _ = boris
    client.status = "paused"
    db.session.commit()
    page = admin.get(f"/admin/clients/{client.id}/book").get_data(as_text=True)
    assert buttons(page) == [] and "data-no-offered-slots" in page and "data-other-time" in page
