"""Benchmark of ``free_slots`` against the floor of sorting + merging the busy time.

Run from the repo root: ``python bench/bench_engine.py``. Prints one JSON object per
line: the median time of ``free_slots`` (90-day horizon, 10 windows a week) with N random
busy intervals in UTC, the median time of ``merge()`` of the same N intervals (the floor),
their ratio, and the growth of ``free_slots`` from 5,000 to 10,000 intervals. Goals: ratio
<= 3, doubling <= 2.2. A last, informational line gives the same with busy time in the
lawyer's zone (converted to UTC inside ``free_slots``).
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


def median_seconds(*fns, repeats: int = REPEATS) -> list[float]:
    """Median wall time of each of ``fns``, run in turns so that both see the same load.

    Garbage collection is paused while timing, as ``timeit`` does.
    """
    times: list[list[float]] = [[] for _ in fns]
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            for fn, samples in zip(fns, times, strict=True):
                began = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - began)
    finally:
        gc.enable()
    return [statistics.median(samples) for samples in times]


def busy_in(count: int, zone: ZoneInfo | None = None) -> list[Interval]:
    busy = random_busy(count, random.Random(SEED + count))
    if zone is not None:
        busy = [Interval(i.start.astimezone(zone), i.end.astimezone(zone)) for i in busy]
    return busy


def engine(busy: list[Interval]):
    return lambda: free_slots(AGREEMENT, LAWYER, client="bench", now=NOW, busy=busy)


def floor(busy: list[Interval]):
    return lambda: merge(busy)


def report(busy: list[Interval], engine_s: float, floor_s: float, zone: str) -> dict:
    return {
        "bench": "free_slots",
        "busy_intervals": len(busy),
        "busy_zone": zone,
        "horizon_days": AGREEMENT.horizon_days,
        "windows_per_week": len(AGREEMENT.windows),
        "slots": len(engine(busy)()),
        "free_slots_ms": round(engine_s * 1000, 3),
        "merge_floor_ms": round(floor_s * 1000, 3),
        "ratio": round(engine_s / floor_s, 2),
    }


def main() -> None:
    small, large = busy_in(5_000), busy_in(10_000)
    # All four timed in turns, so that a busy machine skews them alike.
    e_small, f_small, e_large, f_large = median_seconds(
        engine(small), floor(small), engine(large), floor(large)
    )
    first = report(small, e_small, f_small, "UTC")
    second = report(large, e_large, f_large, "UTC")
    print(json.dumps(first))
    print(json.dumps(second))
    doubling = e_large / e_small
    print(
        json.dumps(
            {
                "bench": "free_slots_doubling",
                "from": len(small),
                "to": len(large),
                "doubling_ratio": round(doubling, 2),
                "floor_doubling_ratio": round(f_large / f_small, 2),
                "goal_ratio_max": 3,
                "goal_doubling_max": 2.2,
                "ok": first["ratio"] <= 3 and second["ratio"] <= 3 and doubling <= 2.2,
            }
        )
    )
    # For information: busy time handed over in a DST zone must be converted to UTC
    # first (same-zone datetime comparisons ignore the DST fold), which the floor skips.
    zoned = busy_in(5_000, LAWYER.timezone)
    e_zoned, f_zoned = median_seconds(engine(zoned), floor(zoned))
    print(
        json.dumps(report(zoned, e_zoned, f_zoned, str(LAWYER.timezone)) | {"informational": True})
    )


if __name__ == "__main__":
    main()
