"""Benchmark of ``free_slots`` against the floor of sorting + merging the busy time.

Run from the repo root: ``python bench/bench_engine.py``. Prints one JSON object per
line: the median time of ``free_slots`` (90-day horizon, 10 windows a week) with N random
busy intervals, the median time of ``merge()`` of the same N intervals (the floor), their
ratio, and the growth of ``free_slots`` from 5,000 to 10,000 intervals. Goals: ratio <= 3,
doubling <= 2.2.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from booking.availability import free_slots  # noqa: E402
from booking.intervals import Interval, merge  # noqa: E402
from booking.model import Agreement, LawyerRules  # noqa: E402
from booking.windows import parse_windows  # noqa: E402

SEED = 20260302
REPEATS = 15
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
WINDOWS = (
    "mon 09:00-11:00,mon 14:00-17:00,tue 09:00-11:00,tue 14:00-17:00,"
    "wed 09:00-11:00,wed 14:00-17:00,thu 09:00-11:00,thu 14:00-17:00,"
    "fri 09:00-11:00,fri 14:00-17:00"
)
AGREEMENT = Agreement(
    windows=parse_windows(WINDOWS),
    duration=timedelta(minutes=30),
    prep=timedelta(minutes=30),
    buffer_after=timedelta(minutes=10),
    notice=timedelta(hours=24),
    horizon_days=90,
    step=timedelta(minutes=15),
)
LAWYER = LawyerRules(timezone=ZoneInfo("Europe/Berlin"))


def random_busy(count: int, rng: random.Random) -> list[Interval]:
    """``count`` busy intervals of 5 to 30 minutes spread over the horizon, unsorted."""
    span = int(timedelta(days=AGREEMENT.horizon_days + 2).total_seconds() // 60)
    out = []
    for _ in range(count):
        start = NOW + timedelta(minutes=rng.randrange(span))
        out.append(Interval(start, start + timedelta(minutes=rng.randrange(5, 31))))
    return out


def median_seconds(fn, repeats: int = REPEATS) -> float:
    """Median wall time of ``fn()``, garbage collection paused as ``timeit`` does."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
    finally:
        gc.enable()
    return statistics.median(times)


def measure(count: int) -> dict:
    busy = random_busy(count, random.Random(SEED + count))
    slots = free_slots(AGREEMENT, LAWYER, client="bench", now=NOW, busy=busy)
    engine = median_seconds(
        lambda: free_slots(AGREEMENT, LAWYER, client="bench", now=NOW, busy=busy)
    )
    floor = median_seconds(lambda: merge(busy))
    return {
        "bench": "free_slots",
        "busy_intervals": count,
        "horizon_days": AGREEMENT.horizon_days,
        "windows_per_week": len(AGREEMENT.windows),
        "slots": len(slots),
        "free_slots_ms": round(engine * 1000, 3),
        "merge_floor_ms": round(floor * 1000, 3),
        "ratio": round(engine / floor, 2),
    }


def main() -> None:
    small = measure(5_000)
    print(json.dumps(small))
    large = measure(10_000)
    print(json.dumps(large))
    doubling = large["free_slots_ms"] / small["free_slots_ms"]
    print(
        json.dumps(
            {
                "bench": "free_slots_doubling",
                "from": small["busy_intervals"],
                "to": large["busy_intervals"],
                "doubling_ratio": round(doubling, 2),
                "goal_ratio_max": 3,
                "goal_doubling_max": 2.2,
                "ok": small["ratio"] <= 3 and large["ratio"] <= 3 and doubling <= 2.2,
            }
        )
    )


if __name__ == "__main__":
    main()
