"""Fail closed: a calendar mirror older than CALENDAR_FRESHNESS_MINUTES offers nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.storage.models import Calendar, CalendarAccount, utcnow

pytestmark = pytest.mark.db_matrix


def connect_feed(db, lawyer, synced_at):
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="Office feed", config={})
    calendar = Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed", name="Office",
                        conflict=True, synced_at=synced_at)
    db.session.add_all([account, calendar])
    db.session.commit()
    return calendar


def test_stale_mirror_offers_nothing_and_says_why(client, make_client, frozen, db):
    booked_client, token = make_client()
    calendar = connect_feed(db, booked_client.lawyer, utcnow() - timedelta(minutes=5))
    api = client.get(f"/api/v1/slots?token={token}")
    assert api.status_code == 200 and api.get_json()["slots"]
    frozen.tick(timedelta(minutes=26))  # the last sync is now 31 minutes old (limit 30)
    api = client.get(f"/api/v1/slots?token={token}")
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "availability_unknown"
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert "data-availability-unknown" in page and "data-slot-start" not in page
    # A successful sync makes it trustworthy again.
    calendar.synced_at = utcnow()
    db.session.commit()
    assert client.get(f"/api/v1/slots?token={token}").get_json()["slots"]


def test_never_synced_calendar_is_not_trusted(client, make_client, frozen, db):
    booked_client, token = make_client()
    connect_feed(db, booked_client.lawyer, None)
    assert client.get(f"/api/v1/slots?token={token}").status_code == 503


def test_calendar_not_used_for_conflicts_does_not_matter(client, make_client, frozen, db):
    booked_client, token = make_client()
    calendar = connect_feed(db, booked_client.lawyer, None)
    calendar.conflict = False
    db.session.commit()
    assert client.get(f"/api/v1/slots?token={token}").get_json()["slots"]


def test_bad_starts_are_refused_before_any_calendar_server_is_asked(client, make_client, frozen, db):
    """The live re-check runs only for a start that is offered: a feed that cannot be
    reached answers 503 for a real slot, while a start outside the windows is a plain 409
    (so junk requests never become requests to the lawyer's calendar server)."""
    from service.core.crypto import encrypt_json

    booked_client, token = make_client()
    calendar = connect_feed(db, booked_client.lawyer, utcnow())
    calendar.account.secret_enc = encrypt_json({"url": "http://127.0.0.1:9/unreachable.ics"})
    db.session.commit()
    body = {"token": token, "name": "B", "email": "b@client.example", "agenda": "x"}
    outside = client.post("/api/v1/bookings", json={**body, "start": "2026-03-05T13:00:00+00:00"})
    assert outside.status_code == 409
    assert outside.get_json()["error"]["code"] == "slot_outside_windows"
    offered = client.post("/api/v1/bookings", json={**body, "start": "2026-03-04T13:00:00+00:00"})
    assert offered.status_code == 503
    assert offered.get_json()["error"]["code"] == "calendar_unavailable"
