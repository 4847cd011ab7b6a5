"""The cost of a slot-cache miss as the lawyer's calendar grows, in process (no HTTP).

Run from the repo root: ``python bench/bench_miss.py [--postgres URL]``. One lawyer,
clients with the agreement of ``bench_endpoint`` (90-day horizon, 10 windows a week,
15-minute step), and one iCal conflict calendar holding 0, 5,000 or 50,000 busy events
of 1-3 h placed as ``bench_endpoint`` places them (an empty SQLite database each). For each size it measures, best
of several rounds:

- ``miss_first``: a miss of a lawyer's first client (the lawyer's busy time read from the
  database: the merged form the writers keep, ``storage.busy_merged``);
- ``miss_next``: a miss of another client of the same lawyer, whose busy list is shared;
- ``miss_first_rows``: the first client's miss when the merged form is not current (its
  stamp cleared in between, as a writer that skipped it would leave it): the busy rows
  are read and merged, as every miss did before the merged form;

each for the 14 days a client's page or widget asks first (``range: "14d"``: a miss
computes and reads that range only) and for the whole horizon (``range: "horizon"``).
Times are the best of several rounds, in CPU time of the thread (SQLite runs in it; on a
shared machine the wall clock, printed beside, mostly measures other processes; with
``--postgres`` the server's work is not in it, use the wall figures there).
Prints one JSON object per line with the ratios to the empty calendar and the goal
(miss with 50,000 busy events <= 3 x a miss with none, #19), the rows path's ratio to the
merged one in the same rounds, and ``merged_write``: what a writer's commit pays to merge
the lawyer's busy time anew (``busy_merged.refresh`` with the stamp cleared). ``--postgres URL`` runs on a
temporary database of that server instead of SQLite.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_endpoint import HORIZON_DAYS, TZ, WINDOWS  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SIZES = (0, 5_000, 50_000)
ROUNDS = 7
GOAL = 3.0
RANGES = {"14d": timedelta(days=14), "horizon": None}


def events(size: int) -> list[tuple[datetime, datetime]]:
    """``size`` events placed as ``bench_endpoint`` places them (most around the windows),
    with the same hundred or so inside the windows whatever the size, so that every size
    still leaves slots to offer."""
    from bench import bench_endpoint

    if not size:
        return []
    bench_endpoint.EVENTS, bench_endpoint.INSIDE_WINDOWS = size, min(0.02, 100 / size)
    return bench_endpoint.busy_events(NOW, random.Random(size))


def build(size: int, folder: Path, postgres: str | None = None):
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from service import create_app
    from service.storage.extensions import db
    from service.storage.models import BusyBlock, Calendar, CalendarAccount, Lawyer
    from service.usecases.clients import create_client

    url = postgres or f"sqlite:///{folder}/b{size}.db"
    app = create_app({"DATABASE_URL": url, "ENV": "development",
                      "TESTING": True, "SECRET_KEY": "x" * 40,
                      "ENCRYPTION_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="})
    with app.app_context():
        upgrade()
        lawyer = Lawyer(name="Anna Keller", email="anna@counsel.example", timezone=TZ)
        db.session.add(lawyer)
        db.session.flush()
        clients = [
            create_client(lawyer, name=f"Client {i}", email=f"c{i}@client.example",
                          windows=WINDOWS, duration_min=30, prep_min=30, buffer_min=10,
                          notice_hours=24, horizon_days=HORIZON_DAYS, step_min=15,
                          language="en")[0]
            for i in range((ROUNDS * 3 + 2) * len(RANGES))
        ]
        account = CalendarAccount(lawyer_id=lawyer.id, kind="ics", label="court.ics", config={})
        db.session.add(account)
        db.session.flush()
        calendar = Calendar(account_id=account.id, lawyer_id=lawyer.id, remote_id="bench",
                            name="Court", conflict=True, synced_at=NOW)
        db.session.add(calendar)
        db.session.flush()
        rows = [{"calendar_id": calendar.id, "lawyer_id": lawyer.id, "key": f"e{i}",
                 "start": start, "end": end} for i, (start, end) in enumerate(events(size))]
        if rows:
            db.session.execute(sa.insert(BusyBlock), rows)
        db.session.commit()
        ids = [c.id for c in clients]
    return app, ids


def _set_stamp(stamp: str | None) -> str | None:
    """Set the lawyer's merged form's stamp (None: not current); returns the one held."""
    import sqlalchemy as sa

    from service.storage.extensions import db
    from service.storage.models import BusyMerged

    held = db.session.scalar(sa.select(BusyMerged.stamp))
    db.session.execute(sa.update(BusyMerged).values(stamp=stamp))
    db.session.commit()
    return held


def measure(app, ids, length: timedelta | None) -> dict[str, float]:
    from service.storage.extensions import db
    from service.storage.models import Client
    from service.usecases import availability
    from service.usecases.slot_cache import busy_lists, slot_cache

    first, nxt, rows = [], [], []
    end = NOW + length if length else None
    with app.app_context():
        for _ in range(ROUNDS):
            for out in (first, nxt, rows):
                if out is not nxt:
                    busy_lists().clear()
                held = _set_stamp(None) if out is rows else None
                slot_cache().clear()
                client = db.session.get(Client, ids.pop())
                assert client.lawyer is not None  # loaded: only the miss is timed
                gc.collect()
                gc.disable()  # a collection would land on one size's miss, not another's
                started, cpu = time.perf_counter(), time.thread_time()
                availability.slots_for(client, NOW, NOW, end)
                out.append((time.thread_time() - cpu, time.perf_counter() - started))
                gc.enable()
                db.session.commit()
                if out is rows:
                    _set_stamp(held)
    # CPU time of this thread (SQLite runs in it): on a shared machine the wall clock
    # mostly measures the other processes; both are printed, ratios are of CPU time.
    return {"miss_first": min(first)[0], "miss_next": min(nxt)[0],
            "miss_first_rows": min(rows)[0],
            "wall_first": min(w for _, w in first), "wall_next": min(w for _, w in nxt),
            "wall_first_rows": min(w for _, w in rows)}


def merged_write(app) -> dict[str, float]:
    """The best CPU and wall time of merging the lawyer's busy time anew in a commit."""
    from service.storage import busy_merged
    from service.storage.extensions import db
    from service.storage.models import Lawyer

    cpu_times, walls = [], []
    with app.app_context():
        lawyer_id = db.session.scalar(db.select(Lawyer.id))
        for _ in range(ROUNDS):
            _set_stamp(None)
            gc.collect()
            gc.disable()
            started, cpu = time.perf_counter(), time.thread_time()
            assert busy_merged.refresh(db.session.connection(), [lawyer_id]) == 1
            db.session.commit()
            cpu_times.append(time.thread_time() - cpu)
            walls.append(time.perf_counter() - started)
            gc.enable()
    return {"merge_cpu": min(cpu_times), "merge_wall": min(walls)}


def main() -> None:
    global ROUNDS
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="postgresql://user@host:port")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="best of this many (7)")
    args = parser.parse_args()
    ROUNDS = args.rounds
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            pg = None
            if args.postgres:
                from bench.bench_endpoint import TempPostgres

                pg = TempPostgres(args.postgres)
            try:
                app, ids = build(size, Path(folder), pg.url if pg else None)
                written = merged_write(app)
                print(json.dumps({"figure": "merged_write", "busy_events": size,
                                  "database": "postgresql" if pg else "sqlite",
                                  **{k: round(v * 1000, 2) for k, v in written.items()},
                                  "unit": "ms"}), flush=True)
                for name, length in RANGES.items():
                    results[size, name] = measure(app, ids, length)
                    print(json.dumps({"figure": "slots_miss", "busy_events": size, "range": name,
                                      "database": "postgresql" if pg else "sqlite",
                                      **{k: round(v * 1000, 2) for k, v in results[size, name].items()},
                                      "unit": "ms (miss_*: CPU time, wall_*: wall clock)"}), flush=True)
            finally:
                if pg is not None:
                    with app.app_context():
                        from service.storage.extensions import db

                        db.session.remove()
                        db.engine.dispose()
                    pg.drop()
    for name in RANGES:
        base = results[0, name]
        for size in SIZES[1:]:
            for what in ("miss_first", "miss_next"):
                ratio = results[size, name][what] / base[what]
                goal = size == 50_000
                print(json.dumps({"figure": f"slots_{what}_ratio", "busy_events": size, "range": name,
                                  "ratio": round(ratio, 2), "goal": f"<= {GOAL}" if goal else None,
                                  "met": ratio <= GOAL if goal else None}), flush=True)
            measured = results[size, name]
            print(json.dumps({"figure": "slots_miss_first_rows_ratio", "busy_events": size,
                              "range": name,
                              "ratio": round(measured["miss_first_rows"] / base["miss_first"], 2),
                              "rows_over_merged": round(measured["miss_first_rows"]
                                                        / measured["miss_first"], 2)}), flush=True)


if __name__ == "__main__":
    main()
