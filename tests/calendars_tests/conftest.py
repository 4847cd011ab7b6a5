"""Fixtures: Radicale and Xandikos started once per session, on free ports.

Every test that takes ``server`` runs against both. Tests create their own calendars
(unique names), so they share the servers without seeing each other's data.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import icalendar
import pytest
from icalendar.error import GloballyUniqueTZIDGuessed

from service.calendars import sync
from service.calendars.caldav.provider import CalDAVProvider
from tests.calendar_servers import PASSWORD, USER, CalendarServer, start_server

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="session")
def radicale(tmp_path_factory) -> Iterator[CalendarServer]:
    server = start_server("radicale", tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xandikos(tmp_path_factory) -> Iterator[CalendarServer]:
    server = start_server("xandikos", tmp_path_factory.mktemp("xandikos"))
    yield server
    server.stop()


@pytest.fixture(params=["radicale", "xandikos"])
def server(request) -> CalendarServer:
    return request.getfixturevalue(request.param)


def make_provider(server: CalendarServer, **kwargs) -> CalDAVProvider:
    return CalDAVProvider(
        {"url": server.principal_url(), "username": USER},
        {"password": server.password() if hasattr(server, "password") else PASSWORD},
        kwargs.pop("tz", BERLIN),
        allow_private=kwargs.pop("allow_private", True),
        **kwargs,
    )


@pytest.fixture
def connect() -> Iterator:
    """``connect(server, **kwargs)`` -> a CalDAVProvider, closed after the test."""
    made: list[CalDAVProvider] = []

    def factory(server: CalendarServer, **kwargs) -> CalDAVProvider:
        made.append(make_provider(server, **kwargs))
        return made[-1]

    yield factory
    for p in made:
        p.close()


@pytest.fixture
def provider(server, connect) -> CalDAVProvider:
    return connect(server)


def split_by_uid(text: str) -> list[tuple[str, str]]:
    """One CalDAV object per UID (RFC 4791 4.1), each with the file's VTIMEZONEs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
        cal = icalendar.Calendar.from_ical(text)
    zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    by_uid: dict[str, list] = {}
    for component in cal.subcomponents:
        if component.name == "VEVENT":
            by_uid.setdefault(str(component["UID"]), []).append(component)
    objects = []
    for uid, components in by_uid.items():
        obj = icalendar.Calendar()
        for key in ("VERSION", "PRODID", "CALSCALE", "X-WR-TIMEZONE"):
            if key in cal:
                obj[key] = cal[key]
        for component in [*zones, *components]:
            obj.add_component(component)
        objects.append((uid, obj.to_ical().decode()))
    return objects


@pytest.fixture
def fresh_schedule() -> Iterator[None]:
    """The scheduler's per-process notes of what it queued when, empty before and after."""
    sync._probe_at.clear()
    sync._queued_at.clear()
    yield
    sync._probe_at.clear()
    sync._queued_at.clear()
