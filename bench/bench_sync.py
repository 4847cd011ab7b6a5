"""Full vs incremental CalDAV sync of a 2,000-event calendar, on Radicale and Xandikos.

Run from the repository root: ``python bench/bench_sync.py [--events N] [--repeat R]``.
Prints one JSON line per server: the full sync's seconds and requests, the incremental
sync's (one event changed) seconds and requests, and their ratio (best of R runs each).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booking.intervals import Interval  # noqa: E402
from service.calendars.caldav.provider import CalDAVProvider  # noqa: E402
from tests.calendar_servers import (  # noqa: E402
    USER,
    Radicale,
    Xandikos,
    event_ics,
    put_ics,
)

NOW = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW = Interval(NOW - timedelta(days=1), NOW + timedelta(days=90))


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")


def items(n: int) -> list[tuple[str, str]]:
    first = NOW - timedelta(days=30)
    out = []
    for i in range(n):
        start = first + timedelta(hours=3 * i)
        out.append((f"e{i}.ics", event_ics(f"e{i}@bench", stamp(start), stamp(start + timedelta(hours=1)))))
    return out


def timed(provider: CalDAVProvider, url: str, state: str | None):
    started = time.perf_counter()
    result = provider.sync(url, state, WINDOW)
    return time.perf_counter() - started, result


def bench(server_cls, root: Path, events: int, repeat: int) -> dict:
    server = server_cls(root / server_cls.name).start()
    try:
        url = server.make_calendar("bench")
        server.bulk_load(url, items(events))
        provider = CalDAVProvider(
            {"url": server.url, "username": USER},
            {"password": server.password()},
            ZoneInfo("Europe/Berlin"),
            allow_private=True,
        )
        try:
            provider.sync(url, None, WINDOW)  # warm-up: the server builds its caches
            full = [timed(provider, url, None) for _ in range(repeat)]
            full_seconds, full_result = min(full, key=lambda r: r[0])
            incremental = []
            state = full_result.state
            for run in range(repeat):
                start = NOW + timedelta(days=10, hours=run)
                put_ics(
                    url,
                    "e300.ics",
                    event_ics("e300@bench", stamp(start), stamp(start + timedelta(hours=2))),
                    server.password(),
                )
                seconds, result = timed(provider, url, state)
                assert not result.full and len(result.changed) == 1, result
                state = result.state
                incremental.append((seconds, result))
            inc_seconds, inc_result = min(incremental, key=lambda r: r[0])
        finally:
            provider.close()
    finally:
        server.stop()
    return {
        "bench": "caldav_sync",
        "server": server_cls.name,
        "events": events,
        "events_in_window": len(full_result.changed),
        "full_sync_seconds": round(full_seconds, 4),
        "full_sync_requests": full_result.requests,
        "incremental_sync_seconds": round(inc_seconds, 4),
        "incremental_sync_requests": inc_result.requests,
        "ratio": round(full_seconds / inc_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        for server_cls in (Radicale, Xandikos):
            print(json.dumps(bench(server_cls, Path(tmp), args.events, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
