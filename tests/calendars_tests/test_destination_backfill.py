"""Calls booked before a destination calendar is chosen are written once it is chosen;
an account with one writable calendar gets it as the destination by default. Against
real Radicale and Xandikos."""

from __future__ import annotations

from datetime import timedelta

import niquests
import sqlalchemy as sa

from service.calendars.writeback import event_uid
from service.jobs import worker
from service.storage.models import Calendar, OutboxTask, utcnow
from service.usecases import calendar_connect, steer
from tests.admin.conftest import admin, lawyer, post  # noqa: F401 - signed-in admin fixtures
from tests.calendar_servers import USER, unique

from .conftest import make_provider


def _book(make_client):
    client, _ = make_client()
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    return steer.book_for_client(client, start, "Clause 4", utcnow(), steer.Override(terms=True))


def _stored_call(server, remote_id, booking) -> str:
    """The call's iCalendar object as the server stores it (our own events are not busy
    time for us, so they are fetched by their deterministic URL)."""
    provider = make_provider(server)
    try:
        url = provider.event_url(remote_id, event_uid(booking, "call"))
        response = niquests.get(url, auth=(USER, server.password()), timeout=10)
    finally:
        provider.close()
    assert response.status_code == 200, (url, response.status_code)
    return response.text


def test_regression_calls_booked_before_the_destination_are_written_once_it_is_chosen(
    app, db, make_client, server
):
    """Calls booked while no destination calendar existed were never written to it."""
    booking = _book(make_client)
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(OutboxTask)
                                 .where(OutboxTask.kind == "calendar.put"))
    server.make_calendar(unique("a"))
    server.make_calendar(unique("b"))
    connected = calendar_connect.connect(booking.lawyer, "caldav", server.url, USER, server.password())
    assert not connected.default_destination  # several calendars: the lawyer chooses
    assert not calendar_connect.has_destination(booking.lawyer)
    target = connected.calendars[0]
    calendar_connect.set_choices(connected.account, {c.id for c in connected.calendars}, target.id)
    db.session.commit()
    worker.run_once()
    assert booking.uid in _stored_call(server, target.remote_id, booking)


def test_one_writable_calendar_becomes_the_destination_and_gets_earlier_calls(app, db, make_client, server):
    booking = _book(make_client)
    url = server.make_calendar(unique("only"))
    connected = calendar_connect.connect(booking.lawyer, "caldav", url, USER, server.password())
    assert connected.default_destination
    (calendar,) = db.session.scalars(sa.select(Calendar).where(Calendar.write_to.is_(True)))
    worker.run_once()
    assert "Clause 4" in _stored_call(server, calendar.remote_id, booking)


def _connect_in_the_admin(http, url: str, password: str):
    response = post(http, "/admin/calendars/caldav", {"url": url, "username": USER, "password": password},
                    token_from="/admin/calendars")
    assert response.status_code == 302, response.get_data(as_text=True)
    return http.get(response.headers["Location"]).get_data(as_text=True)


def test_regression_connecting_without_a_destination_says_so_plainly(admin, db, server):  # noqa: F811
    """Connecting an account of several calendars left calls unwritten without a word."""
    server.make_calendar(unique("a"))
    server.make_calendar(unique("b"))
    page = _connect_in_the_admin(admin, server.url, server.password())
    assert "Calls are not written to any calendar yet: choose below where they go." in page


def test_connecting_an_account_of_one_writable_calendar_names_it_as_the_destination(admin, db, server):  # noqa: F811
    url = server.make_calendar(unique("only"))
    page = _connect_in_the_admin(admin, url, server.password())
    assert "the account&#39;s only writable calendar" in page or "the account's only writable calendar" in page
    (calendar,) = db.session.scalars(sa.select(Calendar).where(Calendar.write_to.is_(True)))
    assert calendar.name in page
