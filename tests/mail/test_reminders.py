"""Reminders through real SMTP (aiosmtpd) with a frozen clock: the client's mails at the
right instants across a DST change, in the client's zone and language; none after a
cancel; one after a move, for the new time; the lawyer's prep brief when prep starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from service.jobs import worker
from service.storage.models import Booking, OutboxTask
from service.usecases import bookings

# Monday 30 March 2026 10:00 in Berlin, the day after the change to summer time
# (29 March, 02:00 CET -> 03:00 CEST): 08:00 UTC.
CALL = "2026-03-30T08:00:00+00:00"
CALL_AT = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
CLIENT = "boris@client.example"
LAWYER = "anna0@counsel.example"


def book(client, token, start=CALL, **extra):
    response = client.post("/api/v1/bookings", json={
        "token": token, "start": start, "name": "Boris Petrov", "email": CLIENT, "agenda": "Lease, clause 4",
        **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reminders(smtp, address=CLIENT):
    return [m for m in smtp.to(address) if "Reminder" in m["Subject"] or "Напоминание" in m["Subject"]]


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


def at(frozen, instant: datetime) -> None:
    frozen.move_to(instant)
    worker.run_once()


def test_reminders_at_the_right_instants_across_the_dst_change(frozen, smtp, client, make_client, db):
    _, token = make_client(windows="mon 10:00-12:00")
    body = book(client, token, tz="America/New_York")
    worker.run_once()
    assert len(smtp.to(CLIENT)) == 1  # the confirmation

    # 24 hours before: Sunday 29 March 08:00 UTC, hours after Europe's clocks went forward.
    at(frozen, CALL_AT - timedelta(hours=24, seconds=1))
    assert reminders(smtp) == []
    at(frozen, CALL_AT - timedelta(hours=24))
    (first,) = reminders(smtp)
    words = text(first)
    # In the client's zone (New York, on summer time since 8 March): 04:00.
    assert "Monday, March 30, 2026, 4:00" in first["Subject"] and "America/New_York" in first["Subject"]
    assert body["join_url"] in words and body["manage_url"] in words
    assert "Lease, clause 4" in words
    assert not any(p.get_content_type() == "text/calendar" for p in first.walk())

    # 60 minutes before; the lawyer's prep brief when preparation (30 min) starts.
    at(frozen, CALL_AT - timedelta(minutes=61))
    assert len(reminders(smtp)) == 1
    at(frozen, CALL_AT - timedelta(minutes=60))
    assert len(reminders(smtp)) == 2
    assert "starts soon" in text(reminders(smtp)[1])
    lawyer_before = len(smtp.to(LAWYER))
    at(frozen, CALL_AT - timedelta(minutes=30))
    (brief,) = smtp.to(LAWYER)[lawyer_before:]
    assert brief["Subject"].startswith("Prepare: Boris Petrov")
    brief_text = text(brief)
    assert "Lease, clause 4" in brief_text and body["join_url"] in brief_text

    # Never twice: later runs send nothing more.
    at(frozen, CALL_AT - timedelta(minutes=5))
    at(frozen, CALL_AT + timedelta(hours=2))
    assert len(reminders(smtp)) == 2 and len(smtp.to(LAWYER)) == lawyer_before + 1


def test_no_reminder_after_a_cancel(frozen, smtp, client, make_client, db):
    _, token = make_client(windows="mon 10:00-12:00")
    book(client, token)
    worker.run_once()
    booking = db.session.scalar(sa.select(Booking))
    bookings.cancel(booking, datetime(2026, 3, 2, 8, tzinfo=UTC))
    for hours in (24, 1, 0.5, 0):
        at(frozen, CALL_AT - timedelta(hours=hours))
    assert reminders(smtp) == []
    assert not [m for m in smtp.to(LAWYER) if m["Subject"].startswith("Prepare")]
    pending = db.session.scalar(sa.select(sa.func.count(OutboxTask.id)).where(OutboxTask.status == "pending"))
    assert pending == 0


def test_one_reminder_after_a_move_for_the_new_time(frozen, smtp, client, make_client, db):
    _, token = make_client(windows="mon 10:00-12:00,wed 14:00-16:00", horizon_days=40)
    book(client, token)
    booking = db.session.scalar(sa.select(Booking))
    new_at = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)  # Wednesday 14:00 in Berlin
    bookings.reschedule(booking, new_at, datetime(2026, 3, 2, 8, tzinfo=UTC))
    worker.run_once()
    at(frozen, CALL_AT - timedelta(hours=24))  # the old time's reminder instant
    at(frozen, CALL_AT)
    assert reminders(smtp) == []
    at(frozen, new_at - timedelta(hours=24))
    (reminder,) = reminders(smtp)
    assert "Wednesday, April 1, 2026, 2:00 PM" in reminder["Subject"]
    at(frozen, new_at - timedelta(minutes=60))
    at(frozen, new_at + timedelta(minutes=1))
    assert len(reminders(smtp)) == 2


def test_moving_away_and_back_reminds_once(frozen, smtp, client, make_client, db):
    _, token = make_client(windows="mon 10:00-12:00,wed 14:00-16:00", horizon_days=40)
    book(client, token)
    booking = db.session.scalar(sa.select(Booking))
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    booking = bookings.reschedule(booking, datetime(2026, 4, 1, 12, 0, tzinfo=UTC), now)
    bookings.reschedule(booking, CALL_AT, now)
    at(frozen, CALL_AT - timedelta(hours=24))
    at(frozen, CALL_AT - timedelta(hours=23))
    assert len(reminders(smtp)) == 1


@pytest.mark.parametrize("app_overrides", [{"REMINDER_SHORT_MINUTES": 0, "REMINDER_HOURS": 48}])
def test_the_short_reminder_is_off_at_zero_and_the_long_one_configurable(frozen, smtp, client, make_client, db,
                                                                         app_overrides):
    _, token = make_client(windows="mon 10:00-12:00")
    book(client, token)
    at(frozen, CALL_AT - timedelta(hours=48))
    assert len(reminders(smtp)) == 1
    for minutes in (60, 30, 1):
        at(frozen, CALL_AT - timedelta(minutes=minutes))
    assert len(reminders(smtp)) == 1


def test_a_call_booked_inside_the_lead_time_gets_only_the_short_reminder(frozen, smtp, client, make_client, db):
    frozen.move_to(CALL_AT - timedelta(hours=5))
    _, token = make_client(windows="mon 10:00-12:00", notice_hours=2, prep_min=30)
    book(client, token)
    for minutes in (61, 60, 30, 0):
        at(frozen, CALL_AT - timedelta(minutes=minutes))
    (only,) = reminders(smtp)
    assert "starts soon" in text(only)


def test_reminder_in_the_clients_language_and_zone(frozen, smtp, client, make_client, db):
    _, token = make_client(windows="mon 10:00-12:00", language="ru", channels="phone")
    book(client, token, tz="Europe/Moscow", phone="8 (912) 345 67 89")
    at(frozen, CALL_AT - timedelta(hours=24))
    (reminder,) = reminders(smtp)
    assert reminder["Subject"].startswith("Напоминание")
    assert "11:00" in reminder["Subject"] and "Europe/Moscow" in reminder["Subject"]  # Moscow: UTC+3
    assert "8 (912) 345-67-89" in text(reminder)


def test_the_invite_in_the_mail_has_location_and_a_valarm(frozen, smtp, client, make_client, db):
    _, token = make_client(windows="mon 10:00-12:00")
    body = book(client, token)
    worker.run_once()
    (confirmation,) = smtp.to(CLIENT)
    part = next(p for p in confirmation.walk() if p.get_content_type() == "text/calendar")
    (event,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert str(event["LOCATION"]) == body["join_url"]
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-60)


def test_the_prep_brief_lists_documents_notes_and_the_confirmation(frozen, smtp, client, make_client, db):
    from service.usecases import readiness

    person, token = make_client(windows="mon 10:00-12:00", agenda_confirm_hours=12, matter="Lease dispute")
    earlier = book(client, token, start="2026-03-09T09:00:00+00:00")
    body = book(client, token)
    first, booking = db.session.scalars(sa.select(Booking).order_by(Booking.start)).all()
    assert first.uid == earlier["uid"]
    first.notes = "Landlord offered 2 months."
    db.session.commit()
    readiness.add_file(booking, "offer.pdf", b"%PDF-1.4\n%%EOF\n", datetime(2026, 3, 2, 8, tzinfo=UTC))
    at(frozen, CALL_AT - timedelta(hours=24))
    (reminder,) = [m for m in reminders(smtp) if "March 30" in m["Subject"]]
    assert "confirm the agenda" in text(reminder) and body["manage_url"] in text(reminder)
    before = len(smtp.to(LAWYER))
    at(frozen, CALL_AT - timedelta(minutes=30))
    (brief,) = smtp.to(LAWYER)[before:]
    words = text(brief)
    assert "offer.pdf" in words and "Landlord offered 2 months." in words and "Lease dispute" in words
    assert "Agenda not confirmed by the client." in words
    assert "Video call" in words and body["join_url"] in words
