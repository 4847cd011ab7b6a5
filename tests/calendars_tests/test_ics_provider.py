"""ICSProvider: a feed over HTTP (ETag / Last-Modified) and a local file."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from booking.intervals import Interval
from service.calendars.base import AuthError, NotFound, ProviderError
from service.calendars.ics.provider import ICSProvider
from service.calendars.icsread import CalendarDataError
from service.calendars.netguard import BlockedHost

from .cases import BERLIN, EXPECTED, FILES, WINDOW, ics


class Feed:
    """A tiny feed server: serves ``body`` with an ETag and honours If-None-Match."""

    def __init__(self) -> None:
        self.body = ics("weekly_rrule_with_exdate")
        self.status = 200
        self.etag = True
        self.requests: list[dict[str, str]] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                feed.requests.append(dict(self.headers))
                data = feed.body.encode()
                tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                if feed.status != 200:
                    self.send_response(feed.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if feed.etag and self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                if feed.etag:
                    self.send_header("ETag", tag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/private/abc123/basic.ics"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed() -> Iterator[Feed]:
    server = Feed()
    yield server
    server.close()


@pytest.fixture
def open_feed() -> Iterator:
    made: list[ICSProvider] = []

    def factory(source: str, *, secret: bool = True, allow_private: bool = True) -> ICSProvider:
        config, hidden = ({}, {"url": source}) if secret else ({"url": source}, {})
        made.append(ICSProvider(config, hidden, BERLIN, allow_private=allow_private))
        return made[-1]

    yield factory
    for provider in made:
        provider.close()


def busy_of(result) -> list[Interval]:
    return sorted(
        Interval(max(i.start, WINDOW.start), min(i.end, WINDOW.end))
        for spans in result.changed.values()
        for i in spans
        if i.start < WINDOW.end
    )


def test_feed_busy_and_sync(feed, open_feed):
    provider = open_feed(feed.url)
    assert provider.busy("feed", WINDOW) == EXPECTED["weekly_rrule_with_exdate"]
    result = provider.sync("feed", None, WINDOW)
    assert result.full and busy_of(result) == EXPECTED["weekly_rrule_with_exdate"]


def test_unchanged_feed_answers_not_modified(feed, open_feed):
    provider = open_feed(feed.url)
    first = provider.sync("feed", None, WINDOW)
    second = provider.sync("feed", first.state, WINDOW)
    assert not second.full and second.changed == {}
    assert feed.requests[-1].get("If-None-Match")
    assert second.requests == 1


def test_changed_feed_is_replaced(feed, open_feed):
    provider = open_feed(feed.url)
    first = provider.sync("feed", None, WINDOW)
    feed.body = ics("duration_not_dtend")
    second = provider.sync("feed", first.state, WINDOW)
    assert second.full and busy_of(second) == EXPECTED["duration_not_dtend"]


def test_feed_without_etag_unchanged_content_changes_nothing(feed, open_feed):
    feed.etag = False
    provider = open_feed(feed.url)
    first = provider.sync("feed", None, WINDOW)
    second = provider.sync("feed", first.state, WINDOW)
    assert not second.full and second.changed == {}


def test_window_moving_past_what_was_read_refetches(feed, open_feed):
    provider = open_feed(feed.url)
    first = provider.sync("feed", None, WINDOW)
    later = Interval(WINDOW.start + timedelta(days=30), WINDOW.end + timedelta(days=30))
    second = provider.sync("feed", first.state, later)
    assert second.full
    assert "If-None-Match" not in feed.requests[-1]


def test_list_calendars_names_the_feed(feed, open_feed):
    feed.body = ics("x_wr_timezone_feed")
    [calendar] = open_feed(feed.url).list_calendars()
    assert (calendar.id, calendar.name, calendar.writable) == ("feed", "Work", False)


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (403, AuthError, "refused access \\(HTTP 403\\)"),
        (404, NotFound, "does not exist \\(HTTP 404\\)"),
        (500, ProviderError, "answered HTTP 500"),
    ],
)
def test_http_errors_are_clear_and_hide_the_secret_path(feed, open_feed, status, error, message):
    feed.status = status
    with pytest.raises(error, match=message) as caught:
        open_feed(feed.url).busy("feed", WINDOW)
    assert "abc123" not in str(caught.value)


def test_not_a_calendar(feed, open_feed):
    feed.body = "<html>please log in</html>"
    with pytest.raises(CalendarDataError, match="not iCalendar"):
        open_feed(feed.url).list_calendars()


def test_unreachable_feed(open_feed):
    with pytest.raises(ProviderError, match="cannot reach the calendar feed at http://127.0.0.1/"):
        open_feed("http://127.0.0.1:9/cal.ics").busy("feed", WINDOW)


def test_loopback_feed_refused_unless_allowed(feed, open_feed):
    with pytest.raises(BlockedHost, match="private or internal address"):
        open_feed(feed.url, allow_private=False).busy("feed", WINDOW)
    assert feed.requests == []


def test_local_file(open_feed, tmp_path):
    path = tmp_path / "cal.ics"
    path.write_text(ics("tentative_is_busy"))
    provider = open_feed(str(path), secret=False)
    first = provider.sync("feed", None, WINDOW)
    assert busy_of(first) == EXPECTED["tentative_is_busy"]
    assert not provider.sync("feed", first.state, WINDOW).full
    path.write_text(ics("utc_times"))
    os.utime(path, ns=(1, 1))
    assert busy_of(provider.sync("feed", first.state, WINDOW)) == EXPECTED["utc_times"]


def test_missing_local_file(open_feed):
    with pytest.raises(NotFound, match="does not exist"):
        open_feed(str(FILES / "no_such_file.ics"), secret=False).busy("feed", WINDOW)


def test_read_only(open_feed, tmp_path):
    from service.calendars.base import OutgoingEvent

    provider = open_feed(str(FILES / "utc_times.ics"), secret=False)
    event = OutgoingEvent("x@counselhours", WINDOW.start, WINDOW.end, "x")
    with pytest.raises(ProviderError, match="read-only"):
        provider.put_event("feed", event)
