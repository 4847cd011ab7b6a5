"""Mail through a real SMTP server (aiosmtpd): invites, cancellations, moves, the lawyer's
notice, escaping, and the status-update digest."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from service.jobs import worker
from service.storage.models import Booking, OutboxTask

WED_14 = "2026-03-04T13:00:00+00:00"


def run() -> dict[str, int]:
    """The worker's outbox counts (it also reports calendar syncs)."""
    counts = worker.run_once()
    return {"done": counts["done"], "failed": counts["failed"]}


def book(client, token, start=WED_14, name="Boris Petrov", agenda="Clause 4; deposit, 3 months"):
    response = client.post("/api/v1/bookings", json={"token": token, "start": start, "name": name,
                                                      "email": "boris@client.example", "agenda": agenda})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def calendar_parts(message):
    """(the text/calendar alternative, the attached invite.ics) parsed with icalendar."""
    alternative = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    attachment = next(p for p in message.walk() if p.get_filename() == "invite.ics")
    return alternative, Calendar.from_ical(alternative.get_content()), Calendar.from_ical(attachment.get_content())


def test_booking_mails_the_client_an_invite_and_the_lawyer_the_agenda(frozen, smtp, client, make_client, db):
    _, token = make_client()
    body = book(client, token)
    assert run() == {"done": 2, "failed": 0}
    (to_client,) = smtp.to("boris@client.example")
    (to_lawyer,) = smtp.to("anna0@counsel.example")

    part, cal, attached = calendar_parts(to_client)
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    assert cal["METHOD"] == "REQUEST" and attached["METHOD"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert event["UID"] == f"{body['uid']}@counselhours"
    assert event.decoded("DTSTART") == datetime(2026, 3, 4, 13, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:anna0@counsel.example"
    assert "Clause 4; deposit, 3 months" in str(event["DESCRIPTION"])
    assert to_client["Reply-To"] == "Anna Keller <anna0@counsel.example>"
    text = to_client.get_body(("plain",)).get_content()
    assert "Clause 4; deposit, 3 months" in text and body["manage_url"] in text
    assert "Wednesday, March 4, 2026" in to_client["Subject"]

    lawyer_text = to_lawyer.get_body(("plain",)).get_content()
    assert "New call: Boris Petrov" in lawyer_text and "Clause 4; deposit, 3 months" in lawyer_text
    assert "http://counsel.test/admin/" in lawyer_text
    assert not any(p.get_content_type() == "text/calendar" for p in to_lawyer.walk())


def test_cancel_sends_method_cancel_with_the_same_uid(frozen, smtp, client, make_client, db):
    _, token = make_client()
    body = book(client, token)
    worker.run_once()
    booking = db.session.scalar(sa.select(Booking))
    from service.usecases import bookings

    bookings.cancel(booking, datetime(2026, 3, 2, 8, tzinfo=UTC))
    worker.run_once()
    mails = smtp.to("boris@client.example")
    assert len(mails) == 2
    part, cal, _ = calendar_parts(mails[1])
    assert part.get_param("method") == "CANCEL" and cal["METHOD"] == "CANCEL"
    (event,) = cal.walk("VEVENT")
    assert event["UID"] == f"{body['uid']}@counselhours"
    assert event["SEQUENCE"] == 1 and str(event["STATUS"]) == "CANCELLED"
    assert "cancelled" in mails[1]["Subject"].lower()


def test_reschedule_sends_the_updated_invite(frozen, smtp, client, make_client, db):
    _, token = make_client()
    body = book(client, token)
    worker.run_once()
    from service.usecases import bookings

    booking = db.session.scalar(sa.select(Booking))
    bookings.reschedule(booking, datetime(2026, 3, 9, 9, tzinfo=UTC), datetime(2026, 3, 2, 8, tzinfo=UTC))
    worker.run_once()
    _, cal, _ = calendar_parts(smtp.to("boris@client.example")[-1])
    (event,) = cal.walk("VEVENT")
    assert cal["METHOD"] == "REQUEST" and event["UID"] == f"{body['uid']}@counselhours"
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2026, 3, 9, 9, tzinfo=UTC)


@pytest.mark.db_matrix
def test_superseded_mail_is_not_sent(frozen, smtp, client, make_client, db):
    """Booked and cancelled before the worker ran: only the cancellation goes out."""
    _, token = make_client()
    book(client, token)
    from service.usecases import bookings

    bookings.cancel(db.session.scalar(sa.select(Booking)), datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert run() == {"done": 4, "failed": 0}
    (only,) = smtp.to("boris@client.example")
    assert Calendar.from_ical(calendar_parts(only)[0].get_content())["METHOD"] == "CANCEL"


def test_client_mail_is_in_the_clients_language(frozen, smtp, client, make_client):
    _, token = make_client(language="ru")
    book(client, token)
    worker.run_once()
    (to_client,) = smtp.to("boris@client.example")
    text = to_client.get_body(("plain",)).get_content()
    assert "Темы разговора" in text and "Повестка" not in text and "4 марта 2026" in text
    (to_lawyer,) = smtp.to("anna0@counsel.example")
    assert "New call" in to_lawyer.get_body(("plain",)).get_content()  # the lawyer's language: en


HOSTILE = 'Eve "the" <Hacker>; Bcc: x@evil.example\\'


def test_names_and_agendas_are_escaped_and_never_reach_headers_raw(frozen, smtp, client, make_client, db):
    lawyer_client, token = make_client(name=HOSTILE, matter="Matter\r\nBcc: y@evil.example")
    book(client, token, name=HOSTILE, agenda="Line 1\nBEGIN:VEVENT\nUID:forged\nEND:VEVENT\n<script>x</script>")
    worker.run_once()
    for message in smtp.messages:
        for name, value in message.items():
            assert "\n" not in value and "\r" not in value, name
        assert "evil.example" not in (message["Bcc"] or "")
        assert all("evil.example" not in rcpt for env in smtp.envelopes for rcpt in env.rcpt_tos)
    _, cal, attached = calendar_parts(smtp.to("boris@client.example")[0])
    assert len(cal.walk("VEVENT")) == 1 and len(attached.walk("VEVENT")) == 1
    (event,) = cal.walk("VEVENT")
    assert event["UID"] != "forged" and "BEGIN:VEVENT" in str(event["DESCRIPTION"])
    assert event["ATTENDEE"].params["CN"] == HOSTILE
    text = smtp.to("anna0@counsel.example")[0].get_body(("plain",)).get_content()
    assert "<script>x</script>" in text  # plain text: shown as written, not HTML-escaped


@pytest.mark.db_matrix
def test_smtp_outage_is_retried_not_lost(frozen, app, client, make_client, db):
    from tests.mail.conftest import _free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port())  # nobody listens
    _, token = make_client()
    book(client, token)
    assert run() == {"done": 0, "failed": 2}
    tasks = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == "mail.booking")).all()
    assert len(tasks) == 2
    assert all(t.status == "pending" and t.attempts == 1 and t.last_error for t in tasks)


# -- the status-update digest --------------------------------------------------------


@pytest.fixture
def friday(frozen):
    frozen.move_to("2026-03-06 07:00:00")  # Friday 08:00 in Berlin
    return frozen


def test_status_due_digest_lists_due_and_overdue_updates(friday, smtp, runner, make_lawyer, make_client, db):
    anna = make_lawyer()
    boris, _ = make_client(lawyer=anna, status_day=4, matter="Lease dispute")
    clara, _ = make_client(lawyer=anna, name="Clara Schmidt", status_day=3, matter="Company formation")
    done, _ = make_client(lawyer=anna, name="Dmitri Orlov", status_day=4)
    make_client(lawyer=anna, name="No Cadence")
    for c in (boris, clara, done):
        c.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    boris.status_updated_on = date(2026, 2, 27)
    done.status_updated_on = date(2026, 3, 5)
    quiet = make_lawyer(name="Quiet Lawyer")
    make_client(lawyer=quiet, status_day=0)
    db.session.commit()

    result = runner.invoke(args=["notify", "status-due"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    (digest,) = smtp.messages
    assert anna.email in digest["To"]
    assert digest["Subject"] == "Status updates due today: 2"
    text = digest.get_body(("plain",)).get_content()
    assert "Boris Petrov — Lease dispute" in text and "due today" in text and "February 27, 2026" in text
    assert "Clara Schmidt — Company formation" in text and "overdue since Thursday 5 March" in text
    assert "none yet" in text
    assert "Dmitri" not in text and "No Cadence" not in text
    assert "http://counsel.test/admin/" in text

    again = runner.invoke(args=["notify", "status-due"])
    assert again.exit_code == 0 and "for 0 lawyers" in again.output
    assert len(smtp.messages) == 1


def test_status_due_digest_in_the_lawyers_language(friday, smtp, runner, make_lawyer, make_client, db):
    anna = make_lawyer(language="ru")
    boris, _ = make_client(lawyer=anna, status_day=4, matter="Аренда")
    boris.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.commit()
    runner.invoke(args=["notify", "status-due"])
    (digest,) = smtp.messages
    text = digest.get_body(("plain",)).get_content()
    assert "Boris Petrov — Аренда" in text and "пятница" in text.lower()


@pytest.mark.db_matrix
def test_status_due_with_mail_down_leaves_the_digest_to_the_worker(friday, app, runner, make_lawyer, make_client, db):
    from tests.mail.conftest import _free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port())
    boris, _ = make_client(lawyer=make_lawyer(), status_day=4)
    boris.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.commit()
    result = runner.invoke(args=["notify", "status-due"])
    assert result.exit_code == 0 and "0 sent, 1 left to the worker" in result.output
    task = db.session.scalar(sa.select(OutboxTask))
    assert task.kind == "mail.status_digest" and task.status == "pending"


@pytest.mark.db_matrix
def test_a_refused_calendar_is_mailed_to_the_lawyer_once(frozen, smtp, make_lawyer, db):
    from service.calendars import sync
    from service.storage.models import CalendarAccount

    lawyer = make_lawyer(email="anna@counsel.example")
    account = CalendarAccount(lawyer_id=lawyer.id, kind="google", label="anna@gmail.example", config={})
    db.session.add(account)
    db.session.commit()
    for _ in range(3):  # every sync attempt is refused
        sync.mark_broken(account, "Google refused the stored access (invalid_grant): reconnect")
        db.session.commit()
    worker.run_once()
    sent = smtp.to("anna@counsel.example")
    assert len(sent) == 1
    assert sent[0]["Subject"] == "Calendar disconnected: anna@gmail.example"
    body = sent[0].get_content()
    assert "invalid_grant" in body and "http://counsel.test/admin/calendars" in body
