"""Full vs incremental Microsoft Graph sync (calendarView/delta) of a 2,000-event calendar,
against the TLS stand-in of tests/microsoft_fake.py through the real MSAL and requests.

Run from the repository root: ``python bench/bench_microsoft.py [--events N] [--repeat R]``.
Prints one JSON line: the full sync's seconds and requests (pages of 200), the
incremental sync's (one event changed) seconds and requests, their ratio (best of R runs
each), and the live check's seconds over one call's range.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booking.intervals import Interval  # noqa: E402
from service.calendars.microsoft import oauth  # noqa: E402
from service.calendars.microsoft.provider import MicrosoftProvider  # noqa: E402
from tests.microsoft_fake import FakeMicrosoft  # noqa: E402

NOW = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW = Interval(NOW - timedelta(days=1), NOW + timedelta(days=90))
CAL = "AAMkAGbench"


def bench(root: str, events: int, repeat: int) -> dict:
    fake = FakeMicrosoft().start(root)
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_file
    try:
        fake.add_calendar(CAL, "Calendar", default=True)
        first = NOW - timedelta(days=30)
        ids = [fake.add_event(CAL, first + timedelta(hours=3 * i), first + timedelta(hours=3 * i + 1))["id"]
               for i in range(events)]
        config = {"authority": fake.url, "tenant": "common", "graph_endpoint": fake.graph_endpoint}
        client = {"client_id": fake.client_id, "client_secret": fake.client_secret}
        secret = oauth.from_refresh_token(fake.refresh_token(), client, config)
        provider = MicrosoftProvider(config, secret, ZoneInfo("Europe/Berlin"))
        try:
            full = []
            for _ in range(repeat):
                started = time.perf_counter()
                result = provider.sync(CAL, None, WINDOW)
                full.append((time.perf_counter() - started, result))
            full_seconds, full_result = min(full, key=lambda r: r[0])
            incremental, state = [], full_result.state
            for run in range(repeat):
                start = NOW + timedelta(days=10, hours=run)
                fake.change_event(CAL, ids[300], start=start, end=start + timedelta(hours=2))
                started = time.perf_counter()
                result = provider.sync(CAL, state, WINDOW)
                incremental.append((time.perf_counter() - started, result))
                assert not result.full and len(result.changed) == 1, result
                state = result.state
            inc_seconds, inc_result = min(incremental, key=lambda r: r[0])
            call = Interval(NOW + timedelta(days=3, hours=9), NOW + timedelta(days=3, hours=10))
            live = []
            for _ in range(repeat):
                started = time.perf_counter()
                provider.busy(CAL, call)
                live.append(time.perf_counter() - started)
        finally:
            provider.close()
    finally:
        fake.stop()
    return {
        "bench": "microsoft_sync",
        "events": events,
        "events_in_window": len(full_result.changed),
        "full_sync_seconds": round(full_seconds, 4),
        "full_sync_requests": full_result.requests,
        "incremental_sync_seconds": round(inc_seconds, 4),
        "incremental_sync_requests": inc_result.requests,
        "ratio": round(full_seconds / inc_seconds, 1),
        "live_check_seconds": round(min(live), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-microsoft-") as tmp:
        print(json.dumps(bench(tmp, args.events, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
