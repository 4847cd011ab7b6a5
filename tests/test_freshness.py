"""Fail closed: a calendar mirror older than CALENDAR_FRESHNESS_MINUTES offers nothing."""

from __future__ import annotations

from datetime import timedelta

from service.models import Calendar, CalendarAccount, utcnow


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
