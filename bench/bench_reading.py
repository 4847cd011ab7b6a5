"""Reading hostile recurrence rules: time, peak memory and busy rows per rule.

Run from the repo root: ``python bench/bench_reading.py``. For each rule, one event in
an iCal text read by ``icsread.read`` over a 92-day window (a lawyer in Berlin); prints
one JSON object per line: the rule, seconds (median of 3), peak traced memory in MB,
busy rows, and the ratio of its time to reading 1,000 plain one-off events (the
baseline line). The library alone (``recurring_ical_events ... between``) is timed on
the same text where it finishes at all ("library_seconds"); on FREQ=SECONDLY without an
end it does not (minutes and gigabytes), so that figure is left out.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import recurring_ical_events  # noqa: E402

from booking.intervals import Interval  # noqa: E402
from service.calendars import icsread  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = Interval(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))
HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"

RULES = {
    "secondly_no_end": ("20200101T000000Z", "PT1S", "FREQ=SECONDLY", False),
    "minutely_count_100000": ("20270301T000000Z", "PT1M", "FREQ=MINUTELY;INTERVAL=2;COUNT=100000", True),
    "daily_count_100000_since_1900": ("19000101T090000Z", "PT30M", "FREQ=DAILY;COUNT=100000", True),
    "hourly_since_1990": ("19900101T000000Z", "PT15M", "FREQ=HOURLY", True),
    "weekly_since_1970": ("19700105T090000Z", "PT1H", "FREQ=WEEKLY;BYDAY=MO,WE", True),
}


def one(start: str, duration: str, rule: str) -> str:
    return (HEAD + f"BEGIN:VEVENT\r\nUID:x@bench\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:x\r\n"
            f"DTSTART:{start}\r\nDURATION:{duration}\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def plain(n: int) -> str:
    base = WINDOW.start
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:p{i}@bench\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{(base + timedelta(hours=2 * i)).strftime('%Y%m%dT%H%M%SZ')}\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"
        for i in range(n)
    )
    return HEAD + events + "END:VCALENDAR\r\n"


def timed(fn) -> tuple[float, float]:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return statistics.median(runs), peak


def main() -> None:
    text = plain(1000)
    base, base_mb = timed(lambda: icsread.read(text, WINDOW, BERLIN))
    print(json.dumps({"figure": "baseline_1000_plain_events", "seconds": round(base, 4), "peak_mb": round(base_mb, 1)}))
    for name, (start, duration, rule, library) in RULES.items():
        text = one(start, duration, rule)
        seconds, peak = timed(lambda text=text: icsread.read(text, WINDOW, BERLIN))
        reading = icsread.read(text, WINDOW, BERLIN)
        line = {
            "figure": name, "rule": rule, "seconds": round(seconds, 4), "peak_mb": round(peak, 1),
            "busy_rows": sum(len(v) for v in reading.busy.values()),
            "warnings": [w.reason for w in reading.warnings], "ratio_to_baseline": round(seconds / base, 2),
        }
        if library:
            cal = icsread.parse(text)
            started = time.perf_counter()
            found = recurring_ical_events.of(cal).between(WINDOW.start, WINDOW.end)
            line["library_seconds"] = round(time.perf_counter() - started, 4)
            line["library_occurrences"] = len(found)
        print(json.dumps(line))


if __name__ == "__main__":
    main()
