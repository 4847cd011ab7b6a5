"""Peak RSS and wall time of a web process and of the worker under each hostile calendar.

Run from the repository root: ``python bench/bench_hostile_rss.py [--timeout S] [--drip D]``.
A hostile server on loopback (tests/hostile_calendar.py) answers giant bodies, drips,
gzip bombs and redirect loops. For each answer and each kind (iCal feed, CalDAV), two
fresh processes read it the way production does:

- ``web``: the admin's connect (``list_calendars`` inside a test request, so the web's
  budget ``CALENDAR_WEB_BUDGET_SECONDS`` and slots apply);
- ``worker``: a sync (``provider.sync``) inside the task time limit's budget.

Each child's peak RSS (``ru_maxrss``) and seconds are printed as one JSON line, with the
baseline (a good answer) and the ratio to it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile_calendar import HostileServer  # noqa: E402

MODES = ("ok", "giant", "giant-declared", "bomb", "drip", "drip-headers", "loop")

CHILD = r"""
import sys, time
from datetime import UTC, datetime, timedelta
from service import create_app
from service.calendars import bounded
from booking.intervals import Interval
role, kind, url, instance = sys.argv[1:5]
app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "ALLOW_PRIVATE_CALENDAR_HOSTS": True,
                  "INSTANCE_PATH": instance})
from zoneinfo import ZoneInfo
from service.calendars.base import ProviderError, load
config, secret = ({}, {"url": url}) if kind == "ics" else ({"url": url, "username": "u"}, {"password": "p"})
now = datetime(2026, 12, 1, tzinfo=UTC)
window = Interval(now, now + timedelta(days=60))
outcome = "ok"
with app.test_request_context("/admin/calendars") if role == "web" else app.app_context():
    provider = load(kind)(config, secret, ZoneInfo("Europe/Berlin"))
    try:
        if role == "web":
            with bounded.web_call():
                provider.list_calendars()
        else:
            with bounded.budget(app.config["WORKER_TASK_TIME_LIMIT_SECONDS"]):
                provider.sync("feed" if kind == "ics" else url, None, window)
    except ProviderError as exc:
        outcome = type(exc).__name__
    finally:
        provider.close()
print(outcome)
"""


def run_child(role: str, kind: str, url: str, env: dict[str, str]) -> dict:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as instance:
        proc = subprocess.run([sys.executable, "-c", CHILD, role, kind, url, instance], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = time.monotonic() - started
    return {"outcome": (proc.stdout.strip().splitlines() or ["crashed: " + proc.stderr[-300:]])[-1],
            "seconds": round(seconds, 2), "maxrss_children_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", default="30", help="CALENDAR_READ_TIMEOUT_SECONDS")
    parser.add_argument("--web-budget", default="8", help="CALENDAR_WEB_BUDGET_SECONDS")
    parser.add_argument("--task-limit", default="120", help="WORKER_TASK_TIME_LIMIT_SECONDS")
    parser.add_argument("--drip", type=float, default=5.0, help="seconds between dripped bytes")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(CALENDAR_READ_TIMEOUT_SECONDS=args.timeout, CALENDAR_WEB_BUDGET_SECONDS=args.web_budget,
               WORKER_TASK_TIME_LIMIT_SECONDS=args.task_limit, PYTHONPATH=str(ROOT))
    with HostileServer(drip=args.drip) as server:
        server.bomb()
        for kind in ("ics", "caldav"):
            for role in ("web", "worker"):
                # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: one process per
                # figure, largest answers last would hide nothing, so measure each alone.
                for mode in MODES:
                    url = server.url(mode, "cal.ics" if kind == "ics" else "dav/")
                    figure = {"bench": "hostile_rss", "kind": kind, "role": role, "answer": mode}
                    figure.update(_isolated(role, kind, url, env))
                    print(json.dumps(figure), flush=True)


def _isolated(role: str, kind: str, url: str, env: dict[str, str]) -> dict:
    """Run the child from a fresh helper process, so RUSAGE_CHILDREN is its own."""
    code = (
        f"import json, os, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from bench.bench_hostile_rss import run_child; "
        f"print(json.dumps(run_child({role!r}, {kind!r}, {url!r}, dict(os.environ))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"outcome": "bench failed: " + proc.stderr[-300:]}


if __name__ == "__main__":
    main()
