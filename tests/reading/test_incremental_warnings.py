"""Reading warnings follow incremental CalDAV syncs object by object, like the mirror:
an object re-read replaces its warnings, an unchanged one keeps them, a deleted one
loses them; the BusyBlock keys stay the object hrefs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from service.calendars import sync
from service.storage.models import BusyBlock, Calendar
from tests.calendar_servers import USER, delete_ics, put_ics, unique

from .test_calendars_page import add_calendar
from .variants import BY_NAME, GOOD_EVENT, vcalendar

pytestmark = pytest.mark.db_matrix

NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)


def dense(uid: str, day: str) -> str:
    event = BY_NAME["every_ten_minutes_until"].events[0].replace("case@example.com", uid)
    return vcalendar(event.replace("20270310T000000Z", f"202703{day}T000000Z")
                     .replace("UNTIL=20270312T000000Z", f"UNTIL=202703{int(day) + 1:02d}T000000Z"))


def names(stored: dict | None) -> set[str]:
    return {key.rsplit("/", 1)[-1] for key in stored or {}}


def test_incremental_sync_replaces_warnings_per_object(db, make_lawyer, server):
    lawyer = make_lawyer()
    url = server.make_calendar(unique("incr"))
    put_ics(url, "good.ics", vcalendar(GOOD_EVENT), server.password())
    put_ics(url, "a.ics", dense("a@example.com", "10"), server.password())
    put_ics(url, "b.ics", dense("b@example.com", "15"), server.password())
    calendar = add_calendar(db, lawyer, "caldav", {"url": server.url, "username": USER},
                            {"password": server.password()}, url)
    assert sync.sync_calendar(calendar, NOW)["full"]
    assert names(db.session.get(Calendar, calendar.id).read_warnings) == {"a.ics", "b.ics"}

    put_ics(url, "a.ics", vcalendar(GOOD_EVENT.replace("good@", "a@").replace("20270420", "20270421")),
            server.password())
    report = sync.sync_calendar(db.session.get(Calendar, calendar.id), NOW + timedelta(minutes=5))
    assert report["ok"] and not report["full"]
    assert names(db.session.get(Calendar, calendar.id).read_warnings) == {"b.ics"}

    delete_ics(url + "b.ics", server.password())
    report = sync.sync_calendar(db.session.get(Calendar, calendar.id), NOW + timedelta(minutes=10))
    assert report["ok"] and not report["full"]
    assert db.session.get(Calendar, calendar.id).read_warnings is None
    keys = set(db.session.scalars(sa.select(BusyBlock.key).where(BusyBlock.calendar_id == calendar.id)))
    assert {k.rsplit("/", 1)[-1] for k in keys} == {"good.ics", "a.ics"}
