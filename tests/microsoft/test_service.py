"""Microsoft through the whole service: mirror sync, subscriptions and notifications →
outbox, the check before booking, write-back, a revoked account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from service.calendars import sync
from service.calendars.accounts import disconnect
from service.calendars.microsoft import accounts
from service.calendars.microsoft.models import MicrosoftSubscription
from service.core.crypto import decrypt_json
from service.jobs import worker
from service.storage import outbox
from service.storage.models import BusyBlock, OutboxTask
from service.usecases import bookings
from service.usecases.errors import Refused
from service.web.errors import status_of
from tests.microsoft.conftest import COURT, DEFAULT

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
# The first slot of the default agreement: Wed 4 Mar 14:00 Berlin, 30 min, 30 min prep.
CALL = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)


@pytest.fixture
def delivered(app, fake):
    """Graph's calls to our webhooks go to the app (as Graph would over the internet)."""
    http = app.test_client()
    seen = []

    def deliver(url, token):
        parts = urlsplit(url)
        assert parts.netloc == "counsel.test"
        response = http.post(f"{parts.path}?validationToken={quote(token)}")
        seen.append(parts.path)
        return response.status_code, response.headers.get("Content-Type", ""), response.get_data(as_text=True)

    fake.deliver = deliver
    return seen


@pytest.fixture
def account(db, lawyer, fake, delivered):
    from service.calendars.microsoft import oauth

    secret = oauth.from_refresh_token(fake.refresh_token())
    with freeze_time(NOW):
        result = accounts.connect(lawyer, secret, calendars=("default", COURT), write_to="default")
    return result.account


def calendar_of(account, remote_id):
    return next(c for c in account.calendars if c.remote_id == remote_id)


def mirror(db, calendar):
    rows = db.session.execute(
        sa.select(BusyBlock.start, BusyBlock.end).where(BusyBlock.calendar_id == calendar.id).order_by(BusyBlock.start)
    )
    return [(s, e) for s, e in rows]


def run_outbox(at):
    assert worker.run_once  # importing the worker registers every outbox handler
    with freeze_time(at):
        return outbox.run_due(now=at + timedelta(seconds=1))


def subscriptions(db):
    return db.session.scalars(sa.select(MicrosoftSubscription).order_by(MicrosoftSubscription.id)).all()


@pytest.mark.db_matrix
def test_connect_queues_sync_and_subscriptions_for_the_worker(db, account, fake, delivered):
    assert fake.subscriptions == {} and delivered == []  # nothing inline
    fake.add_event(DEFAULT, CALL, CALL + timedelta(hours=1))
    assert run_outbox(NOW)["failed"] == 0
    assert mirror(db, calendar_of(account, DEFAULT)) == [(CALL, CALL + timedelta(hours=1))]
    rows = subscriptions(db)
    assert {r.calendar.remote_id for r in rows} == {DEFAULT, COURT}
    assert {s["resource"] for s in fake.subscriptions.values()} == {
        f"me/calendars/{DEFAULT}/events", f"me/calendars/{COURT}/events"
    }
    # The handshake was answered on both URLs, each subscription's clientState is
    # random and only its hash is stored.
    assert delivered.count("/hooks/microsoft") == 2 and delivered.count("/hooks/microsoft/lifecycle") == 2
    states = {s["clientState"] for s in fake.subscriptions.values()}
    assert len(states) == 2 and all(len(s) >= 60 for s in states)
    assert not any(s in r.client_state_hash for s in states for r in rows)


def test_validation_handshake_is_plain_text(client):
    response = client.post("/hooks/microsoft?validationToken=Validation%3A+Testing+client+123")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "Validation: Testing client 123"
    lifecycle = client.post("/hooks/microsoft/lifecycle?validationToken=abc")
    assert lifecycle.get_data(as_text=True) == "abc" and lifecycle.mimetype == "text/plain"


def sync_tasks(db):
    return db.session.scalars(
        sa.select(OutboxTask).where(OutboxTask.kind == "calendar.sync", OutboxTask.status == "pending")
    ).all()


def test_notification_queues_one_sync_never_inline(db, client, account, fake):
    run_outbox(NOW)
    row = next(r for r in subscriptions(db) if r.calendar.remote_id == DEFAULT)
    event = fake.add_event(DEFAULT, CALL, CALL + timedelta(hours=1))
    listed = len(fake.calls("calendarView.delta"))
    for _ in range(3):  # a burst
        with freeze_time(NOW):
            response = client.post("/hooks/microsoft", json=fake.notification(row.subscription_id))
        assert response.status_code == 202
    assert len(fake.calls("calendarView.delta")) == listed
    (task,) = sync_tasks(db)
    assert task.payload == {"calendar_id": row.calendar_id}
    with freeze_time(NOW):
        assert run_outbox(NOW)["done"] == 1
    assert db.session.scalars(sa.select(BusyBlock.key)).all() == [event["id"]]
    assert "$deltatoken" in fake.calls("calendarView.delta")[-1].query


def test_wrong_client_state_is_refused_and_queues_nothing(db, client, account, fake):
    run_outbox(NOW)
    row = subscriptions(db)[0]
    cases = [
        fake.notification(row.subscription_id, client_state="guessed"),
        fake.notification(row.subscription_id, client_state=""),
        {"value": [{**fake.notification(row.subscription_id)["value"][0], "subscriptionId": "unknown"}]},
    ]
    for body in cases:
        response = client.post("/hooks/microsoft", json=body)
        assert response.status_code == 403 and response.json["error"]["code"] == "unknown_subscription"
    assert client.post("/hooks/microsoft", data="not json").status_code == 400
    assert client.post("/hooks/microsoft", json={"value": "x"}).status_code == 400
    assert client.post("/hooks/microsoft", data=b"{" * 300_000).status_code == 413
    assert sync_tasks(db) == []


@freeze_time(NOW)
def test_lifecycle_notifications(db, client, account, fake):
    run_outbox(NOW)
    row = next(r for r in subscriptions(db) if r.calendar.remote_id == DEFAULT)
    sub_id, calendar_id = row.subscription_id, row.calendar_id
    wrong = client.post("/hooks/microsoft/lifecycle", json=fake.lifecycle(sub_id, "missed", client_state="x"))
    assert wrong.status_code == 403
    missed = client.post("/hooks/microsoft/lifecycle", json=fake.lifecycle(sub_id, "missed"))
    assert missed.status_code == 202 and [t.payload["calendar_id"] for t in sync_tasks(db)] == [calendar_id]
    court = next(r for r in subscriptions(db) if r.calendar.remote_id == COURT).subscription_id
    reauthorize = client.post("/hooks/microsoft/lifecycle", json=fake.lifecycle(court, "reauthorizationRequired"))
    assert reauthorize.status_code == 202
    # subscriptionRemoved: the row goes, a new subscription is made by the worker.
    removed = client.post("/hooks/microsoft/lifecycle", json=fake.lifecycle(sub_id, "subscriptionRemoved"))
    assert removed.status_code == 202
    tasks = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == "microsoft.subscriptions",
                                                           OutboxTask.status == "pending")).all()
    assert len(tasks) == 1  # reauthorize + removed: one task
    del fake.subscriptions[sub_id]
    assert run_outbox(NOW)["failed"] == 0
    rows = subscriptions(db)
    assert len(rows) == 2 and sub_id not in {r.subscription_id for r in rows}
    (renewal,) = fake.calls("subscriptions.update")  # reauthorized though far from expiry
    assert renewal.path == f"subscriptions/{court}" and court in {r.subscription_id for r in rows}


@pytest.mark.db_matrix
def test_subscriptions_renewed_before_expiry_and_replaced_when_gone(db, account, fake):
    with freeze_time(NOW):
        run_outbox(NOW)
        rows = {r.calendar.remote_id: r for r in subscriptions(db)}
        expires = rows[DEFAULT].expires_at
        assert expires - NOW == timedelta(minutes=4200)
        assert accounts.renew_subscriptions(NOW) == {"opened": 0, "renewed": 0, "failed": 0}
    later = expires - timedelta(hours=6)  # inside the renewal margin
    del fake.subscriptions[rows[COURT].subscription_id]  # Graph dropped this one
    with freeze_time(later):
        assert accounts.renew_subscriptions(later) == {"opened": 1, "renewed": 1, "failed": 0}
        renewed = {r.calendar.remote_id: r for r in subscriptions(db)}
    assert renewed[DEFAULT].subscription_id == rows[DEFAULT].subscription_id
    assert renewed[DEFAULT].expires_at == later + timedelta(minutes=4200)
    assert fake.calls("subscriptions.update")
    assert set(fake.subscriptions) == {r.subscription_id for r in renewed.values()}


def test_disconnect_deletes_the_subscriptions(db, account, fake):
    run_outbox(NOW)
    assert len(fake.subscriptions) == 2
    disconnect(account)
    db.session.commit()
    assert fake.subscriptions == {} and subscriptions(db) == []


def test_booking_is_checked_live_against_outlook(db, make_client, lawyer, account, fake):
    client, _token = make_client(lawyer=lawyer)
    with freeze_time(NOW):
        sync.sync_lawyer(lawyer.id, NOW)
    # Entered in Outlook after the last sync: only the live check can see it.
    fake.add_event(COURT, CALL, CALL + timedelta(hours=2))
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW), pytest.raises(Refused) as refused:
        bookings.book(client, CALL, contact, NOW)
    assert status_of(refused.value) == 409
    views = fake.calls("calendarView")
    assert {r.path.split("/")[2] for r in views} == {DEFAULT, COURT}
    assert views[0].query["startDateTime"] == "2026-03-04T12:30:00Z"  # the prep block too


def test_write_back_booking_move_cancel(db, make_client, lawyer, account, fake):
    client, _token = make_client(lawyer=lawyer)
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW):
        sync.sync_lawyer(lawyer.id, NOW)
        booking, _manage = bookings.book(client, CALL, contact, NOW)
    fake.lose_responses(1)  # the first create is stored, its answer lost
    assert run_outbox(NOW)["failed"] == 0
    events = sorted(fake.live_events(DEFAULT), key=lambda e: e["start"]["dateTime"])
    assert [e["subject"] for e in events] == ["Prep: Boris Petrov", "Call: Boris Petrov"]
    assert events[1]["start"] == {"dateTime": "2026-03-04T13:00:00.0000000", "timeZone": "UTC"}
    # Our own events never come back as busy time, nor block a move onto an overlap.
    with freeze_time(NOW):
        sync.sync_calendar(calendar_of(account, DEFAULT), NOW)
        assert mirror(db, calendar_of(account, DEFAULT)) == []
        moved = bookings.reschedule(booking, CALL + timedelta(minutes=30), NOW)
    assert run_outbox(NOW)["failed"] == 0
    events = sorted(fake.live_events(DEFAULT), key=lambda e: e["start"]["dateTime"])
    assert len(events) == 2 and events[1]["start"]["dateTime"] == "2026-03-04T13:30:00.0000000"
    with freeze_time(NOW):
        bookings.cancel(moved, NOW)
    assert run_outbox(NOW)["failed"] == 0
    assert fake.live_events(DEFAULT) == []


def test_video_booking_gets_a_teams_meeting(db, make_client, lawyer, account, fake, monkeypatch):
    """The call channel arrives with #14; the writer reads ``booking.channel``."""
    from service.storage.models import Booking

    monkeypatch.setattr(Booking, "channel", "video", raising=False)
    client, _token = make_client(lawyer=lawyer)
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW):
        sync.sync_lawyer(lawyer.id, NOW)
        bookings.book(client, CALL, contact, NOW)
    assert run_outbox(NOW)["failed"] == 0
    by_subject = {e["subject"]: e for e in fake.live_events(DEFAULT)}
    assert by_subject["Call: Boris Petrov"]["onlineMeetingProvider"] == "teamsForBusiness"
    assert "isOnlineMeeting" not in by_subject["Prep: Boris Petrov"]


def test_revoked_account_is_broken_mails_once_and_fails_closed(db, make_client, lawyer, account, fake):
    client, _token = make_client(lawyer=lawyer)
    fake.revoke_all()
    with freeze_time(NOW):
        first = sync.sync_calendar(calendar_of(account, DEFAULT), NOW)
        second = sync.sync_calendar(calendar_of(account, COURT), NOW)
    assert not first["ok"] and "invalid_grant" in first["error"] and not second["ok"]
    db.session.refresh(account)
    assert account.broken and "reconnect" in account.last_error
    mails = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == "mail.calendar_broken")).all()
    assert len(mails) == 1
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with freeze_time(NOW), pytest.raises(Refused) as refused:
        bookings.book(client, CALL, contact, NOW)
    assert status_of(refused.value) == 503
    with freeze_time(NOW):
        assert sync.sync_due(NOW + timedelta(hours=1)) == {"synced": 0, "failed": 0}


@pytest.mark.db_matrix
def test_refreshed_token_cache_is_stored_encrypted(db, account, fake):
    before = decrypt_json(account.secret_enc)["cache"]
    fake.expire_access_tokens()  # Graph refuses the cached token: MSAL refreshes once
    with freeze_time(NOW):
        assert sync.sync_calendar(calendar_of(account, DEFAULT), NOW)["ok"]
    db.session.expire_all()
    after = decrypt_json(account.secret_enc)["cache"]
    assert after != before and "M.R3_" not in account.secret_enc
