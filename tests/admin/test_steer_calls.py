"""The admin pages for the lawyer's calls, through the test client: book with and without
override, errors in words, move, cancel with confirmation (the client's mail over SMTP),
outcomes in the history and counts in the client list, the week's book form, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
import sqlalchemy as sa

from service.jobs import worker
from service.storage.models import Booking
from service.usecases import steer
from tests.admin.conftest import log_in, post
from tests.conftest import NOW
from tests.mail.conftest import smtp  # noqa: F401 - the SMTP fixture


@pytest.fixture
def boris(make_client, lawyer):
    client, _ = make_client(lawyer=lawyer, name="Борис Петров", language="ru", matter="Аренда")
    return client


def book(admin, client, day="2026-03-04", time="14:00", agenda="Пункт 4", **extra):
    return post(admin, f"/admin/clients/{client.id}/book",
                {"day": day, "time": time, "agenda": agenda, **extra}, token_from=f"/admin/clients/{client.id}/book")


def only_booking(db):
    return db.session.scalar(sa.select(Booking))


def test_client_page_links_to_the_booking_form_prefilled(frozen, admin, boris):
    page = admin.get(f"/admin/clients/{boris.id}").get_data(as_text=True)
    assert f"/admin/clients/{boris.id}/book" in page
    form = admin.get(f"/admin/clients/{boris.id}/book?start=2026-03-04T14:00").get_data(as_text=True)
    assert 'value="2026-03-04"' in form and 'value="14:00"' in form


def test_book_inside_the_agreement(frozen, admin, boris, db):
    response = book(admin, boris)
    assert response.status_code == 302, response.get_data(as_text=True)
    booking = only_booking(db)
    assert booking.booked_by == "lawyer" and booking.start.isoformat() == "2026-03-04T13:00:00+00:00"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-booking-uid="{booking.uid}"' in page


def test_outside_the_windows_says_so_in_words_and_offers_the_override(frozen, admin, boris, db):
    response = book(admin, boris, day="2026-03-03", time="09:00")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "outside the agreed windows" in page and "outside the agreement" in page
    assert "tue" not in page.lower().split("data-form-errors")[1][:300]  # no CLI syntax
    assert only_booking(db) is None
    assert 'value="Пункт 4"' in page or "Пункт 4" in page  # the input is kept
    response = book(admin, boris, day="2026-03-03", time="09:00", outside_terms="1")
    assert response.status_code == 302
    assert only_booking(db).outside_terms


def test_every_form_error_at_once(frozen, admin, boris):
    page = book(admin, boris, day="", time="", agenda="").get_data(as_text=True)
    errors = page.split("data-form-errors")[1].split("</ul>")[0]
    assert errors.count("<li>") == 3


def test_another_booking_is_never_overlapped(frozen, admin, boris, make_client, lawyer, db):
    clara, _ = make_client(lawyer=lawyer, name="Clara", email="clara@client.example")
    assert book(admin, clara).status_code == 302
    response = book(admin, boris, outside_terms="1", over_busy="1")
    assert response.status_code == 422
    assert "overlaps another call" in response.get_data(as_text=True)


def test_move_and_cancel_with_confirmation_and_the_clients_mail(frozen, admin, boris, db, smtp):  # noqa: F811
    book(admin, boris)
    booking = only_booking(db)
    worker.run_once()
    smtp.messages.clear()
    page = f"/admin/bookings/{booking.id}"
    response = post(admin, f"{page}/move", {"day": "2026-03-09", "time": "10:30", "reason": "Суд"}, token_from=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.sequence == 1
    worker.run_once()
    (moved,) = smtp.to(boris.email)
    assert "Суд" in moved.get_body(("plain",)).get_content()
    smtp.messages.clear()

    asked = post(admin, f"{page}/cancel", {"reason": "Заседание назначено на это время"}, token_from=page)
    assert asked.status_code == 200 and "data-confirm-cancel" in asked.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.status == "confirmed"  # not before the confirmation
    done = post(admin, f"{page}/cancel", {"reason": "Заседание назначено на это время", "confirm": "yes"},
                token_from=page)
    assert done.status_code == 302
    db.session.refresh(booking)
    assert booking.status == "cancelled"
    worker.run_once()
    (cancelled,) = smtp.to(boris.email)
    assert "Заседание назначено на это время" in cancelled.get_body(("plain",)).get_content()
    cal = next(p for p in cancelled.walk() if p.get_content_type() == "text/calendar")
    assert "METHOD:CANCEL" in cal.get_content()


def test_cancel_with_a_line_break_in_the_reason_is_refused(frozen, admin, boris, db):
    book(admin, boris)
    booking = only_booking(db)
    page = f"/admin/bookings/{booking.id}"
    response = post(admin, f"{page}/cancel", {"reason": "a\r\nBcc: x@evil.example", "confirm": "yes"},
                    token_from=page)
    assert response.status_code == 422 and "one line" in response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.status == "confirmed"


def test_no_show_shows_in_the_history_and_the_client_list(frozen, admin, boris, lawyer, db):
    book(admin, boris)
    booking = only_booking(db)
    page = f"/admin/bookings/{booking.id}"
    early = post(admin, f"{page}/outcome", {"outcome": "no_show"}, token_from=page)
    assert early.status_code == 422  # not yet
    frozen.move_to("2026-03-05T08:00:00Z")
    log_in(admin, lawyer.email)  # the session of three days ago has expired
    assert post(admin, f"{page}/outcome", {"outcome": "no_show"}, token_from=page).status_code == 302
    history = admin.get(f"/admin/clients/{boris.id}").get_data(as_text=True)
    assert 'data-outcome="no_show"' in history
    listing = admin.get("/admin/clients").get_data(as_text=True)
    assert 'data-outcome-counts="0/1/0"' in listing


def test_someone_elses_booking_is_404(frozen, admin, make_client, make_lawyer, db):
    other, _ = make_client(lawyer=make_lawyer(email="other@counsel.example"))
    booking = steer.book_for_client(other, datetime.fromisoformat("2026-03-04T13:00+00:00"), "x", NOW)
    assert admin.get(f"/admin/bookings/{booking.id}").status_code == 404
    assert admin.get(f"/admin/clients/{other.id}/book").status_code == 404


def test_week_page_books_and_lists_calls(frozen, admin, boris, db):
    page = admin.get("/admin/week?date=2026-03-02").get_data(as_text=True)
    assert "data-week-book" in page and "Борис Петров" in page
    hop = admin.get(f"/admin/book?client={boris.id}&day=2026-03-04&time=14:00")
    assert hop.status_code == 302 and "start=2026-03-04T14:00" in hop.headers["Location"]
    book(admin, boris)
    page = admin.get("/admin/week?date=2026-03-02").get_data(as_text=True)
    assert f'data-booking-uid="{only_booking(db).uid}"' in page
    assert f'<a href="/admin/bookings/{only_booking(db).id}" data-call-link>' in page  # the call in the picture


def test_csv_export_is_utf8_with_bom_and_cyrillic(frozen, admin, boris, db):
    book(admin, boris)
    response = admin.get("/admin/calls.csv?from=2026-03-01&to=2026-03-31&agenda=1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["client"] == "Борис Петров" and rows[0]["matter"] == "Аренда"
    assert rows[0]["agenda"] == "Пункт 4" and rows[0]["duration_min"] == "30"


def test_csv_cells_never_start_a_formula(frozen, admin, make_client, lawyer, db):
    client, _ = make_client(lawyer=lawyer, name="=HYPERLINK(\"http://evil\")")
    book(admin, client, agenda="+1 deposit")
    rows = list(csv.reader(io.StringIO(admin.get("/admin/calls.csv?agenda=1").get_data().decode("utf-8-sig"))))
    assert rows[1][1].startswith("'=") and rows[1][-1].startswith("'+")
