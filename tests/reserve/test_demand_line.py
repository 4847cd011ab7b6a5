"""The demand line on the booking page matches counts made independently in the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.storage.models import BusyBlock, Calendar, CalendarAccount
from tests.letters.conftest import add_booking

pytestmark = pytest.mark.db_matrix

NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)  # Monday 09:00 in Berlin


def covered_minutes(windows, taken):
    """Minutes (by the minute, in UTC) of the windows that ``taken`` covers: the test's own count."""
    def minute_set(spans):
        out = set()
        for start, end in spans:
            t = start
            while t < end:
                out.add(t)
                t += timedelta(minutes=1)
        return out
    agreed = minute_set(windows)
    return len(agreed & minute_set(taken)), len(agreed)


def test_demand_text_matches_independent_counts(frozen, client, db, make_lawyer, make_client):
    lawyer = make_lawyer()
    boris, token = make_client(lawyer=lawyer, windows="mon 10:00-12:00,wed 14:00-16:00", prep_min=30)
    make_client(lawyer=lawyer, name="Vera", email="vera@client.example", windows="wed 15:00-17:00,thu 10:00-12:00")
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="feed", config={})
    account.calendars.append(Calendar(lawyer_id=lawyer.id, remote_id="r", name="Court", synced_at=NOW))
    db.session.add(account)
    db.session.flush()
    busy = (datetime(2026, 3, 2, 10, tzinfo=UTC), datetime(2026, 3, 2, 10, 30, tzinfo=UTC))  # Mon 11:00-11:30
    db.session.add(BusyBlock(calendar_id=account.calendars[0].id, lawyer_id=lawyer.id, key="k",
                             start=busy[0], end=busy[1]))
    db.session.commit()
    call = add_booking(db, boris, datetime(2026, 3, 4, 13, 30, tzinfo=UTC), minutes=30, prep=30)  # Wed 14:30
    add_booking(db, boris, datetime(2026, 3, 11, 13, tzinfo=UTC))  # next week: not counted

    # Berlin is UTC+1 in March: the week's windows in UTC.
    windows = [(datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 11, tzinfo=UTC)),
               (datetime(2026, 3, 4, 13, tzinfo=UTC), datetime(2026, 3, 4, 16, tzinfo=UTC)),  # 14-16 ∪ 15-17
               (datetime(2026, 3, 5, 9, tzinfo=UTC), datetime(2026, 3, 5, 11, tzinfo=UTC))]
    taken, agreed = covered_minutes(windows, [busy, (call.blocked_start, call.blocked_end)])
    assert (taken, agreed) == (90, 420)

    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert "This week 1.5 of 7 agreed hours are booked." in page
    assert "The next free time is Tuesday 3 March" not in page  # Boris has no Tuesday window
    first_slot = page.split('data-slot-start="')[1].split('"')[0]
    assert first_slot == "2026-03-04T14:30:00+00:00"  # Wednesday 15:30 Berlin, after the booked call
    assert "The next free time is Wednesday 4 March 3:30" in page.replace("\u202f", " ")


def test_demand_text_in_russian_and_switched_off(frozen, client, db, make_lawyer, make_client):
    lawyer = make_lawyer()
    _boris, token = make_client(lawyer=lawyer, windows="mon 10:00-12:00,wed 14:00-16:00", language="ru")
    page = client.get(f"/b/{token}").get_data(as_text=True)
    assert "На этой неделе занято 0 из 4 согласованных часов." in page
    lawyer.show_demand = False
    db.session.commit()
    assert "data-demand" not in client.get(f"/b/{token}").get_data(as_text=True)
