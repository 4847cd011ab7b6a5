"""The worker under a CPU-poison calendar: peak RSS, another lawyer's mail latency, recovery.

Run from the repository root: ``python bench/bench_worker_poison.py [--limit S] [--kills N]``.
A real ``flask worker`` (supervisor + lanes child) on a SQLite file, an SMTP server
(aiosmtpd) and a hostile feed (``tests/hostile_calendar.py``, ``/big/30000/``: 4 MB of plain
events that icalendar parses for half a minute of pure CPU, before any budget check). One lawyer books a call every 2 s throughout:
first with no poison (the baseline), then while the poison lawyer's sync gets the lanes'
child killed ``--kills`` times (the backoff after each kill is skipped by moving the task's
due time to now). Printed, one JSON object per line:

- ``mail_latency_s``: booking committed -> mail received, baseline and under poison
  (median, max, and the ratio of the maxima);
- ``peak_rss_mb``: the supervisor's, the largest child's, and the largest sum of both;
- ``recovery_s``: per kill, the supervisor's decision to kill -> the fresh child's
  ``lanes started`` line in the log, and the worst mail latency of the bookings made
  within 3 s of the kill.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile_calendar import HostileServer  # noqa: E402
from tests.mail.conftest import Inbox, _free_port  # noqa: E402
from tests.servers import flask_cli, in_app, server_env  # noqa: E402
from tests.test_worker_isolation import book_for, seed_lawyer  # noqa: E402

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.supervisor = self.child = self.total = 0.0

    def run(self) -> None:
        while not self.stop.wait(0.1):
            own = rss_mb(self.pid)
            kids = [rss_mb(c) for c in children(self.pid)]
            self.supervisor = max(self.supervisor, own)
            self.child = max([self.child, *kids])
            self.total = max(self.total, own + sum(kids))


def task_state():
    import sqlalchemy as sa

    from service.storage.extensions import db
    from service.storage.models import OutboxTask

    task = db.session.scalar(sa.select(OutboxTask).where(OutboxTask.kind == "calendar.sync"))
    return None if task is None else (task.id, task.kills, task.locked_until is not None)


def due_now(task_id: int) -> None:
    from service.storage.extensions import db
    from service.storage.models import OutboxTask, utcnow

    db.session.get(OutboxTask, task_id).due_at = utcnow()
    db.session.commit()


def log_times(text: str, marker: str) -> list[float]:
    found = []
    for line in text.splitlines():
        stamp = STAMP.match(line)
        if stamp and marker in line:
            found.append(datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5, help="WORKER_TASK_TIME_LIMIT_SECONDS")
    parser.add_argument("--kills", type=int, default=2, help="kills to watch (parked at 3)")
    parser.add_argument("--baseline", type=int, default=5, help="bookings before the poison")
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp, HostileServer() as hostile:
        tmp_path = Path(tmp)
        env = server_env(f"sqlite:///{tmp_path / 'bench.db'}", tmp_path / "instance",
                         ALLOW_PRIVATE_CALENDAR_HOSTS="true", SMTP_HOST="127.0.0.1",
                         SMTP_PORT=str(smtp.port), WORKER_TASK_TIME_LIMIT_SECONDS=str(args.limit),
                         SYNC_INTERVAL_SECONDS="100000")
        flask_cli(env, "db", "upgrade")
        _, vera_client, _ = in_app(env, lambda: seed_lawyer("Vera"))
        log = tmp_path / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "worker",
                                       "--interval", "0.2"], cwd=ROOT, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        sampler = Sampler(worker.pid)
        sampler.start()
        mails: list[tuple[float, float, str]] = []  # booked at, latency, phase
        booking = [0]

        def book(phase: str) -> None:
            before = len(inbox.to("client-vera@client.example"))
            _uid, booked_at = in_app(env, lambda: book_for(vera_client, booking[0]))
            booking[0] += 1
            deadline = time.monotonic() + 60
            while len(inbox.to("client-vera@client.example")) <= before and time.monotonic() < deadline:
                time.sleep(0.02)
            mails.append((booked_at, time.time() - booked_at, phase))

        try:
            while "lanes started" not in log.read_text():
                time.sleep(0.1)
            for _ in range(args.baseline):
                book("baseline")
                time.sleep(2)
            in_app(env, lambda: seed_lawyer("Poison", feed_url=hostile.url("big", "30000/cal.ics")))
            kills_seen = 0
            while kills_seen < args.kills:
                book("poison")
                time.sleep(2)
                state = in_app(env, task_state)
                if state and state[1] > kills_seen:
                    kills_seen = state[1]
                    if kills_seen < args.kills:
                        in_app(env, lambda state=state: due_now(state[0]))
            for _ in range(2):
                book("after")
                time.sleep(1)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
            sampler.stop.set()
            smtp.stop()
        text = log.read_text()
    base = [lat for _, lat, phase in mails if phase == "baseline"]
    poison = [lat for _, lat, phase in mails if phase != "baseline"]
    print(json.dumps({"bench": "worker_poison", "figure": "mail_latency_s",
                      "baseline_median": round(statistics.median(base), 3), "baseline_max": round(max(base), 3),
                      "poison_median": round(statistics.median(poison), 3), "poison_max": round(max(poison), 3),
                      "ratio_max": round(max(poison) / max(base), 2), "bookings": len(mails)}), flush=True)
    print(json.dumps({"bench": "worker_poison", "figure": "peak_rss_mb", "supervisor": round(sampler.supervisor, 1),
                      "child": round(sampler.child, 1), "total": round(sampler.total, 1)}), flush=True)
    decided = log_times(text, "killing child process")
    started = log_times(text, "lanes started in child process")
    recovery = []
    for when in decided:
        fresh = next((t for t in started if t >= when), None)
        near = [lat for booked, lat, _ in mails if booked - 3 <= when <= booked + lat + 3]
        recovery.append({"to_fresh_child": None if fresh is None else round(fresh - when, 3),
                         "mail_latency_max_within_3s": round(max(near), 3) if near else None})
    print(json.dumps({"bench": "worker_poison", "figure": "recovery_s", "limit_s": args.limit,
                      "kills": len(decided), "per_kill": recovery}), flush=True)


if __name__ == "__main__":
    main()
