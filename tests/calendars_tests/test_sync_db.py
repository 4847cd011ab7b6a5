"""sync.py against real servers and the app's database: the mirror, errors, freshness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.intervals import Interval
from service.calendars import sync
from service.calendars.base import ProviderError
from service.core.crypto import encrypt_json
from service.storage.models import BusyBlock, Calendar, CalendarAccount, OutboxTask
from tests.calendar_servers import USER, delete_ics, event_ics, put_ics, start_server, unique

pytestmark = pytest.mark.db_matrix

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")


def put(server, url: str, name: str, start: datetime, hours: float = 1) -> None:
    uid = name.removesuffix(".ics") + "@example.com"
    text = event_ics(uid, stamp(start), stamp(start + timedelta(hours=hours)))
    put_ics(url, name, text, server.password())


def connect_calendar(db, lawyer, server, url: str, *, password=None, write_to=False) -> Calendar:
    account = CalendarAccount(
        lawyer_id=lawyer.id,
        kind="caldav",
        label="test",
        config={"url": server.url, "username": USER},
        secret_enc=encrypt_json({"password": password or server.password()}),
    )
    calendar = Calendar(lawyer_id=lawyer.id, remote_id=url, name="Work", write_to=write_to)
    account.calendars.append(calendar)
    db.session.add(account)
    db.session.commit()
    return calendar


def mirror(db, calendar_id: int) -> list[Interval]:
    rows = db.session.execute(
        sa.select(BusyBlock.start, BusyBlock.end)
        .where(BusyBlock.calendar_id == calendar_id)
        .order_by(BusyBlock.start)
    )
    return [Interval(s, e) for s, e in rows]


def test_sync_fills_the_mirror_then_applies_changes(db, make_lawyer, server):
    lawyer = make_lawyer()
    url = server.make_calendar(unique())
    put(server, url, "a.ics", at(3, 9))
    put(server, url, "b.ics", at(4, 9))
    calendar = connect_calendar(db, lawyer, server, url)

    report = sync.sync_calendar(calendar, NOW)
    assert report["ok"] and report["full"]
    assert (report["events"], report["changes"]) == (2, 2)
    assert mirror(db, calendar.id) == [Interval(at(3, 9), at(3, 10)), Interval(at(4, 9), at(4, 10))]
    calendar = db.session.get(Calendar, calendar.id)
    assert calendar.synced_at == NOW and calendar.last_error is None

    put(server, url, "a.ics", at(3, 15))
    delete_ics(url + "b.ics", server.password())
    report = sync.sync_calendar(db.session.get(Calendar, calendar.id), NOW + timedelta(minutes=5))
    assert report["ok"] and not report["full"]
    assert (report["events"], report["changes"]) == (1, 2)
    assert mirror(db, calendar.id) == [Interval(at(3, 15), at(3, 16))]


def test_full_resync_with_nothing_new_changes_nothing(db, make_lawyer, server):
    lawyer = make_lawyer()
    url = server.make_calendar(unique())
    put(server, url, "a.ics", at(3, 9))
    calendar = connect_calendar(db, lawyer, server, url)
    sync.sync_calendar(calendar, NOW)
    calendar = db.session.get(Calendar, calendar.id)
    calendar.sync_state = None  # e.g. the token expired
    db.session.commit()
    report = sync.sync_calendar(calendar, NOW)
    assert report["full"] and report["changes"] == 0 and report["events"] == 1


@pytest.mark.parametrize("kind", ["radicale", "xandikos"])
def test_server_down_records_the_error_and_keeps_the_mirror(db, app, make_lawyer, tmp_path, kind):
    lawyer = make_lawyer()
    server = start_server(kind, tmp_path / kind)
    try:
        url = server.make_calendar(unique())
        put(server, url, "a.ics", at(3, 9))
        calendar = connect_calendar(db, lawyer, server, url)
        assert sync.sync_calendar(calendar, NOW)["ok"]
    finally:
        server.stop()
    later = NOW + timedelta(hours=1)
    report = sync.sync_calendar(db.session.get(Calendar, calendar.id), later)
    assert not report["ok"]
    assert report["error"].startswith("cannot reach the CalDAV server 127.0.0.1")
    calendar = db.session.get(Calendar, calendar.id)
    assert calendar.last_error == report["error"]
    assert calendar.account.last_error == report["error"] and not calendar.account.broken
    assert calendar.synced_at == NOW
    assert mirror(db, calendar.id) == [Interval(at(3, 9), at(3, 10))]
    assert not sync.mirror_fresh(lawyer, later)
    with pytest.raises(ProviderError, match="calendar 'Work': cannot reach"):
        sync.live_busy(lawyer, Interval(at(3, 8), at(3, 12)))


def test_refused_password_is_recorded_plainly(db, make_lawyer, tmp_path):
    server = start_server("radicale", tmp_path / "auth", htpasswd={USER: "right-password"})
    try:
        lawyer = make_lawyer()
        url = server.make_calendar(unique())
        calendar = connect_calendar(db, lawyer, server, url, password="wrong-password")
        report = sync.sync_calendar(calendar, NOW)
        sync.sync_calendar(db.session.get(Calendar, calendar.id), NOW)  # refused again
    finally:
        server.stop()
    warnings = db.session.scalars(
        sa.select(OutboxTask).where(OutboxTask.kind == "mail.calendar_broken")
    ).all()
    assert len(warnings) == 1  # the lawyer is told once, not at every attempt
    assert report["error"] == (
        "the CalDAV server 127.0.0.1 refused the username or password for 'lawyer' (HTTP 401)"
    )
    calendar = db.session.get(Calendar, calendar.id)
    assert calendar.account.broken
    assert "wrong-password" not in calendar.last_error and "Traceback" not in calendar.last_error


def test_live_busy_asks_every_conflict_calendar(db, make_lawyer, radicale, xandikos):
    lawyer = make_lawyer()
    first = radicale.make_calendar(unique())
    second = xandikos.make_calendar(unique())
    put(radicale, first, "a.ics", at(3, 9))
    put(xandikos, second, "b.ics", at(3, 9, 30))
    connect_calendar(db, lawyer, radicale, first)
    connect_calendar(db, lawyer, xandikos, second)
    busy = sync.live_busy(lawyer, Interval(at(3, 8), at(3, 12)))
    assert busy == [Interval(at(3, 9), at(3, 10, 30))]


def test_mirror_fresh_follows_the_configured_limit(db, app, make_lawyer, radicale):
    lawyer = make_lawyer()
    assert sync.mirror_fresh(lawyer, NOW)  # no calendars: nothing can be stale
    calendar = connect_calendar(db, lawyer, radicale, radicale.make_calendar(unique()))
    assert not sync.mirror_fresh(lawyer, NOW)  # never synced
    sync.sync_calendar(calendar, NOW)
    app.config["CALENDAR_FRESHNESS_MINUTES"] = 30
    assert sync.mirror_fresh(lawyer, NOW + timedelta(minutes=29))
    assert not sync.mirror_fresh(lawyer, NOW + timedelta(minutes=31))


def test_sync_lawyer_reports_progress_and_totals(db, make_lawyer, radicale, xandikos):
    lawyer = make_lawyer()
    good = xandikos.make_calendar(unique())
    put(xandikos, good, "a.ics", at(3, 9))
    connect_calendar(db, lawyer, xandikos, good)
    missing = connect_calendar(db, lawyer, radicale, radicale.url + "lawyer/no-such-calendar/")
    steps = []
    summary = sync.sync_lawyer(lawyer.id, NOW, progress=steps.append)
    assert (summary["calendars"], summary["ok"], summary["failed"]) == (2, 1, 1)
    assert summary["events"] == 1 and summary["changes"] == 1
    assert summary["errors"] == [
        (
            "Work",
            f"the calendar {missing.remote_id} no longer exists on the CalDAV server 127.0.0.1 (HTTP 404)",
        )
    ]
    assert [s["index"] for s in steps] == [1, 1, 2, 2]
    assert db.session.get(Calendar, missing.id).last_error


def test_sync_window_follows_the_longest_client_horizon(db, make_client):
    client, _token = make_client(horizon_days=120)
    window = sync.sync_window(client.lawyer_id, NOW)
    assert window == Interval(NOW - timedelta(days=1), NOW + timedelta(days=120))
    assert sync.sync_window(999, NOW).end == NOW + timedelta(days=90)


def test_sync_due_syncs_stale_calendars_and_backs_off_after_failure(db, app, make_lawyer, xandikos):
    lawyer = make_lawyer()
    good = connect_calendar(db, lawyer, xandikos, xandikos.make_calendar(unique()))
    bad = connect_calendar(db, lawyer, xandikos, xandikos.url + "lawyer/calendars/missing/")
    app.config["SYNC_INTERVAL_SECONDS"] = 300
    assert sync.sync_due(NOW) == {"synced": 1, "failed": 1}
    assert db.session.get(Calendar, good.id).synced_at == NOW
    assert sync.sync_due(NOW + timedelta(seconds=10)) == {"synced": 0, "failed": 0}
    assert sync.sync_due(NOW + timedelta(seconds=301)) == {"synced": 1, "failed": 1}
    assert db.session.get(Calendar, bad.id).last_error


def test_live_busy_fails_closed_on_an_unusable_account(db, make_lawyer, xandikos):
    lawyer = make_lawyer()
    calendar = connect_calendar(db, lawyer, xandikos, xandikos.make_calendar(unique()))
    calendar.account.kind = "outlook"  # no such provider (yet)
    db.session.commit()
    with pytest.raises(ProviderError, match="calendar 'Work' could not be checked"):
        sync.live_busy(lawyer, Interval(at(3, 8), at(3, 12)))


def test_sync_that_changes_nothing_keeps_the_cached_offer(db, make_lawyer, make_client, server):
    """Regression (#19): every sync moved ``synced_at``, which was part of the slot cache's
    key, so a sync with zero changes turned the next request into a full recomputation.
    Freshness is now read outside the key: the offer stays cached, while a real change
    (or the mirror growing too old) still counts at once."""
    from freezegun import freeze_time

    from service.usecases.availability import AvailabilityUnknown, fresh_slots_for, slots_for
    from service.usecases.slot_cache import slot_cache

    lawyer = make_lawyer()
    booked_client, _ = make_client(lawyer=lawyer)
    url = server.make_calendar(unique())
    calendar = connect_calendar(db, lawyer, server, url)
    with freeze_time(NOW):
        assert sync.sync_calendar(calendar, NOW)["ok"]
        db.session.commit()
        offered = slots_for(booked_client, NOW)
        assert offered
    cache = slot_cache()
    later = NOW + timedelta(minutes=5)
    with freeze_time(later):
        report = sync.sync_calendar(db.session.get(Calendar, calendar.id), later)
        assert report["ok"] and report["changes"] == 0
        db.session.commit()
        assert db.session.get(Calendar, calendar.id).synced_at == later
        misses = cache.misses
        assert slots_for(booked_client, later) == fresh_slots_for(booked_client, later)
        assert cache.misses == misses, "a sync that changed nothing recomputed the offer"

        # A real change still reaches the offer at the next read.
        taken = offered[0]
        put(server, url, "hearing.ics", taken.start, hours=1)
        report = sync.sync_calendar(db.session.get(Calendar, calendar.id), later)
        assert report["ok"] and report["changes"] == 1
        db.session.commit()
        assert taken not in slots_for(booked_client, later)
        assert cache.misses == misses + 1

    # Freshness still fails closed, from the cached offer too (30 minutes by default).
    stale = later + timedelta(minutes=31)
    with freeze_time(stale), pytest.raises(AvailabilityUnknown):
        slots_for(booked_client, stale)
