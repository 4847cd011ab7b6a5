"""The calendars page names the events a sync could not read exactly, on both paths
(a feed file, real Radicale), and the rest of the calendar stays trusted: the sync
succeeds, the mirror holds the other events, the slots avoid the fail-closed time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from booking.intervals import Interval
from service.calendars import sync
from service.core.crypto import encrypt_json
from service.storage.models import BusyBlock, Calendar, CalendarAccount
from service.usecases import availability
from tests.admin.conftest import PASSWORD, log_in
from tests.calendar_servers import USER, put_ics, unique

from .variants import APPLE, BY_NAME, GOOD, GOOD_EVENT, vcalendar

pytestmark = pytest.mark.db_matrix

NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
UNREADABLE = BY_NAME["unknown_frequency"]  # busy over its first instance
NO_START = BY_NAME["event_without_dtstart"]
DENSE = BY_NAME["every_ten_minutes_until"]  # 10-12 March


def feed_text() -> str:
    """One calendar with each kind of trouble, renamed so each is told apart."""
    return vcalendar(
        UNREADABLE.events[0],
        NO_START.events[0].replace("case@example.com", "nostart@example.com").replace(
            "SUMMARY:Board meeting", "SUMMARY:Partners lunch"),
        DENSE.events[0].replace("case@example.com", "dense@example.com"),
        *(e.replace("case@example.com", "apple@example.com") for e in APPLE[0].events),
        GOOD_EVENT,
    )


@pytest.fixture
def lawyer(make_lawyer):
    from werkzeug.security import generate_password_hash

    return make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))


def add_calendar(db, lawyer, kind: str, config: dict, secret: dict, remote_id: str) -> Calendar:
    account = CalendarAccount(lawyer_id=lawyer.id, kind=kind, label="test", config=config,
                              secret_enc=encrypt_json(secret))
    calendar = Calendar(lawyer_id=lawyer.id, remote_id=remote_id, name="Work")
    account.calendars.append(calendar)
    db.session.add(account)
    db.session.commit()
    return calendar


def page(client, lawyer) -> str:
    assert log_in(client, lawyer.email).status_code == 302
    response = client.get("/admin/calendars")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def check_page(text: str) -> None:
    assert "Could not read event «Board meeting»:" in text and "Treated as busy from" in text
    assert "Could not read event «Partners lunch»: it has no start time (DTSTART)" in text
    assert "Event «Ping» repeats more often than every 15 minutes; treated as busy from" in text
    assert "Weekly" not in text  # the Apple event was read exactly: nothing to say


def mirror(db, calendar_id: int) -> list[Interval]:
    rows = db.session.execute(sa.select(BusyBlock.start, BusyBlock.end)
                              .where(BusyBlock.calendar_id == calendar_id).order_by(BusyBlock.start))
    return [Interval(s, e) for s, e in rows]


def test_feed_sync_names_unreadable_events_on_the_calendars_page(db, client, lawyer, tmp_path):
    path = tmp_path / "work.ics"
    path.write_text(feed_text(), encoding="utf-8")
    calendar = add_calendar(db, lawyer, "ics", {"url": str(path)}, {}, "feed")
    report = sync.sync_calendar(calendar, NOW)
    assert report["ok"], report
    busy = mirror(db, calendar.id)
    assert GOOD in busy
    assert Interval(datetime(2027, 3, 2, 10, tzinfo=UTC), datetime(2027, 3, 2, 11, tzinfo=UTC)) in busy
    stored = db.session.get(Calendar, calendar.id).read_warnings
    assert sorted(stored) == ["case@example.com", "dense@example.com", "nostart@example.com"]
    check_page(page(client, lawyer))


def test_russian_calendars_page_names_them_too(db, client, lawyer, tmp_path):
    path = tmp_path / "work.ics"
    path.write_text(feed_text(), encoding="utf-8")
    calendar = add_calendar(db, lawyer, "ics", {"url": str(path)}, {}, "feed")
    assert sync.sync_calendar(calendar, NOW)["ok"]
    assert log_in(client, lawyer.email).status_code == 302
    text = client.get("/admin/calendars", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "Не удалось прочитать событие «Board meeting»" in text
    assert "Событие «Ping» повторяется чаще чем раз в 15 минут" in text


def test_warnings_go_when_the_event_is_fixed(db, lawyer, tmp_path):
    path = tmp_path / "work.ics"
    path.write_text(feed_text(), encoding="utf-8")
    calendar = add_calendar(db, lawyer, "ics", {"url": str(path)}, {}, "feed")
    assert sync.sync_calendar(calendar, NOW)["ok"]
    path.write_text(vcalendar(GOOD_EVENT), encoding="utf-8")
    assert sync.sync_calendar(db.session.get(Calendar, calendar.id), NOW)["ok"]
    assert db.session.get(Calendar, calendar.id).read_warnings is None


def test_slots_avoid_the_fail_closed_time(db, make_client, tmp_path):
    client, _token = make_client(windows="tue 09:00-13:00,wed 09:00-13:00", duration_min=30,
                                 prep_min=0, step_min=30, horizon_days=20)
    path = tmp_path / "work.ics"
    path.write_text(feed_text(), encoding="utf-8")
    calendar = add_calendar(db, client.lawyer, "ics", {"url": str(path)}, {}, "feed")
    assert sync.sync_calendar(calendar, NOW)["ok"]
    starts = {s.start for s in availability.slots_for(client, NOW)}
    # Tuesday 2 March, 10:00-11:00 UTC: the unreadable series' first instance.
    assert datetime(2027, 3, 2, 10, tzinfo=UTC) not in starts
    assert datetime(2027, 3, 2, 10, 30, tzinfo=UTC) not in starts
    assert datetime(2027, 3, 2, 9, tzinfo=UTC) in starts
    # Wednesday 10 March: the every-ten-minutes rule is busy all day.
    assert not {s for s in starts if s.date().isoformat() == "2027-03-10"}
    assert {s for s in starts if s.date().isoformat() == "2027-03-09"}


def test_caldav_sync_names_unreadable_objects_on_the_calendars_page(db, client, lawyer, server):
    """Radicale refuses the unreadable object over HTTP; Xandikos takes it (and fails its
    own time-range REPORT over it, so the reader asks for every object)."""
    url = server.make_calendar(unique("page"))
    put_ics(url, "good.ics", vcalendar(GOOD_EVENT), server.password())
    apple = (e.replace("case@example.com", "apple@example.com") for e in APPLE[0].events)
    put_ics(url, "apple.ics", vcalendar(*apple), server.password())
    dense = DENSE.events[0].replace("case@example.com", "dense@example.com")
    put_ics(url, "dense.ics", vcalendar(dense), server.password())
    if server.name == "xandikos":
        put_ics(url, "odd.ics", vcalendar(UNREADABLE.events[0]), server.password())
    calendar = add_calendar(db, lawyer, "caldav", {"url": server.url, "username": USER},
                            {"password": server.password()}, url)
    report = sync.sync_calendar(calendar, NOW)
    assert report["ok"], report
    assert GOOD in mirror(db, calendar.id)
    stored = db.session.get(Calendar, calendar.id).read_warnings
    expected = {"dense.ics", "odd.ics"} if server.name == "xandikos" else {"dense.ics"}
    assert {key.rsplit("/", 1)[-1] for key in stored} == expected
    text = page(client, lawyer)
    assert "Event «Ping» repeats more often than every 15 minutes; treated as busy from" in text
    assert ("Could not read event «Board meeting»" in text) == (server.name == "xandikos")
