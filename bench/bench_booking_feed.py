"""One booking with a 50,000-event iCal feed connected vs one with no calendar (#19).

Run from the repo root: ``python bench/bench_booking_feed.py``. In process (no HTTP to
the service), on SQLite. Two lawyers with the agreement of ``bench_endpoint``: one with
no calendar, one with an iCal feed of 50,000 busy events of 1-3 h (placed as
``bench_endpoint`` places them) served over real HTTP on 127.0.0.1 with an ETag, and
synced once first (the mirror is what the booking's availability check reads). Each
booking is ``usecases.bookings.book`` of an offered slot by its own client: the live
check before it asks the feed with ``If-None-Match``.

Prints one JSON object per line: the median booking of each (measured interleaved), the
feed's full downloads during the bookings (0 expected) and the connections they opened
(0 expected: the sync's stays open, ``netguard.POOL``), for scale the median of three
bookings right after the feed changed (each downloads it and reads the slot's range),
and last the two ratios to a booking with no calendar with the goal and whether it is
met (goal <= 1.5; with the feed asked by every booking, and right after such a booking
under the default ``FEED_LIVE_REUSE_SECONDS``).
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_endpoint import HORIZON_DAYS, TZ, WINDOWS  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
EVENTS = 50_000
BOOKINGS = 9
CHANGED = 3  # bookings right after the feed changed
GOAL = 1.5


def feed_text(events, extra: str = "") -> bytes:
    def stamp(dt: datetime) -> str:
        return dt.strftime("%Y%m%dT%H%M%SZ")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//feed//EN"]
    for i, (start, end) in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:e{i}{extra}@bench", "DTSTAMP:20260301T000000Z",
                  f"DTSTART:{stamp(start)}", f"DTEND:{stamp(end)}", "SUMMARY:busy",
                  "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


class Feed:
    """The feed over HTTP/1.1 with an ETag. The tag is computed once per body, as a feed
    server keeps it (hashing 6.7 MB on every request cost this process 3.9 ms of CPU per
    conditional GET, charged to the booking waiting for the 304)."""

    def __init__(self, body: bytes) -> None:
        self.body, self.downloads, self.not_modified, self.connections = body, 0, 0, 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps connections open, as feed servers do

            def setup(self) -> None:
                feed.connections += 1
                super().setup()

            def do_GET(self) -> None:  # noqa: N802
                tag = feed.tag
                if self.headers.get("If-None-Match") == tag:
                    feed.not_modified += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                feed.downloads += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", tag)
                self.send_header("Content-Length", str(len(feed.body)))
                self.end_headers()
                self.wfile.write(feed.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.ics"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def body(self) -> bytes:
        return self._body

    @body.setter
    def body(self, body: bytes) -> None:
        self._body, self.tag = body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def main() -> None:
    from flask_migrate import upgrade

    from bench import bench_endpoint
    from service import create_app
    from service.calendars import sync
    from service.core.crypto import encrypt_json
    from service.storage.extensions import db
    from service.storage.models import Calendar, CalendarAccount, Client, Lawyer
    from service.usecases import availability, bookings
    from service.usecases.clients import create_client

    bench_endpoint.EVENTS, bench_endpoint.INSIDE_WINDOWS = EVENTS, 100 / EVENTS
    events = bench_endpoint.busy_events(NOW, random.Random(EVENTS))
    feed = Feed(feed_text(events))
    folder = tempfile.mkdtemp()
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/b.db", "ENV": "development",
                      "TESTING": True, "SECRET_KEY": "x" * 40, "RATELIMIT_ENABLED": False,
                      "ALLOW_PRIVATE_CALENDAR_HOSTS": True, "CALENDAR_WEB_BUDGET_SECONDS": 60,
                      "ENCRYPTION_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="})
    with app.app_context():
        upgrade()
        clients: dict[str, list[int]] = {}
        for name in ("none", "feed"):
            lawyer = Lawyer(name=f"Lawyer {name}", email=f"{name}@counsel.example", timezone=TZ)
            db.session.add(lawyer)
            db.session.flush()
            made = [
                create_client(lawyer, name=f"Client {i}", email=f"{name}{i}@client.example",
                              windows=WINDOWS, duration_min=30, prep_min=30, buffer_min=10,
                              notice_hours=24, horizon_days=HORIZON_DAYS, step_min=15,
                              language="en")[0]
                for i in range(3 * BOOKINGS + CHANGED)
            ]
            db.session.flush()
            clients[name] = [c.id for c in made]
            if name == "feed":
                account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="feed",
                                          config={}, secret_enc=encrypt_json({"url": feed.url}))
                calendar = Calendar(account=account, lawyer_id=lawyer.id, remote_id="feed",
                                    name="Court", conflict=True)
                db.session.add_all([account, calendar])
        db.session.commit()
        started = time.perf_counter()
        calendar = db.session.query(Calendar).one()
        report = sync.sync_calendar(calendar, NOW)
        assert report["ok"], report
        print(json.dumps({"figure": "feed_sync_setup", "events": report["events"],
                          "seconds": round(time.perf_counter() - started, 2)}), flush=True)
        contact = bookings.validate_contact("B", "b@client.example", "x")

        reuse_default = app.config["FEED_LIVE_REUSE_SECONDS"]

        def book_one(name: str, i: int, reuse: int = 0) -> float:
            app.config["FEED_LIVE_REUSE_SECONDS"] = reuse
            client_id = clients[name].pop(0)
            client = db.session.get(Client, client_id)
            offered = availability.slots_for(client, NOW)
            slot = offered[(i * 7 + 3) % len(offered)]
            db.session.commit()
            began = time.perf_counter()
            bookings.book(client, slot.start, contact, NOW)
            return time.perf_counter() - began

        for i in range(BOOKINGS):  # warm-up of code paths, not counted
            book_one("none", i)
        # Interleaved, so that the machine's load weighs on each figure alike: a booking
        # with no calendar; one whose live check asks the feed (304); one right after it,
        # under the default FEED_LIVE_REUSE_SECONDS (the 304 of a moment ago stands).
        timings: dict[str, list[float]] = {"none": [], "feed_50000": [], "feed_50000_reuse": []}
        downloads, connections, asked = feed.downloads, feed.connections, feed.not_modified
        for i in range(BOOKINGS):
            timings["none"].append(book_one("none", i))
            timings["feed_50000"].append(book_one("feed", i))
            timings["feed_50000_reuse"].append(book_one("feed", i + BOOKINGS, reuse_default))
        medians = {name: statistics.median(values) for name, values in timings.items()}
        none = medians["none"]
        for name, value in medians.items():
            print(json.dumps({"figure": "booking", "calendar": name,
                              "median_ms": round(value * 1000, 2)}), flush=True)
        print(json.dumps({"figure": "feed_during_bookings", "full_downloads": feed.downloads - downloads,
                          "not_modified": feed.not_modified - asked,
                          "connections_opened": feed.connections - connections}), flush=True)
        # For scale: the feed changed since the sync, so each live check downloads it (the
        # stored validators are the sync's) and reads the slot's range of it.
        app.config["FEED_LIVE_REUSE_SECONDS"] = 0
        feed.body = feed_text(events, extra="-moved")
        downloads = feed.downloads
        changed = []
        for k in range(CHANGED):
            client = db.session.get(Client, clients["feed"].pop(0))
            slot = availability.slots_for(client, NOW)[-1 - 7 * k]
            db.session.commit()
            began = time.perf_counter()
            bookings.book(client, slot.start, contact, NOW)
            changed.append(time.perf_counter() - began)
        print(json.dumps({"figure": "booking_feed_changed", "events": EVENTS, "bookings": CHANGED,
                          "median_ms": round(statistics.median(changed) * 1000, 2),
                          "ratio": round(statistics.median(changed) / none, 2),
                          "full_downloads": feed.downloads - downloads}), flush=True)
        # Last: the goal (#19) with the feed asked by every booking, and with the default
        # FEED_LIVE_REUSE_SECONDS (right after such a booking, the 304 of a moment ago stands).
        for name, reuse in (("feed_50000", 0), ("feed_50000_reuse", reuse_default)):
            ratio = medians[name] / none
            print(json.dumps({"figure": "booking_feed_ratio", "calendar": name, "events": EVENTS,
                              "feed_live_reuse_seconds": reuse,
                              "ratio": round(ratio, 2), "goal": f"<= {GOAL}", "met": ratio <= GOAL}),
                  flush=True)


if __name__ == "__main__":
    main()
