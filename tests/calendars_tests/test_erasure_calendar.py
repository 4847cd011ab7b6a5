"""Erasure reaches the lawyer's calendar: the events we wrote are deleted from Radicale
(searched afterwards through CalDAV and in the server's own files), and a lawyer who keeps
agendas out of the calendar gets events titled "Call: <client>" only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.jobs import worker
from service.storage import outbox
from service.storage.models import utcnow
from service.usecases import bookings, privacy
from tests.calendar_servers import unique

from .test_sync_db import connect_calendar
from .test_writeback import seen

pytestmark = pytest.mark.db_matrix

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CALL = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
NAME, EMAIL, AGENDA = "Zinaida Secretclient", "zinaida@secret.example", "Hidden merger of Vostok and Zapad"


def _run_outbox(later: timedelta = timedelta(seconds=1)) -> dict[str, int]:
    assert worker.run_once  # importing the worker registers every outbox handler
    return outbox.run_due(now=utcnow() + later)


def _stored_text(radicale, url: str) -> str:
    """Every file Radicale keeps for the calendar (items and its caches), as text."""
    folder = radicale.folder(url)
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def _book(db, make_client, radicale, **lawyer):
    client, _token = make_client(name=NAME, email=EMAIL)
    for key, value in lawyer.items():
        setattr(client.lawyer, key, value)
    db.session.commit()
    url = radicale.make_calendar(unique())
    connect_calendar(db, client.lawyer, radicale, url, write_to=True)
    contact = bookings.validate_contact(NAME, EMAIL, AGENDA)
    booking, _manage = bookings.book(client, CALL, contact, NOW)
    assert _run_outbox()["failed"] == 0
    return client, booking, url


def test_erasure_deletes_our_events_from_the_lawyers_calendar(db, make_client, radicale):
    client, booking, url = _book(db, make_client, radicale)
    assert len(seen(radicale, url)) == 2
    assert AGENDA in _stored_text(radicale, url)
    erased = privacy.erase_client(client, utcnow())
    assert erased.calendar_deletes == 2
    assert _run_outbox()["done"] == 0  # the deletions wait one lease (a write may be in flight)
    assert _run_outbox(outbox.LEASE + timedelta(seconds=1))["failed"] == 0
    assert seen(radicale, url) == {}
    stored = _stored_text(radicale, url)
    for secret in (NAME, EMAIL, AGENDA):
        assert secret not in stored


def test_title_only_events_carry_no_agenda_nor_address(db, make_client, radicale):
    _client, booking, url = _book(db, make_client, radicale, calendar_agenda=False)
    events = seen(radicale, url)
    call = events[f"{booking.uid}-call@counselhours"]
    assert str(call["SUMMARY"]) == f"Call: {NAME}"
    assert "ATTENDEE" not in call
    stored = _stored_text(radicale, url)
    assert AGENDA not in stored and EMAIL not in stored
