"""The call's channel in the event written to the lawyer's CalDAV calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.usecases import bookings, channels

from .test_sync_db import connect_calendar
from .test_writeback import CALL, NOW, run_outbox, seen

pytestmark = pytest.mark.db_matrix


def _book(client, start, choice=None):
    contact = bookings.validate_contact("Boris Petrov", "boris@client.example", "Lease dispute")
    if choice is not None:
        from dataclasses import replace

        contact = replace(contact, channel=choice)
    booking, _ = bookings.book(client, start, contact, NOW)
    return booking


def test_video_links_unique_per_call_in_the_calendar_events(db, make_client, server):
    from tests.calendar_servers import unique

    client, _ = make_client()
    url = server.make_calendar(unique())
    connect_calendar(db, client.lawyer, server, url, write_to=True)
    first = _book(client, CALL)
    second = _book(client, CALL + timedelta(hours=1))
    assert run_outbox(NOW)["failed"] == 0
    events = seen(server, url)
    links = set()
    for booking in (first, second):
        call = events[f"{booking.uid}-call@counselhours"]
        assert str(call["LOCATION"]) == booking.join_url
        assert str(call["URL"]) == booking.join_url
        assert booking.join_url in str(call["DESCRIPTION"])
        prep = events[f"{booking.uid}-prep@counselhours"]
        assert booking.join_url in str(prep["DESCRIPTION"])
        links.add(booking.join_url)
    assert len(links) == 2 and all(link.startswith("https://meet.jit.si/CounselHours-") for link in links)


def test_phone_call_event_names_the_number(db, make_client, server):
    from tests.calendar_servers import unique

    client, _ = make_client(channels="phone")
    url = server.make_calendar(unique())
    connect_calendar(db, client.lawyer, server, url, write_to=True)
    booking = _book(client, CALL, channels.choose(client, "phone", "+7 912 345-67-89"))
    assert run_outbox(NOW)["failed"] == 0
    call = seen(server, url)[f"{booking.uid}-call@counselhours"]
    assert str(call["LOCATION"]) == "+7 912 345-67-89"
    assert "call the client on +7 912 345-67-89" in str(call["DESCRIPTION"])
