"""CalDAVProvider against real Radicale and Xandikos: discovery, sync, write-back, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import caldav
import pytest

from booking.intervals import Interval
from service.calendars.base import AuthError, OutgoingEvent, ProviderError
from service.calendars.caldav import davsync
from service.calendars.caldav.provider import CalDAVProvider, href_name
from service.calendars.netguard import BlockedHost
from tests.calendar_servers import USER, delete_ics, event_ics, put_ics, start_server, unique

from .conftest import BERLIN

NOW = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW = Interval(NOW - timedelta(days=1), NOW + timedelta(days=90))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")


def put_event(url: str, name: str, start: datetime, hours: float = 1, server=None) -> None:
    uid = name.removesuffix(".ics") + "@example.com"
    text = event_ics(uid, stamp(start), stamp(start + timedelta(hours=hours)))
    put_ics(url, name, text, server.password() if server else "x")


def flat(result) -> list[Interval]:
    return sorted(i for spans in result.changed.values() for i in spans)


# -- discovery ---------------------------------------------------------------------------


def test_list_calendars_discovers_the_principals_calendars(server, provider):
    url = server.make_calendar(unique("work"))
    found = {c.id: c.name for c in provider.list_calendars()}
    assert url in found
    assert found[url] == url.rstrip("/").rsplit("/", 1)[1]


def test_a_calendar_url_is_that_one_calendar(server, connect):
    url = server.make_calendar(unique("only"))
    server.make_calendar(unique("other"))
    provider = CalDAVProvider(
        {"url": url, "username": USER}, {"password": server.password()}, BERLIN, allow_private=True
    )
    try:
        assert [c.id for c in provider.list_calendars()] == [url]
    finally:
        provider.close()


# -- sync --------------------------------------------------------------------------------


def test_second_sync_without_changes_changes_nothing(server, provider):
    url = server.make_calendar(unique())
    put_event(url, "a.ics", at(2, 9), server=server)
    first = provider.sync(url, None, WINDOW)
    assert first.full and flat(first) == [Interval(at(2, 9), at(2, 10))]
    second = provider.sync(url, first.state, WINDOW)
    assert not second.full
    assert second.changed == {} and second.deleted == set()
    assert second.requests <= 2


def test_incremental_sync_reports_changes_and_deletions(server, provider):
    url = server.make_calendar(unique())
    put_event(url, "a.ics", at(2, 9), server=server)
    put_event(url, "b.ics", at(3, 9), server=server)
    first = provider.sync(url, None, WINDOW)
    put_event(url, "a.ics", at(2, 14), server=server)  # moved
    delete_ics(url + "b.ics", server.password())
    put_event(url, "c.ics", at(4, 9), hours=2, server=server)  # new
    second = provider.sync(url, first.state, WINDOW)
    assert not second.full
    path = url.split(str(server.port), 1)[1]
    assert second.changed == {
        path + "a.ics": [Interval(at(2, 14), at(2, 15))],
        path + "c.ics": [Interval(at(4, 9), at(4, 11))],
    }
    assert second.deleted == {path + "b.ics"}


def test_an_event_moved_out_of_the_window_leaves_it(server, provider):
    url = server.make_calendar(unique())
    put_event(url, "a.ics", at(2, 9), server=server)
    first = provider.sync(url, None, WINDOW)
    put_event(url, "a.ics", NOW + timedelta(days=200), server=server)
    second = provider.sync(url, first.state, WINDOW)
    assert list(second.changed.values()) == [[]]  # the key stays, with no busy time


def test_invalid_sync_token_means_full_resync(server, provider):
    url = server.make_calendar(unique())
    put_event(url, "a.ics", at(2, 9), server=server)
    first = provider.sync(url, None, WINDOW)
    state = json.loads(first.state)
    assert state["mode"] == "sync"
    state["token"] = state["token"][:-6] + "ffffff"
    again = provider.sync(url, json.dumps(state), WINDOW)
    assert again.full and flat(again) == [Interval(at(2, 9), at(2, 10))]


def test_sliding_window_picks_up_events_beyond_the_old_end(server, provider):
    url = server.make_calendar(unique())
    later = WINDOW.end + timedelta(days=3)
    put_event(url, "far.ics", later, server=server)
    first = provider.sync(url, None, WINDOW)
    assert flat(first) == []
    moved = Interval(WINDOW.start + timedelta(days=5), WINDOW.end + timedelta(days=5))
    second = provider.sync(url, first.state, moved)
    assert not second.full
    assert flat(second) == [Interval(later, later + timedelta(hours=1))]


def test_ctag_etag_fallback_finds_the_changed_object(server, provider):
    """For servers without sync-collection: ctag unchanged -> nothing; else ETag diff."""
    url = server.make_calendar(unique())
    put_event(url, "a.ics", at(2, 9), server=server)
    put_event(url, "b.ics", at(3, 9), server=server)
    syncer = davsync.CalendarSync(provider.client(), url, BERLIN, lambda: provider.requests)
    first = syncer._full(WINDOW, prefer="etag")
    assert json.loads(first.state)["mode"] == "etag"
    quiet = provider.sync(url, first.state, WINDOW)
    assert not quiet.full and quiet.changed == {} and quiet.requests == 1
    put_event(url, "a.ics", at(2, 16), server=server)
    changed = provider.sync(url, first.state, WINDOW)
    assert not changed.full
    assert list(changed.changed.values()) == [[Interval(at(2, 16), at(2, 17))]]
    assert changed.requests == 3  # ctag, ETags, one multiget


def test_multiget_loads_in_batches(server, provider, monkeypatch):
    url = server.make_calendar(unique())
    first = provider.sync(url, None, WINDOW)
    server.bulk_load(
        url,
        [
            (
                f"n{i}.ics",
                event_ics(
                    f"n{i}@x",
                    stamp(at(5, 8) + timedelta(hours=i)),
                    stamp(at(5, 8) + timedelta(hours=i, minutes=30)),
                ),
            )
            for i in range(25)
        ],
    )
    monkeypatch.setattr(davsync, "BATCH", 10)
    second = provider.sync(url, first.state, WINDOW)
    assert len(second.changed) == 25
    assert second.requests == 4  # sync-collection + 3 multigets of 10, 10, 5


# -- write-back --------------------------------------------------------------------------


def outgoing(uid="b1-call@counselhours", start=None, **kw) -> OutgoingEvent:
    start = start or at(10, 9)
    return OutgoingEvent(
        uid=uid,
        start=start,
        end=start + timedelta(minutes=30),
        summary=kw.pop("summary", "Call: Anna Client"),
        description=kw.pop("description", "Agenda: lease dispute\n\nManage: https://x/m/1"),
        attendee_email="anna@example.com",
        attendee_name="Anna Client",
    )


def others_view(server, url: str) -> list:
    """What a second, independent CalDAV client sees in the calendar."""
    with caldav.DAVClient(url=url, username=USER, password=server.password()) as client:
        return client.calendar(url=url).get_events()


def test_written_event_is_seen_by_another_client(server, provider):
    url = server.make_calendar(unique())
    provider.put_event(url, outgoing())
    events = others_view(server, url)
    assert len(events) == 1
    vevent = events[0].icalendar_component
    assert str(vevent["UID"]) == "b1-call@counselhours"
    assert str(vevent["SUMMARY"]) == "Call: Anna Client"
    assert "lease dispute" in str(vevent["DESCRIPTION"])
    assert str(vevent["ATTENDEE"]) == "mailto:anna@example.com"
    assert vevent["ATTENDEE"].params["CN"] == "Anna Client"
    assert vevent["DTSTART"].dt == at(10, 9)
    assert str(events[0].url).endswith(href_name("b1-call@counselhours"))


def test_put_twice_leaves_one_event_with_the_latest_data(server, provider):
    url = server.make_calendar(unique())
    provider.put_event(url, outgoing())
    provider.put_event(url, outgoing(start=at(11, 15), summary="Call: Anna Client (moved)"))
    events = others_view(server, url)
    assert len(events) == 1
    assert events[0].icalendar_component["DTSTART"].dt == at(11, 15)


def test_retry_after_a_lost_put_response_does_not_duplicate(server, connect):
    """The first PUT reached the server but its answer was lost; the retry overwrites."""
    url = server.make_calendar(unique())
    first = connect(server)
    first.put_event(url, outgoing())
    first.close()  # the worker died before recording success
    retry = connect(server)
    retry.put_event(url, outgoing())
    assert len(others_view(server, url)) == 1


def test_delete_removes_both_events_and_tolerates_missing(server, provider):
    url = server.make_calendar(unique())
    provider.put_event(url, outgoing("b2-call@counselhours"))
    provider.put_event(url, outgoing("b2-prep@counselhours", start=at(10, 8)))
    assert len(others_view(server, url)) == 2
    provider.delete_event(url, "b2-call@counselhours")
    provider.delete_event(url, "b2-prep@counselhours")
    assert others_view(server, url) == []
    provider.delete_event(url, "b2-call@counselhours")  # already gone: fine


def test_own_events_are_not_read_back_as_busy(server, provider):
    url = server.make_calendar(unique())
    provider.put_event(url, outgoing())
    assert provider.busy(url, WINDOW) == []
    assert flat(provider.sync(url, None, WINDOW)) == []


# -- failures ----------------------------------------------------------------------------


def test_server_down_is_a_provider_error(tmp_path, connect):
    server = start_server("xandikos", tmp_path / "down")
    url = server.make_calendar(unique())
    provider = connect(server)
    state = provider.sync(url, None, WINDOW).state
    server.stop()
    with pytest.raises(ProviderError, match="cannot reach the CalDAV server 127.0.0.1"):
        provider.sync(url, state, WINDOW)
    with pytest.raises(ProviderError, match="cannot reach"):
        provider.busy(url, WINDOW)


@pytest.fixture(scope="module")
def radicale_with_passwords(tmp_path_factory):
    server = start_server("radicale", tmp_path_factory.mktemp("auth"), htpasswd={USER: "s3cret-pw"})
    yield server
    server.stop()


def test_wrong_password_is_an_auth_error_without_the_password(radicale_with_passwords):
    server = radicale_with_passwords
    provider = CalDAVProvider(
        {"url": server.url, "username": USER}, {"password": "wrong-pw"}, BERLIN, allow_private=True
    )
    try:
        with pytest.raises(AuthError) as caught:
            provider.list_calendars()
    finally:
        provider.close()
    message = str(caught.value)
    assert (
        message
        == "the CalDAV server 127.0.0.1 refused the username or password for 'lawyer' (HTTP 401)"
    )
    assert "wrong-pw" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_right_password_works(radicale_with_passwords):
    server = radicale_with_passwords
    url = server.make_calendar(unique())
    provider = CalDAVProvider(
        {"url": server.url, "username": USER}, {"password": "s3cret-pw"}, BERLIN, allow_private=True
    )
    try:
        assert url in [c.id for c in provider.list_calendars()]
    finally:
        provider.close()


def test_loopback_url_refused_unless_allowed(radicale):
    provider = CalDAVProvider(
        {"url": radicale.url, "username": USER}, {"password": "x"}, BERLIN, allow_private=False
    )
    try:
        with pytest.raises(BlockedHost, match="127.0.0.1 resolves to 127.0.0.1, a private"):
            provider.list_calendars()
    finally:
        provider.close()
