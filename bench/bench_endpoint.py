"""Load test of ``GET /api/v1/slots`` (cached) against ``GET /healthz`` under gunicorn.

Run from the repo root: ``python bench/bench_endpoint.py [--postgres URL] [--redis URL]
[--workers N] [--rounds N] [--profile]``. Builds a throw-away database (SQLite in a temp
dir; with ``--postgres postgresql://user@host:port`` a temporary database on that server,
dropped afterwards), migrates it with ``flask db upgrade``, and fills it with one lawyer,
one client (90-day horizon, 10 windows a week, 15-minute step) and one iCal conflict
calendar of 5,000 busy events of 1-3 h. Then serves it with gunicorn (``--workers``,
default 4, 127.0.0.1, a free port, ENV=production; rate limits counted in Redis as in
production when ``--redis`` is given, default ``redis://127.0.0.1:6379/0`` if it answers,
else in memory) and runs ``wrk -t2 -c50 -d10s --latency`` against ``/healthz``, against
``/api/v1/slots`` for the whole 90-day range (every worker warmed first; most answers are
replayed, ``service/web/replay.py``) and against the same request with a cookie
(``slots_in_app``: never replayed, the cached offer read inside Flask). Prints one JSON
object per line: each endpoint's requests/s, p50 and p99, then their ratios with the goals
(#19: slots >= 0.8 x healthz requests/s, slots p99 <= 2 x healthz p99). ``--rounds N``
splits each endpoint's 10 s into N interleaved runs, so that both see the same background
load; each endpoint also says its server CPU time per request (gunicorn master and
workers, from /proc), and their ratio ``server_cpu_ratio``: steadier than requests/s when
other work shares the machine. ``--profile`` also prints where an in-process hit spends its time (cProfile over
2,000 hits through Flask's test client: shares of the rate limiter and its storage,
the view, the fast path's connection, the fingerprint and its query).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20260302
EVENTS = 5_000
INSIDE_WINDOWS = 0.02  # share of events placed inside the agreed windows
HORIZON_DAYS = 90
TZ = "Europe/Berlin"
WINDOWS = (
    "mon 09:00-11:00,mon 14:00-17:00,tue 09:00-11:00,tue 14:00-17:00,"
    "wed 09:00-11:00,wed 14:00-17:00,thu 09:00-11:00,thu 14:00-17:00,"
    "fri 09:00-11:00,fri 14:00-17:00"
)
WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_ARGS = ["-t2", "-c50", "--latency", "--timeout", "5s"]
SECONDS = 10  # per endpoint
GOAL_RATIO, GOAL_P99_RATIO = 0.8, 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def busy_events(now: datetime, rng: random.Random) -> list[tuple[datetime, datetime]]:
    """5,000 events of 1-3 h over the horizon, mostly around the windows, some inside.

    A 90-day calendar this full leaves no slot at all if events land anywhere; so most
    events are placed where they do not touch a window (with its 30 min prep and 10 min
    buffer), and ``INSIDE_WINDOWS`` of them start inside a window, which is what keeps
    a good part of the slots from being offered.
    """
    from booking.windows import parse_windows

    tz = ZoneInfo(TZ)
    windows = parse_windows(WINDOWS)
    first_day = now.astimezone(tz).date()
    days = [first_day + timedelta(days=i) for i in range(HORIZON_DAYS + 1)]

    def zones_on(day: date) -> list[tuple[datetime, datetime]]:
        return [
            (
                datetime.combine(day, w.start, tz) - timedelta(minutes=30),
                datetime.combine(day, w.end, tz) + timedelta(minutes=10),
            )
            for w in windows
            if w.weekday == day.weekday()
        ]

    out = []
    while len(out) < EVENTS:
        day = rng.choice(days)
        length = timedelta(minutes=rng.choice(range(60, 181, 15)))
        zones = zones_on(day)
        if zones and rng.random() < INSIDE_WINDOWS:
            zone_start, zone_end = rng.choice(zones)
            start = zone_start + timedelta(minutes=rng.randrange(30, 150, 15))
        else:
            start = datetime.combine(day, datetime.min.time(), tz) + timedelta(
                minutes=rng.randrange(0, 24 * 60, 15)
            )
            if any(start < z_end and z_start < start + length for z_start, z_end in zones):
                continue
        out.append((start.astimezone(UTC), (start + length).astimezone(UTC)))
    return out


def populate(env: dict[str, str], now: datetime) -> str:
    """Create the lawyer, client, calendar and busy rows; return the client's token."""
    import sqlalchemy as sa

    from service import create_app
    from service.storage.extensions import db
    from service.storage.models import BusyBlock, Calendar, CalendarAccount, Lawyer
    from service.usecases.clients import create_client

    config = {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "ENV")}
    app = create_app(config)
    with app.app_context():
        lawyer = Lawyer(name="Anna Keller", email="anna@counsel.example", timezone=TZ)
        db.session.add(lawyer)
        db.session.flush()
        client, token = create_client(
            lawyer,
            name="Boris Petrov",
            email="boris@client.example",
            windows=WINDOWS,
            duration_min=30,
            prep_min=30,
            buffer_min=10,
            notice_hours=24,
            horizon_days=HORIZON_DAYS,
            step_min=15,
            language="en",
        )
        account = CalendarAccount(
            lawyer_id=lawyer.id, kind="ics", label="court.ics", config={"url": "bench"}
        )
        db.session.add(account)
        db.session.flush()
        calendar = Calendar(
            account_id=account.id,
            lawyer_id=lawyer.id,
            remote_id="bench",
            name="Court dates",
            conflict=True,
            synced_at=now,
        )
        db.session.add(calendar)
        db.session.flush()
        rows = [
            {
                "calendar_id": calendar.id,
                "lawyer_id": lawyer.id,
                "key": f"event-{i}@bench",
                "start": start,
                "end": end,
            }
            for i, (start, end) in enumerate(busy_events(now, random.Random(SEED)))
        ]
        db.session.execute(sa.insert(BusyBlock), rows)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return token


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer /healthz in time")


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def run_wrk(url: str, seconds: int, headers: tuple[str, ...] = ()) -> dict:
    out = subprocess.run(
        [WRK, *WRK_ARGS, *(arg for header in headers for arg in ("-H", header)), f"-d{seconds}s", url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "seconds": requests / rps if rps else seconds,
        "rps": round(rps, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far; OSError once it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(master_pid: int) -> float:
    """CPU seconds (user + system) used so far by gunicorn's master and its workers."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    pids = [master_pid, *(int(p) for p in (children.read_text().split() if children.exists() else ()))]
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu_seconds(pid)
        except OSError:
            continue  # a worker that is gone
    return total


def load_test(urls: dict[str, str | tuple[str, tuple[str, ...]]], rounds: int,
              master_pid: int | None = None) -> dict[str, dict]:
    """wrk against each URL (or (URL, request headers)) for ``SECONDS`` in all, split
    into interleaved rounds.

    Rounds (healthz, slots, healthz, slots, ...) expose both endpoints to the same
    background load; requests/s is the total over the rounds, p50/p99 the worst round's.
    With ``master_pid`` (Linux), also the server's CPU time per request: steadier than
    requests/s on a machine other work shares.
    """
    runs: dict[str, list[dict]] = {name: [] for name in urls}
    cpu: dict[str, float] = dict.fromkeys(urls, 0.0)
    for _ in range(rounds):
        for name, url in urls.items():
            before = server_cpu_seconds(master_pid) if master_pid else 0.0
            target, headers = url if isinstance(url, tuple) else (url, ())
            runs[name].append(run_wrk(target, max(1, SECONDS // rounds), headers))
            if master_pid:
                cpu[name] += server_cpu_seconds(master_pid) - before
    out = {}
    for name, parts in runs.items():
        requests = sum(p["requests"] for p in parts)
        out[name] = {
            "rps": round(requests / sum(p["seconds"] for p in parts), 1),
            "p50_ms": max(p["p50_ms"] for p in parts),
            "p99_ms": max(p["p99_ms"] for p in parts),
            "requests": requests,
            "non_2xx": sum(p["non_2xx"] for p in parts),
            "socket_errors": [p["socket_errors"] for p in parts if p["socket_errors"]] or None,
            "rounds": rounds,
            "server_cpu_us_per_request": round(cpu[name] / requests * 1e6) if master_pid and requests else None,
        }
    return out


class TempPostgres:
    """A temporary database on the server at ``server_url``, dropped on exit."""

    def __init__(self, server_url: str) -> None:
        import sqlalchemy as sa

        self.name = f"bench_{secrets.token_hex(4)}"
        driver = server_url.replace("postgresql://", "postgresql+psycopg://", 1).rstrip("/")
        self.admin = sa.create_engine(driver + "/postgres", isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        self.url = server_url.rstrip("/") + "/" + self.name

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def redis_url(given: str | None) -> str | None:
    """The Redis to count rate limits in: the one given, else the local default if it
    answers, else None (memory)."""
    url = given or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=1).ping()
    except Exception:  # noqa: BLE001 - no Redis: memory, said in the output
        if given:
            raise
        return None
    return url


def profile_hits(env: dict[str, str], url: str, hits: int = 2000) -> dict:
    """Where an in-process cached hit spends its time (cProfile, Flask's test client)."""
    import cProfile
    import pstats

    from service import create_app

    app = create_app({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "ENV",
                                           "RATELIMIT_STORAGE_URI", "RATELIMIT_KEY_PREFIX",
                                           "RATELIMIT_SLOTS")})
    http = app.test_client()
    assert http.get(url).status_code == 200  # the miss
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(hits):
        http.get(url)
    profile.disable()
    stats = pstats.Stats(profile).stats
    total = max(t for (_f, _l, name), (_c, _n, _tt, t, _callers) in stats.items()
                if name == "wsgi_app")

    def share(file_part: str, name: str) -> float:
        found = [ct for (f, _l, n), (_c, _n, _tt, ct, _callers) in stats.items()
                 if n == name and file_part in f]
        return round(max(found, default=0) / total, 3)

    return {
        "name": "slots_hit_profile", "hits": hits,
        "us_per_hit_profiled": round(total / hits * 1e6),
        "share_rate_limiter": share("service/web/limits.py", "check_limits"),
        "share_limit_storage": max(share("redis/client.py", "execute_command"),
                                   share("limits/storage/memory.py", "incr")),
        "share_view": share("service/web/api.py", "slots"),
        "share_fast_path_connection": share("sqlalchemy/engine/base.py", "connect"),
        # The fingerprint: on SQLite a pragma while the database is unchanged, else the query.
        "share_fingerprint": share("slot_cache.py", "fingerprint_by_token"),
        "share_fingerprint_query": share("slot_cache.py", "row"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="postgresql://user@host:port")
    parser.add_argument("--redis", metavar="URL", help="count rate limits here (default: local)")
    parser.add_argument("--limits-in-memory", action="store_true",
                        help="count rate limits per worker in memory (as before #19's bench)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="split each endpoint's 10 s into this many interleaved runs (noisy machines)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile in-process hits")
    args = parser.parse_args()
    from cryptography.fernet import Fernet

    now = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="bench-endpoint-"))
    pg = TempPostgres(args.postgres) if args.postgres else None
    limits = None if args.limits_in_memory else redis_url(args.redis)
    env = {
        **os.environ,
        "ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": pg.url if pg else f"sqlite:///{tmp / 'bench.db'}",
        "INSTANCE_PATH": str(tmp / "instance"),
        "BASE_URL": "http://127.0.0.1",
        # The limiter stays on (its cost is part of every request) with a limit this
        # load never reaches: 50 connections from one address are not abuse here.
        "RATELIMIT_SLOTS": "10000000/minute",
        "RATELIMIT_STORAGE_URI": limits or "memory://",
        "RATELIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
    }
    python = sys.executable
    bin_dir = Path(python).parent
    gunicorn = None
    try:
        subprocess.run(
            [str(bin_dir / "flask"), "--app", "service", "db", "upgrade"],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
        )
        os.environ["INSTANCE_PATH"] = env["INSTANCE_PATH"]
        token = populate(env, now)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = subprocess.Popen(
            [
                str(bin_dir / "gunicorn"), "service:create_app()",
                "--workers", str(args.workers), "--no-control-socket",
                "--bind", f"127.0.0.1:{port}",
            ],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        wait_until_up(base, gunicorn)
        first = now.astimezone(ZoneInfo(TZ)).date()
        last = first + timedelta(days=HORIZON_DAYS)
        path = f"/api/v1/slots?token={token}&from={first}&to={last}"
        slots_url = base + path
        with urllib.request.urlopen(slots_url, timeout=10) as response:
            offered = len(json.load(response)["slots"])
        # Every worker computes its offer once: what follows is hits.
        run_wrk(slots_url, 1)
        database = "postgresql" if pg else "sqlite"
        common = {"database": database, "busy_events": EVENTS, "horizon_days": HORIZON_DAYS,
                  "workers": args.workers, "rate_limits": "redis" if limits else "memory"}
        # "slots_in_app": the same request with a cookie, which the replay never answers
        # (service/web/replay.py): the cached offer read inside Flask, for comparison.
        results = load_test({"healthz": base + "/healthz", "slots": slots_url,
                             "slots_in_app": (slots_url, ("Cookie: lang=en",))}, args.rounds,
                            gunicorn.pid if Path("/proc").is_dir() else None)
        healthz = {"name": "healthz", **results["healthz"], **common}
        print(json.dumps(healthz), flush=True)
        slots = {"name": "slots", "slots": offered, **results["slots"], **common}
        print(json.dumps(slots), flush=True)
        in_app = {"name": "slots_in_app", "slots": offered, **results["slots_in_app"], **common,
                  "ratio": round(results["slots_in_app"]["rps"] / healthz["rps"], 3),
                  "note": "the request with a cookie: never replayed, the cached offer read in the app"}
        print(json.dumps(in_app), flush=True)
        ratio = slots["rps"] / healthz["rps"]
        p99_ratio = slots["p99_ms"] / healthz["p99_ms"] if healthz["p99_ms"] else float("inf")
        print(
            json.dumps(
                {
                    "name": "slots_vs_healthz",
                    **common,
                    "ratio": round(ratio, 3),
                    "p99_ratio": round(p99_ratio, 2),
                    # healthz's server CPU per request over slots': the throughput ratio a
                    # saturated, otherwise idle machine would show (wrk's own share aside).
                    "server_cpu_ratio": round(healthz["server_cpu_us_per_request"]
                                              / slots["server_cpu_us_per_request"], 3)
                    if slots.get("server_cpu_us_per_request") and healthz.get("server_cpu_us_per_request")
                    else None,
                    "goal_ratio": f">= {GOAL_RATIO}",
                    "goal_p99_ratio": f"<= {GOAL_P99_RATIO}",
                    "goal": f"#19: slots >= {GOAL_RATIO} x healthz requests/s and p99 <= "
                            f"{GOAL_P99_RATIO} x healthz p99, no non-2xx",
                    "met": ratio >= GOAL_RATIO
                    and p99_ratio <= GOAL_P99_RATIO
                    and not slots["non_2xx"]
                    and not healthz["non_2xx"],
                }
            ),
            flush=True,
        )
        if args.profile:
            print(json.dumps({**profile_hits(env, path), **common}), flush=True)
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.send_signal(signal.SIGTERM)  # the arbiter stops its workers
            try:
                gunicorn.wait(timeout=10)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        if pg is not None:
            pg.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
