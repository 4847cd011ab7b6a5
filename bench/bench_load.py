"""Load benchmark: bookings/s and p99 through gunicorn (4 workers) on PostgreSQL.

Run from the repo root: ``python bench/bench_load.py``. Creates a throwaway PostgreSQL
database (``BENCH_POSTGRES_URL``, default the local server), seeds lawyers with one
client each, migrates, starts gunicorn on 127.0.0.1 and drives it from a second process
(``wrk`` with ``bench/wrk_bookings.lua``; a small threaded client if wrk is missing).
Every POST asks for a distinct free slot, spread over the lawyers, so it measures
successful bookings. Then ``/healthz`` and one client's week of slots, for scale.
Prints one JSON object per line; the last one holds the ratios. Bounded: about 40 s.
``--rounds N`` splits each phase's time into N runs, interleaved (bookings, ``/healthz``,
slots, N times), so that all three see the same background load on a shared machine.

``--instructions N`` instead counts the machine instructions the app's process spends on
``N`` bookings and on ``10 N`` ``/healthz`` in process (valgrind's callgrind, collection on
around the requests only; PostgreSQL's process is not counted): the same code gives the
same count to 0.2 % whatever else the machine does, so a change to the booking path can be
weighed on a noisy shared machine where requests/s drift by 10 % between runs.

``--profile`` instead books in process (Flask's test client, the same seeded PostgreSQL
database, no gunicorn): ``--bookings`` bookings timed by CPU (this process's and the
PostgreSQL backend's, from ``/proc``) against ten times as many ``/healthz`` in
``--rounds`` interleaved rounds; the statements of one booking; then where ``--sampled``
more bookings spend their CPU (a sampling profiler: shares by layer and by function).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_endpoint import process_cpu_seconds, server_cpu_seconds  # noqa: E402
from tests.servers import Gunicorn, in_app, server_env  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKERS = 4
LAWYERS = 40
CONNECTIONS = 8
BOOKING_SECONDS = 10
BASELINE_SECONDS = 5
EVERY_DAY = ",".join(f"{d} 07:00-21:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def seed(env: dict[str, str]) -> tuple[list[tuple[str, str]], str]:
    """Lawyers with one client each; returns (token, start) pairs round-robin over lawyers."""

    def work():
        from service.storage.extensions import db
        from service.storage.models import Lawyer, utcnow
        from service.usecases.availability import slots_for
        from service.usecases.clients import create_client

        made = []
        for n in range(LAWYERS):
            lawyer = Lawyer(name=f"Lawyer {n}", email=f"lawyer{n}@bench.example", timezone="Europe/Berlin")
            db.session.add(lawyer)
            made.append(create_client(lawyer, name=f"Client {n}", email=f"client{n}@bench.example",
                                      windows=EVERY_DAY, duration_min=15, prep_min=0, notice_hours=1,
                                      horizon_days=30))
        db.session.commit()
        now = utcnow()
        per_lawyer = [[(token, s.start.isoformat()) for s in slots_for(client, now)] for client, token in made]
        pairs = [pair for row in zip(*per_lawyer, strict=False) for pair in row]
        return pairs, made[0][1]

    return in_app(env, work)


def run_wrk(url: str, script: str, seconds: int, extra_env: dict[str, str] | None = None) -> dict:
    threads = 2
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True, text=True, timeout=seconds + 30,
        env={**os.environ, "WRK_THREADS": str(threads), **(extra_env or {})},
    )
    for line in result.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            return json.loads(line.removeprefix("WRK_RESULT "))
    raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")


def run_threads(base: str, seconds: int, make_request) -> dict:
    """Fallback client: CONNECTIONS threads issuing requests until the deadline."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    def loop():
        while time.monotonic() < deadline:
            method, path, body = make_request(next(counter))
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            status = conn.getresponse().status
            elapsed = time.perf_counter() - started
            conn.close()
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.monotonic()
    workers = [threading.Thread(target=loop) for _ in range(CONNECTIONS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    duration = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies), "duration_us": int(duration * 1e6),
        "created": statuses.get(201, 0), "conflicts": statuses.get(409, 0), "ok": statuses.get(200, 0),
        "other": sum(v for k, v in statuses.items() if k not in (200, 201, 409)), "socket_errors": 0,
        "p50_us": int(q[49] * 1e6), "p90_us": int(q[89] * 1e6), "p99_us": int(q[98] * 1e6),
        "max_us": int(max(latencies) * 1e6),
    }


def merged(runs: list[dict]) -> dict:
    """The runs of one endpoint as one: counts and time added up; p50 the median of the
    runs' p50, p99 and max the worst run's (percentiles cannot be added up)."""
    total = {k: sum(r[k] for r in runs) for k in ("requests", "duration_us", "created", "conflicts", "ok",
                                                  "other", "socket_errors", "app_cpu_s", "postgres_cpu_s")
             if k in runs[0]}
    return total | {"p50_us": statistics.median(r["p50_us"] for r in runs),
                    "p90_us": max(r["p90_us"] for r in runs), "p99_us": max(r["p99_us"] for r in runs),
                    "max_us": max(r["max_us"] for r in runs)}


def line(name: str, raw: dict, client: str, **extra) -> dict:
    seconds = raw["duration_us"] / 1e6
    good = raw.get("created") or raw.get("ok", 0)
    out = {
        "name": name, "client": client, "workers": WORKERS, "database": "postgresql",
        "connections": CONNECTIONS, "seconds": round(seconds, 2), "requests": raw["requests"],
        "per_second": round(good / seconds, 1), "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2), "max_ms": round(raw["max_us"] / 1000, 2),
    } | {k: raw[k] for k in ("created", "conflicts", "ok", "other", "socket_errors") if k in raw} | {
        f"{k}_cpu_ms_per_request": round(raw[f"{k}_cpu_s"] / max(raw["requests"], 1) * 1000, 3)
        for k in ("app", "postgres") if f"{k}_cpu_s" in raw
    } | extra
    print(json.dumps(out), flush=True)
    return out


def backend_cpu(conn) -> float:
    """CPU seconds the PostgreSQL backend of ``conn`` has used (utime + stime)."""
    try:
        return process_cpu_seconds(conn.exec_driver_sql("select pg_backend_pid()").scalar())
    except OSError:
        return float("nan")


def _backends_cpu_seconds(database: str) -> float:
    """CPU seconds used so far by the live PostgreSQL backends serving ``database``."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if command.startswith("postgres:") and f" {database} " in command:
                    total += process_cpu_seconds(int(entry.name))
        except OSError:
            continue  # a process that is gone
    return total


def server_cpu(master_pid: int, database: str) -> dict[str, float]:
    """CPU seconds used so far by gunicorn (``master_pid`` and its workers) and by the
    PostgreSQL backends serving ``database``."""
    return {"app": server_cpu_seconds(master_pid), "postgres": _backends_cpu_seconds(database)}


def with_cpu(run: Callable[[], dict], master_pid: int, database: str) -> dict:
    """``run()``'s result with the CPU the servers spent on it (``server_cpu``)."""
    before = server_cpu(master_pid, database)
    result = run()
    after = server_cpu(master_pid, database)
    return result | {f"{k}_cpu_s": after[k] - before[k] for k in before}


def app_config(env: dict[str, str]) -> dict[str, str]:
    """What an app in this process needs of the servers' environment."""
    return {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "BASE_URL")}


def in_process(config: dict[str, str], pairs: list[tuple[str, str]]) -> tuple[Any, Callable[[], None],
                                                                             Callable[[], None]]:
    """The app as the servers run it (``config``: ``app_config``), and two requests through
    Flask's test client: a booking of the next of ``pairs`` (201 expected) and a
    ``/healthz``."""
    from service import create_app

    app = create_app({**config, "ENV": "production", "RATELIMIT_ENABLED": False})  # as the servers'
    http = app.test_client()
    todo = iter(pairs)

    def book() -> None:
        token, start = next(todo)
        response = http.post("/api/v1/bookings", json={
            "token": token, "start": start, "name": "Load Test", "email": "load@client.example",
            "agenda": "Benchmark call"})
        assert response.status_code == 201, response.get_data(as_text=True)

    def health() -> None:
        assert http.get("/healthz").status_code == 200

    return app, book, health


def profile_bookings(env: dict[str, str], pairs: list[tuple[str, str]], count: int, rounds: int,
                     sampled: int) -> None:
    """CPU per booking in process against CPU per ``/healthz`` (``count`` bookings and ten
    times as many ``/healthz``, interleaved in ``rounds`` so that both see the same
    background load), then where ``sampled`` more bookings spend their CPU."""
    import sqlalchemy as sa

    from service.storage.extensions import db

    app, book, health = in_process(app_config(env), pairs)

    def backend() -> float:
        with app.app_context(), db.engine.connect() as conn:  # the pool's one connection
            return backend_cpu(conn)

    for _ in range(20):  # warm: imports, compiled statements, the pool's connection
        book()
        health()
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split())[:160])

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    book()
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    print(json.dumps({"name": "booking_statements", "count": len(statements), "sql": statements}),
          flush=True)
    app_cpu = pg_cpu = health_cpu = 0.0
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        cpu, pg = time.process_time(), backend()
        for _ in range(per_round):
            book()
        pg_cpu += backend() - pg
        app_cpu += time.process_time() - cpu
        cpu = time.process_time()
        for _ in range(per_round * 10):
            health()
        health_cpu += time.process_time() - cpu
    booked = per_round * rounds
    print(json.dumps({
        "name": "booking_cpu", "bookings": booked, "rounds": rounds, "database": "postgresql",
        "app_cpu_ms_per_booking": round(app_cpu / booked * 1000, 3),
        "postgres_cpu_ms_per_booking": round(pg_cpu / booked * 1000, 3),
        "app_cpu_ms_per_healthz": round(health_cpu / (booked * 10) * 1000, 3),
        "booking_app_cpu_over_healthz": round(app_cpu / (health_cpu / 10), 2),
        "booking_cpu_over_healthz": round((app_cpu + pg_cpu) / (health_cpu / 10), 2),
        "note": "in process (test client), no gunicorn; the goal's 10 % of /healthz is about 10 here",
    }), flush=True)
    if not sampled:
        return
    samples = sample_cpu(book, sampled)
    print(json.dumps({"name": "booking_profile", "bookings": sampled, "samples": samples["total"],
                      "note": "shares of CPU samples (SIGPROF): by the layer and the function on top of "
                              "the stack (own), by the functions on the stack (inclusive)",
                      "layers": samples["layers"], "inclusive": samples["inclusive"], "own": samples["own"]}),
          flush=True)


def sample_cpu(work, times: int, every: float = 0.001) -> dict:
    """Where ``work`` spends its CPU: a sampling profiler (SIGPROF each ``every`` s of CPU
    time) over ``times`` calls; the shares of samples per function, inclusive (on the
    stack) and own (on top). Unlike cProfile it does not slow down small calls more."""
    import signal
    from collections import Counter

    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    root = str(ROOT) + "/"

    def name(frame) -> str:
        path = frame.f_code.co_filename
        if "site-packages/" in path:
            path = path.split("site-packages/", 1)[1]
        elif path.startswith(root):
            path = path[len(root):]
        return f"{path}:{frame.f_code.co_name}"

    def on_sample(_signum, frame) -> None:
        nonlocal total
        total += 1
        own[name(frame)] += 1
        seen = set()
        while frame is not None:
            seen.add(name(frame))
            frame = frame.f_back
        inclusive.update(seen)

    previous = signal.signal(signal.SIGPROF, on_sample)
    signal.setitimer(signal.ITIMER_PROF, every, every)
    try:
        for _ in range(times):
            work()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, previous)

    def top(counter: Counter, n: int) -> dict[str, float]:
        return {k: round(v / max(total, 1), 3) for k, v in counter.most_common(n)}

    layers: Counter = Counter()
    for where, count in own.items():
        layers[next((layer for prefix, layer in LAYERS if where.startswith(prefix)), "other")] += count
    return {"total": total, "layers": top(layers, 20), "inclusive": top(inclusive, 70), "own": top(own, 40)}


#: Where a sample's own time is spent, by the file on top of the stack.
LAYERS = (
    ("sqlalchemy/orm/", "sqlalchemy orm"), ("sqlalchemy/", "sqlalchemy core"), ("psycopg", "psycopg"),
    ("service/", "service and booking"), ("booking/", "service and booking"),
    ("werkzeug/", "flask and werkzeug"), ("flask", "flask and werkzeug"),
    ("cryptography/", "cryptography"), ("email_validator/", "email_validator"), ("json/", "json"),
)


WARM = 30  # requests of each kind before counting (imports, compiled statements, pool)


def count_instructions(env: dict[str, str], pairs: list[tuple[str, str]], count: int, tmp: Path) -> int:
    """Instructions per booking and per ``/healthz`` in process, under callgrind (one run
    each, this script again with ``--counted``)."""
    if shutil.which("valgrind") is None:
        print(json.dumps({"name": "booking_instructions", "error": "valgrind is not installed"}))
        return 2
    config = app_config(env)
    per = {}
    for what, times in (("bookings", count), ("healthz", count * 10)):
        work = tmp / f"counted-{what}.json"  # each run books slots of its own
        work.write_text(json.dumps({"config": config, "pairs": pairs[:WARM + count] if what == "bookings"
                                    else pairs[WARM + count:]}))
        out = tmp / f"callgrind-{what}.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--counted", what, "--count", str(times), "--work", str(work)],
                       check=True, capture_output=True, timeout=900, cwd=ROOT)
        totals = next(line for line in out.read_text().splitlines() if line.startswith("totals:"))
        per[what] = int(totals.split()[1]) / times
    print(json.dumps({
        "name": "booking_instructions", "bookings": count, "healthz": count * 10,
        "per_booking": round(per["bookings"]), "per_healthz": round(per["healthz"]),
        "booking_over_healthz": round(per["bookings"] / per["healthz"], 2),
        "note": "the app's process only, in process (test client): repeatable to 0.2 %",
    }), flush=True)
    return 0


def counted_requests(what: str, times: int, work: Path) -> None:
    """Under callgrind (``count_instructions``): warm, then ``times`` requests with
    instruction collection on."""
    data = json.loads(work.read_text())
    _, book, health = in_process(data["config"], data["pairs"])
    request = book if what == "bookings" else health
    for _ in range(WARM):
        book()
        health()
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
    for _ in range(times):
        request()
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="profile bookings in process instead")
    parser.add_argument("--bookings", type=int, default=300, help="--profile: bookings timed by CPU")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved runs of bookings, /healthz and slots, each its share of the time "
                             "(default 1); --profile: rounds of bookings and /healthz (default 5)")
    parser.add_argument("--sampled", type=int, default=300, help="--profile: bookings sampled (0: none)")
    parser.add_argument("--instructions", type=int, default=0, metavar="N",
                        help="count the instructions of N bookings and 10 N /healthz in process instead")
    parser.add_argument("--counted", choices=("bookings", "healthz"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.counted:  # the child of --instructions, under callgrind
        counted_requests(args.counted, args.count, args.work)
        return 0
    args.rounds = args.rounds or (5 if args.profile else 1)
    name = f"ch_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        print(json.dumps({"name": "bookings", "error": f"PostgreSQL unreachable: {exc}".strip()}))
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="ch-bench-"))
    try:
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        env = server_env(url, tmp / "instance", RATELIMIT_ENABLED="false")
        gunicorn = Gunicorn(env, workers=WORKERS, log_dir=tmp, access_log_enabled=False)
        from tests.servers import flask_cli

        flask_cli(env, "db", "upgrade")
        pairs, first_token = seed(env)
        if args.profile:
            profile_bookings(env, pairs, args.bookings, args.rounds, args.sampled)
            return 0
        if args.instructions:
            return count_instructions(env, pairs, args.instructions, tmp)
        gunicorn.start(migrate=False)
        try:
            use_wrk = shutil.which("wrk") is not None
            client = "wrk" if use_wrk else "python-threads"
            here = Path(__file__).resolve().parent
            slots_path = f"/api/v1/slots?token={first_token}"
            runs: dict[str, list[dict]] = {"bookings": [], "healthz": [], "slots": []}
            chunk = len(pairs) // args.rounds
            for turn in range(args.rounds):  # interleaved: each sees the same background load
                mine = pairs[turn * chunk:(turn + 1) * chunk]  # distinct slots, every lawyer's
                seconds = max(1, round(BOOKING_SECONDS / args.rounds))
                baseline = max(1, round(BASELINE_SECONDS / args.rounds))
                if use_wrk:
                    pairs_file = tmp / f"bookings-{turn}.txt"
                    pairs_file.write_text("".join(f"{t} {s}\n" for t, s in mine))
                    report = str(here / "wrk_report.lua")
                    phases = {
                        "bookings": partial(run_wrk, gunicorn.url, str(here / "wrk_bookings.lua"), seconds,
                                            {"BOOKINGS_FILE": str(pairs_file)}),
                        "healthz": partial(run_wrk, gunicorn.url + "/healthz", report, baseline),
                        "slots": partial(run_wrk, gunicorn.url + slots_path, report, baseline),
                    }
                else:
                    def make(i, mine=mine):
                        token, start = mine[i % len(mine)]
                        body = json.dumps({"token": token, "start": start, "name": "Load Test",
                                           "email": "load@client.example", "agenda": "Benchmark call"})
                        return "POST", "/api/v1/bookings", body
                    phases = {
                        "bookings": partial(run_threads, gunicorn.url, seconds, make),
                        "healthz": partial(run_threads, gunicorn.url, baseline, lambda i: ("GET", "/healthz", None)),
                        "slots": partial(run_threads, gunicorn.url, baseline, lambda i: ("GET", slots_path, None)),
                    }
                for phase, run in phases.items():
                    runs[phase].append(with_cpu(run, gunicorn.process.pid, name))
            booked, health, slot_list = (merged(runs[k]) for k in ("bookings", "healthz", "slots"))
            rows = in_app(env, lambda: _count_bookings())
            bookings = line("bookings", booked, client, rows=rows, distinct_slots=len(pairs),
                            rounds=args.rounds)
            healthz = line("healthz", health, client, rounds=args.rounds)
            slots = line("slots", slot_list, client, rounds=args.rounds, note="one client, 30-day horizon, 14 h windows daily, the same request repeated")
        finally:
            gunicorn.stop()
        print(json.dumps({
            "name": "ratios",
            "bookings_per_healthz": round(bookings["per_second"] / healthz["per_second"], 3),
            "slots_per_healthz": round(slots["per_second"] / healthz["per_second"], 3),
            "bookings_p99_over_healthz_p99": round(bookings["p99_ms"] / max(healthz["p99_ms"], 0.01), 1),
            # What the servers spent per request (gunicorn + PostgreSQL backends):
            # the CPU side of the throughput ratio, with the machine's sharing included.
            "booking_server_cpu_over_healthz": round(
                (bookings["app_cpu_ms_per_request"] + bookings["postgres_cpu_ms_per_request"])
                / max(healthz["app_cpu_ms_per_request"] + healthz["postgres_cpu_ms_per_request"], 1e-6), 2),
        }), flush=True)
        # Requests still in flight when wrk stops are booked but not counted by it.
        counted = bookings["created"] <= rows <= bookings["created"] + CONNECTIONS * args.rounds
        return 0 if bookings["other"] == 0 and bookings["socket_errors"] == 0 and counted else 1
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(tmp, ignore_errors=True)


def _count_bookings() -> int:
    import sqlalchemy as sa

    from service.storage.extensions import db
    from service.storage.models import Booking

    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


if __name__ == "__main__":
    sys.exit(main())
