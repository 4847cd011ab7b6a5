"""Google Meet links for video calls written to a Google calendar: Google makes them
(conferenceData.createRequest, conferenceDataVersion=1), the service keeps and mails them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from service.calendars.google.events import event_id
from service.calendars.google.provider import GoogleProvider
from service.jobs import mail
from service.storage.models import Booking, OutboxTask
from service.usecases import bookings

from . import test_flow
from .test_flow import CALL, NOW, PRIMARY, run_outbox

account = test_flow.account  # the fixture: a Google account writing to the primary calendar

pytestmark = pytest.mark.db_matrix


def _book(client, start=CALL):
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW):
        booking, _ = bookings.book(client, start, contact, NOW)
    return booking


def test_video_calls_get_a_meet_link_from_google_unique_per_call(db, make_client, lawyer, account, fake):
    client, _ = make_client(lawyer=lawyer)
    first, second = _book(client), _book(client, CALL + timedelta(hours=1))
    assert first.video_provider == "meet" and first.join_url is None  # Google makes it
    assert run_outbox(NOW)["failed"] == 0
    events = {e["id"]: e for e in fake.live_events(PRIMARY)}
    links = []
    for booking in (first, second):
        db.session.refresh(booking)
        event = events[event_id(f"{booking.uid}-call@counselhours")]
        assert event["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
        assert event["conferenceData"]["entryPoints"][0]["uri"] == event["hangoutLink"]
        assert booking.join_url == event["hangoutLink"]
        links.append(booking.join_url)
        prep = events[event_id(f"{booking.uid}-prep@counselhours")]
        assert "conferenceData" not in prep
    assert len(set(links)) == 2 and fake.meetings_made == 2
    inserts = [r for r in fake.requests if r.name == "events.insert" and "conferenceData" in (r.body or {})]
    assert inserts and all(r.query.get("conferenceDataVersion") == "1" for r in inserts)


def test_a_move_keeps_the_meet_link(db, make_client, lawyer, account, fake):
    client, _ = make_client(lawyer=lawyer)
    booking = _book(client)
    run_outbox(NOW)
    db.session.refresh(booking)
    link = booking.join_url
    with freeze_time(NOW):
        bookings.reschedule(booking, CALL + timedelta(minutes=30), NOW)
    assert run_outbox(NOW)["failed"] == 0
    (call,) = [e for e in fake.live_events(PRIMARY) if e["id"] == event_id(f"{booking.uid}-call@counselhours")]
    assert call["hangoutLink"] == link and call["start"] == {"dateTime": "2026-03-04T13:30:00Z"}
    assert db.session.get(Booking, booking.id).join_url == link and fake.meetings_made == 1


def test_the_clients_mail_waits_for_the_meet_link_then_falls_back_to_jitsi(db, make_client, lawyer, account, fake,
                                                                           monkeypatch):
    """Google unreachable: the invite is not sent without a link; after a while it goes with Jitsi."""
    # Every call to the stopped stand-in is retried; 20 s of backoff per run made this test 45 s.
    monkeypatch.setattr(GoogleProvider, "max_total_sleep", 0.2)
    client, _ = make_client(lawyer=lawyer)
    booking = _book(client)
    fake.stop()
    run_outbox(NOW)
    task = db.session.scalar(sa.select(OutboxTask).where(OutboxTask.kind == "mail.booking",
                                                         OutboxTask.payload["to"].as_string() == "client"))
    assert task.status == "pending" and "Meet link" in task.last_error
    later = NOW + mail.MEET_LINK_WAIT + timedelta(minutes=1)
    with freeze_time(later):
        db.session.execute(sa.update(OutboxTask).values(due_at=later))
        db.session.commit()
    run_outbox(later)
    db.session.refresh(booking)
    assert booking.video_provider == "jitsi" and booking.join_url.startswith("https://meet.jit.si/")
    assert db.session.get(OutboxTask, task.id).status == "done"
