"""The dashboard: prep briefs, post-call notes, status updates owed, failed background work."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from booking.status_updates import state
from service.storage.models import Booking, OutboxTask
from tests.admin.conftest import log_in, post

FRI = 4


def add_booking(db, client, start: datetime, agenda="Agenda", notes="", minutes=30, prep=30):
    booking = Booking(uid=secrets.token_hex(16), lawyer_id=client.lawyer_id, client_id=client.id,
                      start=start, end=start + timedelta(minutes=minutes),
                      blocked_start=start - timedelta(minutes=prep), blocked_end=start + timedelta(minutes=minutes),
                      name=client.name, email=client.email, agenda=agenda, notes=notes,
                      manage_token_hash=secrets.token_hex(32), manage_token_enc="x")
    db.session.add(booking)
    db.session.commit()
    return booking


def test_upcoming_call_shows_its_prep_brief_with_earlier_notes(frozen, admin, lawyer, make_client, db):
    boris, _ = make_client(lawyer=lawyer, matter="Petrov v. Nordbau <GmbH>")
    add_booking(db, boris, datetime(2026, 2, 17, 15, tzinfo=UTC), notes="Landlord offered 3 months' rent.")
    add_booking(db, boris, datetime(2026, 2, 24, 15, tzinfo=UTC), notes="Client wants to counter with 5.")
    add_booking(db, boris, datetime(2026, 1, 5, 15, tzinfo=UTC), notes="")
    add_booking(db, boris, datetime(2026, 3, 4, 13, tzinfo=UTC), agenda="Counter-offer <draft> & deadline")
    page = admin.get("/admin/").get_data(as_text=True)
    upcoming = page.split('id="upcoming-h"')[1]
    assert "Wednesday 4 March, 2:00\u202fPM" in upcoming or "Wednesday 4 March, 2:00 PM" in upcoming  # Berlin
    assert "Preparation reserved from 1:30" in upcoming
    assert "Petrov v. Nordbau &lt;GmbH&gt;" in upcoming
    assert "Counter-offer &lt;draft&gt; &amp; deadline" in upcoming
    assert upcoming.index("Client wants to counter") < upcoming.index("Landlord offered")  # newest first


def test_notes_are_saved_after_the_call(frozen, admin, lawyer, make_client, db):
    boris, _ = make_client(lawyer=lawyer)
    past = add_booking(db, boris, datetime(2026, 2, 27, 10, tzinfo=UTC))
    page = admin.get("/admin/").get_data(as_text=True)
    assert f'id="booking-{past.id}"' in page.split('id="recent-h"')[1]
    response = post(admin, f"/admin/bookings/{past.id}/notes", {"notes": "Agreed: send\r\nthe draft by Friday."})
    assert response.status_code == 302
    db.session.refresh(past)
    assert past.notes == "Agreed: send\nthe draft by Friday."


def test_notes_of_another_lawyers_booking_are_404(frozen, admin, make_lawyer, make_client, db):
    other, _ = make_client(lawyer=make_lawyer())
    booking = add_booking(db, other, datetime(2026, 2, 27, 10, tzinfo=UTC))
    assert post(admin, f"/admin/bookings/{booking.id}/notes", {"notes": "x"}).status_code == 404
    assert booking.notes == ""


@pytest.mark.parametrize(
    ("today", "last_sent", "since", "expected"),
    [
        (date(2026, 3, 6), None, date(2026, 3, 1), ("due", date(2026, 3, 6))),  # Friday, never sent
        (date(2026, 3, 6), date(2026, 3, 6), date(2026, 3, 1), None),  # sent today
        (date(2026, 3, 6), date(2026, 3, 5), date(2026, 3, 1), None),  # sent a day early
        (date(2026, 3, 6), date(2026, 3, 3), date(2026, 3, 1), ("due", date(2026, 3, 6))),  # too early
        (date(2026, 3, 9), date(2026, 2, 27), date(2026, 2, 1), ("overdue", date(2026, 3, 6))),  # Monday after
        (date(2026, 3, 9), date(2026, 3, 9), date(2026, 2, 1), None),  # late, but sent
        (date(2026, 3, 4), date(2026, 2, 27), date(2026, 2, 1), ("soon", date(2026, 3, 6))),  # Wednesday
        (date(2026, 3, 3), date(2026, 2, 27), date(2026, 2, 1), None),  # Tuesday: nothing yet
        (date(2026, 3, 6), None, date(2026, 3, 6), None),  # agreed today: first due next week
        (date(2026, 3, 9), date(2026, 3, 9), date(2026, 2, 1), None),
    ],
)
def test_status_update_state(today, last_sent, since, expected):
    assert state(FRI, last_sent, since, today) == expected


def test_late_update_does_not_settle_next_week(frozen):
    # Sent on Monday for the missed Friday: next Friday is still due.
    assert state(FRI, date(2026, 3, 9), date(2026, 2, 1), date(2026, 3, 13)) == ("due", date(2026, 3, 13))


def test_dashboard_lists_updates_due_and_mark_sent_clears_them(frozen, admin, lawyer, make_client, db):
    frozen.move_to("2026-03-06 09:00:00")  # Friday
    log_in(admin, lawyer.email)  # the earlier session is too old now
    boris, _ = make_client(lawyer=lawyer, status_day=FRI, matter="Lease dispute")
    boris.created_at = datetime(2026, 2, 1, tzinfo=UTC)
    clara, _ = make_client(lawyer=lawyer, name="Clara", status_day=3)  # Thursday: overdue since yesterday
    clara.created_at = datetime(2026, 2, 1, tzinfo=UTC)
    make_client(lawyer=lawyer, name="Paused", status_day=FRI, status="paused")
    db.session.commit()
    page = admin.get("/admin/").get_data(as_text=True)
    assert f'data-client-id="{boris.id}" data-state="due"' in page
    assert f'data-client-id="{clara.id}" data-state="overdue"' in page
    assert "overdue since Thursday 5 March" in page and "Paused" not in page
    post(admin, f"/admin/clients/{boris.id}/status-sent")
    db.session.refresh(boris)
    assert boris.status_updated_on == date(2026, 3, 6)
    assert f'data-client-id="{boris.id}"' not in admin.get("/admin/").get_data(as_text=True)


def test_mark_sent_uses_the_lawyers_date(frozen, admin, lawyer, make_client, db):
    frozen.move_to("2026-03-05 23:30:00")  # already Friday in Berlin
    log_in(admin, lawyer.email)
    boris, _ = make_client(lawyer=lawyer, status_day=FRI)
    post(admin, f"/admin/clients/{boris.id}/status-sent")
    db.session.refresh(boris)
    assert boris.status_updated_on == date(2026, 3, 6)


@pytest.mark.db_matrix
def test_dead_tasks_are_shown_in_plain_words_and_can_be_retried(frozen, admin, lawyer, make_client, db):
    boris, _ = make_client(lawyer=lawyer)
    booking = add_booking(db, boris, datetime(2026, 3, 4, 13, tzinfo=UTC))
    task = OutboxTask(kind="mail.booking", payload={"booking_id": booking.id, "event": "booked", "to": "client"},
                      lawyer_id=lawyer.id, booking_id=booking.id, status="dead", attempts=8,
                      last_error="SMTPServerDisconnected: Connection unexpectedly closed")
    db.session.add(task)
    db.session.add(OutboxTask(kind="calendar.put", payload={"booking_id": booking.id}, lawyer_id=lawyer.id,
                              booking_id=booking.id, status="dead", attempts=8, last_error="AuthError: 401"))
    db.session.commit()
    page = admin.get("/admin/").get_data(as_text=True)
    assert "The e-mail to Boris Petrov about their call could not be sent." in page
    assert "The call with Boris Petrov could not be written to your calendar." in page
    post(admin, f"/admin/tasks/{task.id}/retry")
    db.session.refresh(task)
    assert (task.status, task.attempts) == ("pending", 0)
    assert post(admin, f"/admin/tasks/{task.id}/retry").status_code == 404  # no longer dead
