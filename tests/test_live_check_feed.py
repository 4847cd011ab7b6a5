"""The live check before a booking asks an iCal feed with a conditional GET (#19).

The feed server counts full downloads: a booking while the feed is unchanged costs one
``304 Not Modified`` and no download; a changed feed is downloaded and honoured. It keeps
connections open (HTTP/1.1) and counts them: the reads of one feed share one connection.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.calendars import sync
from service.core.crypto import encrypt_json
from service.storage.models import Calendar, CalendarAccount, utcnow

pytestmark = pytest.mark.db_matrix

SLOT = "2026-03-04T13:00:00+00:00"  # offered by the default agreement (see test_freshness)


def feed_text(*events: tuple[str, str, str]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//live check//EN"]
    for uid, start, end in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260301T000000Z",
                  f"DTSTART:{start}", f"DTEND:{end}", "SUMMARY:busy", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


AWAY = ("away@example.com", "20260305T090000Z", "20260305T100000Z")
OVER_SLOT = ("court@example.com", "20260304T123000Z", "20260304T143000Z")


class CountingFeed:
    """Serves ``body`` with an ETag, answers If-None-Match with 304, counts both, and the
    TCP connections it accepted (kept open between requests, as feed servers do)."""

    def __init__(self) -> None:
        self.body = feed_text(AWAY)
        self.downloads = 0
        self.not_modified = 0
        self.conditional = 0
        self.connections = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                feed.connections += 1
                super().setup()

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                data = feed.body.encode()
                tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match"):
                    feed.conditional += 1
                if self.headers.get("If-None-Match") == tag:
                    feed.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.end_headers()
                    return
                feed.downloads += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", tag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/secret/feed.ics"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed() -> Iterator[CountingFeed]:
    server = CountingFeed()
    yield server
    server.close()


def connect_synced_feed(db, lawyer, feed: CountingFeed) -> Calendar:
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="feed", config={},
                              secret_enc=encrypt_json({"url": feed.url}))
    calendar = Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed", name="Feed",
                        conflict=True)
    db.session.add_all([account, calendar])
    db.session.commit()
    report = sync.sync_calendar(calendar, utcnow())
    assert report["ok"], report
    return calendar


def booking(token: str) -> dict:
    return {"token": token, "name": "B", "email": "b@client.example", "agenda": "x",
            "start": SLOT}


def test_unchanged_feed_is_not_downloaded_for_a_booking(client, make_client, frozen, db, feed):
    booked_client, token = make_client()
    connect_synced_feed(db, booked_client.lawyer, feed)
    assert feed.downloads == 1  # the sync
    answer = client.post("/api/v1/bookings", json=booking(token))
    assert answer.status_code == 201, answer.get_json()
    assert feed.conditional == 1 and feed.not_modified == 1
    assert feed.downloads == 1  # the live check downloaded nothing


def test_changed_feed_is_downloaded_and_refuses_the_slot(client, make_client, frozen, db, feed):
    booked_client, token = make_client()
    connect_synced_feed(db, booked_client.lawyer, feed)
    feed.body = feed_text(AWAY, OVER_SLOT)  # the lawyer was called to court; not synced yet
    answer = client.post("/api/v1/bookings", json=booking(token))
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "slot_busy"
    assert feed.conditional == 1 and feed.downloads == 2


def test_live_check_without_a_stored_state_downloads(db, make_lawyer, frozen, feed):
    """A calendar never synced has no validators: the live check asks unconditionally,
    and reads the busy time of the asked range only."""
    from datetime import UTC, datetime

    from booking.intervals import Interval

    lawyer = make_lawyer()
    account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="feed", config={},
                              secret_enc=encrypt_json({"url": feed.url}))
    db.session.add_all([account, Calendar(account=account, lawyer_id=lawyer.id,
                                          remote_id="feed", name="Feed", conflict=True)])
    db.session.commit()
    feed.body = feed_text(AWAY, OVER_SLOT)
    window = Interval(datetime(2026, 3, 4, 12, 0, tzinfo=UTC), datetime(2026, 3, 4, 14, 0, tzinfo=UTC))
    assert sync.live_busy(lawyer, window) == [
        Interval(datetime(2026, 3, 4, 12, 30, tzinfo=UTC), window.end)
    ]
    assert feed.conditional == 0 and feed.downloads == 1


def test_mirror_answers_for_an_unchanged_feed(db, make_lawyer, frozen, feed):
    """A 304 reuses what the last sync stored: the mirror's busy rows of the range."""
    from datetime import UTC, datetime

    from booking.intervals import Interval

    lawyer = make_lawyer()
    feed.body = feed_text(AWAY, OVER_SLOT)
    connect_synced_feed(db, lawyer, feed)
    window = Interval(datetime(2026, 3, 4, 13, 0, tzinfo=UTC), datetime(2026, 3, 4, 16, 0, tzinfo=UTC))
    assert sync.live_busy(lawyer, window) == [
        Interval(window.start, datetime(2026, 3, 4, 14, 30, tzinfo=UTC))
    ]
    assert feed.not_modified == 1 and feed.downloads == 1


def test_bookings_reuse_the_feed_connection(client, make_client, frozen, db, feed):
    """Regression (#19): each live check opened a new session, so a new TCP connection
    (and TLS handshake) per booking; now the sync's connection serves every later read."""
    booked_client, token = make_client(max_per_week=5)
    connect_synced_feed(db, booked_client.lawyer, feed)
    for start in (SLOT, "2026-03-04T14:00:00+00:00", "2026-03-09T09:00:00+00:00"):
        answer = client.post("/api/v1/bookings", json={**booking(token), "start": start})
        assert answer.status_code == 201, answer.get_json()
    assert feed.not_modified == 3 and feed.downloads == 1
    assert feed.connections == 1


def test_a_burst_of_bookings_asks_an_unchanged_feed_once(app, client, make_client, frozen, db, feed):
    """A 304 a moment ago stands for the next booking's live check (FEED_LIVE_REUSE_SECONDS);
    after the window the feed is asked again."""
    app.config["FEED_LIVE_REUSE_SECONDS"] = 5
    booked_client, token = make_client(max_per_week=5)
    connect_synced_feed(db, booked_client.lawyer, feed)
    for start in (SLOT, "2026-03-04T14:00:00+00:00"):
        answer = client.post("/api/v1/bookings", json={**booking(token), "start": start})
        assert answer.status_code == 201, answer.get_json()
    assert feed.conditional == 1
    frozen.tick(6)
    answer = client.post("/api/v1/bookings", json={**booking(token), "start": "2026-03-09T09:00:00+00:00"})
    assert answer.status_code == 201, answer.get_json()
    assert feed.conditional == 2 and feed.downloads == 1


def test_a_changed_feed_is_asked_again_within_the_reuse_window(app, client, make_client, frozen, db, feed):
    """The reuse is keyed by the validators of the last sync: once a sync stored new ones,
    the next live check asks the feed (and a download is honoured as always)."""
    app.config["FEED_LIVE_REUSE_SECONDS"] = 5
    booked_client, token = make_client(max_per_week=5)
    calendar = connect_synced_feed(db, booked_client.lawyer, feed)
    assert client.post("/api/v1/bookings", json=booking(token)).status_code == 201
    feed.body = feed_text(("away@example.com", "20260305T110000Z", "20260305T120000Z"))  # moved
    assert sync.sync_calendar(db.session.get(Calendar, calendar.id), utcnow())["ok"]
    answer = client.post("/api/v1/bookings", json={**booking(token), "start": "2026-03-04T14:00:00+00:00"})
    assert answer.status_code == 201, answer.get_json()
    assert feed.conditional == 3  # the first booking, the sync, this booking
    assert feed.not_modified == 2 and feed.downloads == 2


def test_a_cut_off_session_is_not_reused(db, make_lawyer, frozen, feed):
    """A session cut off by its deadline refuses every later request: it must not go
    back to the pool, or every later read of that server would fail."""
    from service.calendars import bounded, netguard

    with netguard.POOL.lend(feed.url, allow_private=True, subject="the feed") as http:
        assert http.get(feed.url).status_code == 200
        http.cut_off = bounded.too_slow("the feed", 1)  # as a watchdog leaves it
    with netguard.POOL.lend(feed.url, allow_private=True, subject="the feed") as fresh:
        assert fresh is not http and fresh.cut_off is None
        assert fresh.get(feed.url).status_code == 200
    assert feed.connections == 2


def test_synced_busy_time_over_the_slot_still_refuses(client, make_client, frozen, db, feed):
    """The booking's check reads only the mirror around the slot: what is there counts."""
    booked_client, token = make_client()
    feed.body = feed_text(AWAY, OVER_SLOT)
    connect_synced_feed(db, booked_client.lawyer, feed)
    answer = client.post("/api/v1/bookings", json=booking(token))
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "slot_busy"
    assert feed.conditional == 0  # refused from local data, before any live check


def test_regression_busy_time_touching_the_slot_skipped_the_live_check(client, make_client, frozen, db, feed):
    """Regression (#19): on SQLite the mirror's read over the slot also returned a busy row
    ending exactly where the slot's preparation begins (its text compared greater than
    the bound's), and a booking took any row read there for "refused anyway" and skipped
    the live check: a feed changed since the sync was never asked."""
    booked_client, token = make_client()
    touching = ("lunch@example.com", "20260304T113000Z", "20260304T123000Z")  # until prep starts
    feed.body = feed_text(AWAY, touching)
    connect_synced_feed(db, booked_client.lawyer, feed)
    feed.body = feed_text(AWAY, touching, OVER_SLOT)  # called to court since the sync
    answer = client.post("/api/v1/bookings", json=booking(token))
    assert feed.conditional == 1 and feed.downloads == 2
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "slot_busy"
