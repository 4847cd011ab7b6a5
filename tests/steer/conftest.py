"""Fixtures for the lawyer's side of calls: a practice with a client, a real iCal file as
the lawyer's busy calendar (read by the real ICS provider, mirrored locally)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.mail.conftest import smtp  # noqa: F401 - the SMTP fixture, for mail checks

BUSY_START = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # Wed 15:00 Berlin, inside the window
BUSY_END = datetime(2026, 3, 4, 14, 30, tzinfo=UTC)

ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//court//EN\r
BEGIN:VEVENT\r
UID:court-1\r
DTSTAMP:20260301T000000Z\r
DTSTART:20260304T140000Z\r
DTEND:20260304T143000Z\r
SUMMARY:Court hearing\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def busy_calendar(tmp_path, db):
    """``busy_calendar(lawyer)``: a conflict calendar from a local .ics file, mirrored."""
    from service.calendars.ics.provider import FEED_ID
    from service.storage.models import BusyBlock, Calendar, CalendarAccount

    def make(lawyer):
        path = tmp_path / "court.ics"
        path.write_text(ICS)
        account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="court.ics", config={"url": str(path)})
        db.session.add(account)
        db.session.flush()
        calendar = Calendar(account_id=account.id, lawyer_id=lawyer.id, remote_id=FEED_ID, name="Court",
                            conflict=True, synced_at=datetime(2026, 3, 2, 7, 59, tzinfo=UTC))
        db.session.add(calendar)
        db.session.flush()
        db.session.add(BusyBlock(calendar_id=calendar.id, lawyer_id=lawyer.id, key="court-1",
                                 start=BUSY_START, end=BUSY_END))
        db.session.commit()
        return calendar

    return make
