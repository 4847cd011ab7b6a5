"""The cost of a slot-cache miss as the lawyer's calendar grows, in process (no HTTP).

Run from the repo root: ``python bench/bench_miss.py [--postgres URL]``. One lawyer,
clients with the agreement of ``bench_endpoint`` (90-day horizon, 10 windows a week,
15-minute step), and one iCal conflict calendar holding 0, 5,000 or 50,000 busy events
of 1-3 h placed as ``bench_endpoint`` places them (an empty SQLite database each). For each size it measures, best
of several rounds:

- ``miss_first``: a miss of a lawyer's first client (busy rows read from the database);
- ``miss_next``: a miss of another client of the same lawyer, whose busy list is shared.

Prints one JSON object per line with the ratios to the empty calendar and the goal
(miss with 50,000 busy events <= 3 x a miss with none, #19).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_endpoint import HORIZON_DAYS, TZ, WINDOWS  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SIZES = (0, 5_000, 50_000)
ROUNDS = 5
GOAL = 3.0


def events(size: int) -> list[tuple[datetime, datetime]]:
    """``size`` events placed as ``bench_endpoint`` places them (most around the windows),
    with the same hundred or so inside the windows whatever the size, so that every size
    still leaves slots to offer."""
    from bench import bench_endpoint

    if not size:
        return []
    bench_endpoint.EVENTS, bench_endpoint.INSIDE_WINDOWS = size, min(0.02, 100 / size)
    return bench_endpoint.busy_events(NOW, random.Random(size))


def build(size: int, folder: Path):
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from service import create_app
    from service.storage.extensions import db
    from service.storage.models import BusyBlock, Calendar, CalendarAccount, Lawyer
    from service.usecases.clients import create_client

    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/b{size}.db", "ENV": "development",
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
            for i in range(ROUNDS * 2 + 2)
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


def measure(app, ids) -> dict[str, float]:
    from service.storage.extensions import db
    from service.storage.models import Client
    from service.usecases import availability
    from service.usecases.slot_cache import busy_lists, slot_cache

    first, nxt = [], []
    with app.app_context():
        ids = list(ids)
        for _ in range(ROUNDS):
            for out in (first, nxt):
                if out is first:
                    busy_lists().clear()
                slot_cache().clear()
                client = db.session.get(Client, ids.pop())
                assert client.lawyer is not None  # loaded: only the miss is timed
                started = time.perf_counter()
                availability.slots_for(client, NOW)
                out.append(time.perf_counter() - started)
                db.session.commit()
    return {"miss_first": min(first), "miss_next": min(nxt)}


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            app, ids = build(size, Path(folder))
            results[size] = measure(app, ids)
            print(json.dumps({"figure": "slots_miss", "busy_events": size,
                              **{k: round(v * 1000, 2) for k, v in results[size].items()},
                              "unit": "ms"}), flush=True)
    base = results[0]
    for size in SIZES[1:]:
        for what in ("miss_first", "miss_next"):
            ratio = results[size][what] / base[what]
            print(json.dumps({"figure": f"slots_{what}_ratio", "busy_events": size,
                              "ratio": round(ratio, 2), "goal": f"<= {GOAL}" if size == 50_000 else None,
                              "met": ratio <= GOAL if size == 50_000 else None}), flush=True)


if __name__ == "__main__":
    main()
