"""The slot cache at 5,000 clients: hit ratio and latency of a second pass (#19).

Run from the repo root: ``python bench/bench_clients.py [--postgres URL] [--lawyers N]
[--clients-per-lawyer N]``. Builds a throw-away database (SQLite in a temp dir, or a
temporary database on the PostgreSQL server given) with 50 lawyers of 100 clients each
(the agreement of ``bench_endpoint``: 90-day horizon, 10 windows a week, 15-minute step),
each lawyer with one iCal conflict calendar of 500 busy events. In process (no HTTP), a
first pass asks every client's link for the 14 days a page or widget asks first (what
``GET /api/v1/slots?from=..&to=..`` asks: ``availability.offer_for_link``), in order; a
second pass asks them all again in the same order and is measured: hit ratio, p50/p99 of
one read, and the cache's entries and slots held. Once with ``SLOT_CACHE_ENTRIES`` /
``SLOT_CACHE_SLOTS`` at their defaults, once sized for the clients (entries = clients +
10 %, slots = entries x the largest offer seen + 10 %). One JSON object per line.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_endpoint import HORIZON_DAYS, TZ, WINDOWS, TempPostgres  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
EVENTS_PER_LAWYER = 500
DAYS = 14


def events(rng: random.Random) -> list[tuple[datetime, datetime]]:
    from bench import bench_endpoint

    bench_endpoint.EVENTS, bench_endpoint.INSIDE_WINDOWS = EVENTS_PER_LAWYER, 0.05
    return bench_endpoint.busy_events(NOW, rng)


def build(url: str, lawyers: int, per_lawyer: int, config: dict) -> tuple[object, list[str]]:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from service import create_app
    from service.storage.extensions import db
    from service.storage.models import BusyBlock, Calendar, CalendarAccount, Lawyer
    from service.usecases.clients import create_client

    app = create_app({"DATABASE_URL": url, "ENV": "development", "TESTING": True,
                      "SECRET_KEY": "x" * 40,
                      "ENCRYPTION_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=", **config})
    tokens = []
    with app.app_context():
        upgrade()
        rng = random.Random(19)
        for n in range(lawyers):
            lawyer = Lawyer(name=f"Lawyer {n}", email=f"l{n}@counsel.example", timezone=TZ)
            db.session.add(lawyer)
            db.session.flush()
            for i in range(per_lawyer):
                tokens.append(create_client(
                    lawyer, name=f"Client {n}-{i}", email=f"c{n}-{i}@client.example",
                    windows=WINDOWS, duration_min=30, prep_min=30, buffer_min=10,
                    notice_hours=24, horizon_days=HORIZON_DAYS, step_min=15, language="en",
                )[1])
            account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="court.ics", config={})
            db.session.add(account)
            db.session.flush()
            calendar = Calendar(account_id=account.id, lawyer_id=lawyer.id, remote_id="bench",
                                name="Court", conflict=True, synced_at=NOW)
            db.session.add(calendar)
            db.session.flush()
            db.session.execute(sa.insert(BusyBlock), [
                {"calendar_id": calendar.id, "lawyer_id": lawyer.id, "key": f"e{n}-{k}",
                 "start": start, "end": end} for k, (start, end) in enumerate(events(rng))
            ])
            db.session.commit()
        db.session.remove()
    return app, tokens


def passes(app, tokens: list[str], entries: int, slots: int) -> dict:
    from service.storage.extensions import db
    from service.usecases import availability
    from service.usecases.slot_cache import busy_lists, slot_cache

    first_day = NOW.astimezone(__import__("zoneinfo").ZoneInfo(TZ)).date()
    days = availability.DayRange(first_day, first_day + timedelta(days=DAYS - 1))
    app.config.update(SLOT_CACHE_ENTRIES=entries, SLOT_CACHE_SLOTS=slots)
    with app.app_context():
        app.extensions.pop("slot_cache", None)
        busy_lists().clear()
        cache = slot_cache()
        largest = 0
        for token in tokens:  # warm
            offer = availability.offer_for_link(token, NOW, days).offer
            largest = max(largest, len(offer.slots))
            db.session.remove()
        hits, misses = cache.hits, cache.misses
        times, cpu = [], []
        gc.collect()
        for token in tokens:  # measured
            started, cpu_started = time.perf_counter(), time.thread_time()
            availability.offer_for_link(token, NOW, days)
            db.session.remove()
            times.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - cpu_started)
        hit = cache.hits - hits
        asked = hit + cache.misses - misses
        times.sort()
        cpu.sort()
        return {
            "slot_cache_entries": entries, "slot_cache_slots": slots,
            "clients": len(tokens), "hit_ratio": round(hit / asked, 3),
            "p50_ms": round(statistics.median(times) * 1000, 3),
            "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 3),
            "mean_ms": round(statistics.fmean(times) * 1000, 3),
            "cpu_p50_ms": round(statistics.median(cpu) * 1000, 3),
            "cpu_p99_ms": round(cpu[int(len(cpu) * 0.99) - 1] * 1000, 3),
            "entries_held": len(cache), "slots_held": cache._slots, "largest_offer": largest,
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="postgresql://user@host:port")
    parser.add_argument("--lawyers", type=int, default=50)
    parser.add_argument("--clients-per-lawyer", type=int, default=100)
    parser.add_argument("--sizing", choices=("both", "default", "sized"), default="both",
                        help="which cache sizes to measure (sized alone: 162 slots an offer)")
    args = parser.parse_args()
    from service.core.config import SETTINGS

    defaults = {s.name: s.default for s in SETTINGS}
    pg = TempPostgres(args.postgres) if args.postgres else None
    with tempfile.TemporaryDirectory() as folder:
        try:
            url = pg.url if pg else f"sqlite:///{folder}/clients.db"
            started = time.perf_counter()
            app, tokens = build(url, args.lawyers, args.clients_per_lawyer, {})
            common = {"figure": "slot_cache_second_pass", "database": "postgresql" if pg else "sqlite",
                      "lawyers": args.lawyers, "days_asked": DAYS,
                      "busy_events_per_lawyer": EVENTS_PER_LAWYER}
            print(json.dumps({"figure": "build", "seconds": round(time.perf_counter() - started, 1),
                              "clients": len(tokens)}), flush=True)
            default = None
            if args.sizing != "sized":
                default = passes(app, tokens, defaults["SLOT_CACHE_ENTRIES"], defaults["SLOT_CACHE_SLOTS"])
                print(json.dumps({**common, "sizing": "default", **default}), flush=True)
            if args.sizing == "default":
                return
            largest = default["largest_offer"] if default else 162  # as measured with this data
            entries = int(len(tokens) * 1.1)
            sized = passes(app, tokens, entries, int(entries * largest * 1.1))
            print(json.dumps({**common, "sizing": "sized", **sized}), flush=True)
            if default:
                print(json.dumps({"figure": "slot_cache_sizing", "hit_ratio_default": default["hit_ratio"],
                                  "hit_ratio_sized": sized["hit_ratio"],
                                  "p50_ratio_sized_vs_default": round(sized["p50_ms"] / default["p50_ms"], 3),
                                  "p99_ratio_sized_vs_default": round(sized["p99_ms"] / default["p99_ms"], 3)}),
                      flush=True)
        finally:
            if pg is not None:
                from service.storage.extensions import db

                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
                pg.drop()


if __name__ == "__main__":
    main()
