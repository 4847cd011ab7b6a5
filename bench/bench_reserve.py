"""What reserved urgent time and the demand line cost the engine.

Run from the repo root: ``python bench/bench_reserve.py``. One JSON object per line:

- ``next_release``: median microseconds of the release instant the slot cache key adds to
  every ordinary read (4 reserve windows a week), computed afresh, and as the key gets
  it (``slot_cache.next_reserve_release``, memoised until the next release), with "now"
  moving a second per read; the ratio of the two;
- ``free_slots_with_reserve``: median ``free_slots`` time (90-day horizon, 1,000 busy
  intervals) with the held reserves added as busy time, against without (informational);
- ``week_demand``: median time for 2,000 busy intervals against ``merge()`` of them
  (the floor); goal ratio <= 2.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from booking import reserve  # noqa: E402
from booking.availability import free_slots  # noqa: E402
from booking.demand import week_demand  # noqa: E402
from booking.intervals import Interval, merge  # noqa: E402
from booking.model import Agreement, LawyerRules  # noqa: E402
from booking.windows import parse_windows  # noqa: E402

NOW = datetime(2026, 3, 2, 7, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")
RESERVE = "tue 17:00-17:30,tue 17:30-18:00,thu 17:00-17:30,thu 17:30-18:00"
DAY = timedelta(hours=24)


def median(func, repeats=25) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def busy(n: int, rng: random.Random) -> list[Interval]:
    out = []
    for _ in range(n):
        start = NOW + timedelta(minutes=15 * rng.randrange(90 * 96))
        out.append(Interval(start, start + timedelta(minutes=15 * rng.randint(1, 8))))
    return out


def main() -> None:
    windows = parse_windows(RESERVE)
    loops = 2000
    from service.usecases.slot_cache import next_reserve_release

    instants = [NOW + timedelta(seconds=i) for i in range(loops)]
    release = median(lambda: [reserve.next_release(windows, ZONE, t, DAY) for t in instants]) / loops
    memo = median(lambda: [next_reserve_release(RESERVE, ZONE, t, DAY) for t in instants]) / loops
    print(json.dumps({"figure": "next_release", "fresh_microseconds": round(release * 1e6, 2),
                      "memoised_microseconds": round(memo * 1e6, 2), "ratio": round(memo / release, 5)}))

    rng = random.Random(20260302)
    agreement = Agreement(windows=parse_windows("mon 09:00-18:00,tue 09:00-18:00,thu 09:00-18:00"),
                          duration=timedelta(minutes=30), prep=timedelta(minutes=15), horizon_days=90)
    rules = LawyerRules(timezone=ZONE)
    base = busy(1000, rng)
    held = reserve.held(reserve.occurrences(windows, ZONE, NOW, NOW + timedelta(days=92)), NOW, DAY)
    plain = median(lambda: free_slots(agreement, rules, client=1, now=NOW, busy=base), 11)
    with_reserve = median(lambda: free_slots(agreement, rules, client=1, now=NOW, busy=base + held), 11)
    print(json.dumps({"figure": "free_slots_with_reserve", "seconds": round(with_reserve, 5),
                      "without": round(plain, 5), "ratio": round(with_reserve / plain, 2)}))

    many = busy(2000, rng)
    week = [Interval(NOW + timedelta(days=d, hours=h), NOW + timedelta(days=d, hours=h + 2))
            for d in range(7) for h in (1, 6)]
    demand = median(lambda: week_demand(week, many))
    floor = median(lambda: merge(many))
    print(json.dumps({"figure": "week_demand", "seconds": round(demand, 5), "merge_floor": round(floor, 5),
                      "ratio": round(demand / floor, 2), "goal": 2}))


if __name__ == "__main__":
    main()
