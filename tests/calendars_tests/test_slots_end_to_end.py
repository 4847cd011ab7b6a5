"""From the calendar files on a real server to the slots a client is offered.

Every case file goes into one calendar; after a sync no offered slot (call plus its prep
block) overlaps a busy occurrence, free agreed windows still offer slots, and a busy
event added after the sync is caught by the live check when booking.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.intervals import BusyIndex, Interval
from service.calendars import sync
from service.usecases import availability, bookings
from service.usecases.errors import Refused
from service.web.errors import status_of
from tests.calendar_servers import event_ics, put_ics, unique

from .cases import EXPECTED, ics
from .conftest import split_by_uid
from .test_sync_db import connect_calendar

NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)  # a Sunday, before every case
WEEKDAYS = ",".join(f"{d} 08:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri"))


@pytest.fixture(scope="module")
def all_cases() -> dict[str, str]:
    """server name -> URL of one calendar holding every case file (filled on first use)."""
    return {}


@pytest.fixture
def lawyer_with_calendar(db, make_client, server, all_cases):
    client, _token = make_client(
        windows=WEEKDAYS, duration_min=30, prep_min=15, step_min=15, horizon_days=62
    )
    if server.name not in all_cases:
        url = server.make_calendar(unique("all-cases"))
        for name in sorted(EXPECTED):
            for index, (_uid, text) in enumerate(split_by_uid(ics(name))):
                put_ics(url, f"{name}-{index}.ics", text, server.password())
        all_cases[server.name] = url
    url = all_cases[server.name]
    calendar = connect_calendar(db, client.lawyer, server, url)
    assert sync.sync_calendar(calendar, NOW)["ok"]
    return client, url


def test_no_offered_slot_overlaps_a_busy_occurrence(lawyer_with_calendar):
    client, _url = lawyer_with_calendar
    busy = BusyIndex(i for spans in EXPECTED.values() for i in spans)
    slots = availability.slots_for(client, NOW)
    assert len(slots) > 500
    for slot in slots:
        blocked = Interval(slot.prep_start, slot.blocked_end)
        assert busy.is_free(blocked), (slot, busy.overlapping(blocked))


def test_free_windows_still_offer_slots(lawyer_with_calendar):
    client, _url = lawyer_with_calendar
    monday = [
        s for s in availability.slots_for(client, NOW) if s.start.date().isoformat() == "2027-03-08"
    ]
    # 08:00-18:00 Berlin = 07:00-17:00 UTC, a call every 15 minutes.
    assert monday[0].start == datetime(2027, 3, 8, 7, 0, tzinfo=UTC)
    assert monday[-1].end == datetime(2027, 3, 8, 17, 0, tzinfo=UTC)
    assert len(monday) == 39


def test_all_day_event_blocks_the_whole_berlin_day(lawyer_with_calendar):
    client, _url = lawyer_with_calendar
    days = {s.start.date().isoformat() for s in availability.slots_for(client, NOW)}
    assert not days & {"2027-03-15", "2027-03-16", "2027-03-17"}


@pytest.mark.db_matrix
def test_event_added_after_the_sync_is_caught_when_booking(db, lawyer_with_calendar, server):
    client, _url = lawyer_with_calendar
    late = server.make_calendar(unique("late"))  # a second conflict calendar, synced empty
    assert sync.sync_calendar(connect_calendar(db, client.lawyer, server, late), NOW)["ok"]
    start = datetime(2027, 3, 8, 9, 0, tzinfo=UTC)
    assert start in {s.start for s in availability.slots_for(client, NOW)}
    put_ics(
        late,
        "late.ics",
        event_ics("late@example.com", "20270308T090000Z", "20270308T093000Z"),
        server.password(),
    )
    assert start in {s.start for s in availability.slots_for(client, NOW)}  # mirror: stale
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease")
    with pytest.raises(Refused) as refused:
        bookings.book(client, start, contact, NOW)
    assert status_of(refused.value) == 409
    booking, _token = bookings.book(client, start + timedelta(hours=1), contact, NOW)
    assert booking.start == start + timedelta(hours=1)
