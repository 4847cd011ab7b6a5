"""A change in the lawyer's calendar -> gone from the offered slots, in seconds, with the
default sync settings and the real processes (#19).

Run from the repository root: ``python bench/bench_freshness.py [--rounds N]
[--push-rounds N] [--postgres URL] [--only caldav,google,microsoft,feed]``.

gunicorn (``tests/servers.py``, 4 workers as the Procfile) and ``flask worker`` (the
supervisor and its lanes, ``--interval`` left at its default, as the Procfile runs it) on
one database (a SQLite file; ``--postgres postgresql://user@host:port``: a temporary
database on that server), with the default ``SYNC_INTERVAL_SECONDS`` and
``CALDAV_PROBE_SECONDS``. Three lawyers, each with one client (every day 07:00-21:00,
30-minute calls) and one conflict calendar, connected with ``flask calendar add-...``
and synced by the worker:

- **CalDAV**: a Radicale calendar. Each round waits a random part of a probe interval
  (one round in each equal part of it, in random order), then the lawyer's own client
  PUTs an event over an offered slot.
- **Google**: the Google stand-in (``tests/google_fake.py``), BASE_URL https so a push
  channel is opened. Each round adds an event in the stand-in and delivers the push
  notification to gunicorn's ``/hooks/google`` as Google would (a POST with the channel's
  headers).
- **Microsoft**: the Graph stand-in (``tests/microsoft_fake.py``, over TLS), whose
  subscription handshake is delivered to gunicorn; each round adds an event and POSTs
  the change notification to ``/hooks/microsoft``.

The clock of a round starts when the change exists (the PUT answered; the notification
is sent) and stops at the first ``GET /api/v1/slots`` (polled every 0.25 s, from
rotating loopback addresses so the per-address rate limit is not what is measured)
without the slot. Feeds are not measured (a change waits for the next conditional GET,
up to 5 minutes): their line is computed from the schedule and says so.

One JSON object per line: per source the rounds' seconds, median, max, the goal, the
ratio max / goal and ``met``; for CalDAV also the PROPFINDs Radicale answered per
calendar and minute (the probe load) over the whole run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_endpoint import TempPostgres  # noqa: E402
from service.core.config import SETTINGS  # noqa: E402
from service.jobs import lanes  # noqa: E402
from tests.calendar_servers import USER, Radicale, event_ics, put_ics, unique  # noqa: E402
from tests.google_fake import FakeGoogle  # noqa: E402
from tests.microsoft_fake import FakeMicrosoft  # noqa: E402
from tests.servers import Gunicorn, flask_cli, in_app, request, server_env, stop_process  # noqa: E402

TZ = ZoneInfo("Europe/Berlin")
EVERY_DAY = ",".join(f"{d} 07:00-21:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
POLL_SECONDS = 0.25
GOALS = {"caldav": 60.0, "google": 10.0, "microsoft": 10.0}
GIVE_UP = {"caldav": 180.0, "google": 60.0, "microsoft": 60.0}
GOOGLE_CALENDAR = "lawyer@example.com"
MICROSOFT_CALENDAR = "AAMkAGbench-default"
DEFAULTS = {s.name: s.default for s in SETTINGS}
WORKER_INTERVAL = 5.0  # ``flask worker --interval``'s default (service/cli/jobs.py)
SOURCES = [f"127.0.0.{i}" for i in range(2, 66)]  # 64 loopback client addresses


def seed(names: list[str]) -> dict[str, tuple[int, str]]:
    """One lawyer and one client per name; returns name -> (lawyer id, link token)."""
    from service.storage.extensions import db
    from service.storage.models import Lawyer
    from service.usecases.clients import create_client

    made = {}
    for name in names:
        lawyer = Lawyer(name=name.title(), email=f"{name}@lawyers.example", timezone=str(TZ))
        db.session.add(lawyer)
        db.session.flush()
        _client, token = create_client(lawyer, name=f"Client of {name}", email=f"{name}@client.example",
                                       windows=EVERY_DAY, duration_min=30, prep_min=0, notice_hours=1,
                                       horizon_days=60)
        made[name] = (lawyer.id, token)
    db.session.commit()
    return made


class Poller:
    """``GET /api/v1/slots`` of one link and day, each time from the next loopback address."""

    def __init__(self, base: str):
        self.base, self.sources, self.requests = base, itertools.cycle(SOURCES), 0

    def slots(self, token: str, day: date) -> list[tuple[datetime, datetime]] | None:
        """The day's offered slots, or None while the service cannot offer any (503)."""
        self.requests += 1
        reply = request(self.base, "GET", f"/api/v1/slots?token={token}&from={day}&to={day}",
                        source=next(self.sources), timeout=10)
        if reply.status == 503:
            return None
        if reply.status != 200:
            raise RuntimeError(f"slots answered {reply.status}: {reply.body[:300]!r}")
        return [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
                for s in reply.json()["slots"]]

    def until_gone(self, token: str, day: date, start: datetime, since: float, give_up: float) -> float | None:
        """Seconds from ``since`` (monotonic) to the first answer without ``start``."""
        while time.monotonic() - since < give_up:
            asked = time.monotonic()
            offered = self.slots(token, day)
            if offered is not None and start not in {s for s, _ in offered}:
                return time.monotonic() - since
            time.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - asked)))
        return None


def wait(condition: Callable[[], object], seconds: float, what: str, env: dict[str, str]) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}; calendars: "
                       f"{in_app(env, calendar_states)}")


def calendar_states() -> list[tuple]:
    import sqlalchemy as sa

    from service.storage.extensions import db
    from service.storage.models import Calendar, OutboxTask

    calendars = [(c.name, c.account.kind, c.conflict, str(c.synced_at), c.last_error)
                 for c in db.session.scalars(sa.select(Calendar))]
    tasks = [(t.kind, t.status, t.attempts, str(t.due_at), (t.last_error or "")[:200])
             for t in db.session.scalars(sa.select(OutboxTask))]
    return calendars + tasks


class Rounds:
    """The days the rounds' slots are taken from: one day per round, 2+ days ahead."""

    def __init__(self, poller: Poller, token: str):
        self.poller, self.token = poller, token
        self.day = datetime.now(TZ).date() + timedelta(days=2)

    def next_slot(self) -> tuple[date, datetime, datetime]:
        self.day += timedelta(days=1)
        offered = self.poller.slots(self.token, self.day)
        if not offered:
            raise RuntimeError(f"no slots offered on {self.day}")
        start, end = offered[len(offered) // 2]
        return self.day, start, end


def figure(source: str, seconds: list[float | None], **extra) -> dict:
    goal = GOALS[source]
    measured = [s for s in seconds if s is not None]
    worst = max(measured) if len(measured) == len(seconds) else None
    return {
        "bench": "freshness", "source": source, "rounds": len(seconds),
        "seconds": [None if s is None else round(s, 2) for s in seconds],
        "median_s": round(statistics.median(measured), 2) if measured else None,
        "max_s": None if worst is None else round(worst, 2),
        "goal_max_s": goal,
        "ratio_max_to_goal": None if worst is None else round(worst / goal, 3),
        "met": worst is not None and worst <= goal,
        **extra,
    }


def caldav_rounds(poller: Poller, token: str, calendar_url: str, rounds: int, rng: random.Random) -> list:
    days, seconds = Rounds(poller, token), []
    # A random moment relative to the worker's probe schedule (the last round's sync set
    # it): one in each equal part of a probe period, in random order, so that a few rounds
    # also see a change made just after a probe (the longest wait).
    period = DEFAULTS["CALDAV_PROBE_SECONDS"] + WORKER_INTERVAL
    waits = [(part + rng.random()) * period / rounds for part in range(rounds)]
    rng.shuffle(waits)
    for index, pause in enumerate(waits):
        day, start, end = days.next_slot()
        time.sleep(pause)
        stamp = "%Y%m%dT%H%M%SZ"
        put_ics(calendar_url, f"fresh-{index}.ics",
                event_ics(f"fresh-{index}@bench", start.astimezone(UTC).strftime(stamp),
                          end.astimezone(UTC).strftime(stamp)))
        seconds.append(poller.until_gone(token, day, start, time.monotonic(), GIVE_UP["caldav"]))
    return seconds


def push_rounds(source: str, poller: Poller, token: str, rounds: int, rng: random.Random,
                change: Callable[[datetime, datetime], None], push: Callable[[], int]) -> list:
    days, seconds = Rounds(poller, token), []
    for _ in range(rounds):
        day, start, end = days.next_slot()
        time.sleep(rng.uniform(0, 1.0))  # a random moment relative to the lanes' polls
        change(start, end)
        since = time.monotonic()
        status = push()
        if status >= 300:
            raise RuntimeError(f"the push notification was answered {status}")
        seconds.append(poller.until_gone(token, day, start, since, GIVE_UP[source]))
    return seconds


def service_requests(radicale: Radicale, path: str) -> tuple[int, int]:
    """The service's requests to the calendar so far, in Radicale's log: (PROPFINDs, all)."""
    text = radicale.log_path.read_text(errors="replace")
    asked = re.findall(rf"\] (\w+) request for '{re.escape(path)}.*python-caldav", text)
    return asked.count("PROPFIND"), len(asked)


def caldav_bound() -> float:
    """The longest wait the schedule allows before the change is asked for: a probe is
    queued at the first worker tick at least CALDAV_PROBE_SECONDS after the last one (or
    the last sync), and claimed at the sync lane's next poll; the sync itself comes on top."""
    return DEFAULTS["CALDAV_PROBE_SECONDS"] + WORKER_INTERVAL + lanes.IDLE_SECONDS


def feed_line() -> dict:
    """A feed change waits for the next sync: computed from the schedule, not measured."""
    interval = DEFAULTS["SYNC_INTERVAL_SECONDS"]
    return {
        "bench": "freshness", "source": "feed", "measured": False,
        "how": ("computed from the schedule: a conditional GET (If-None-Match / If-Modified-Since) "
                "every SYNC_INTERVAL_SECONDS, queued at the worker's next tick, claimed at the sync "
                "lane's next poll; the feed's own download and parse come on top"),
        "sync_interval_s": interval, "worker_tick_s": WORKER_INTERVAL, "lane_poll_s": lanes.IDLE_SECONDS,
        "max_s": interval + WORKER_INTERVAL + lanes.IDLE_SECONDS,
        "median_s": interval / 2 + WORKER_INTERVAL / 2 + lanes.IDLE_SECONDS / 2,
        "goal": "conditional GET every 300 s", "met": interval == 300,
    }


def run(args: argparse.Namespace, folder: Path) -> None:
    only = set(args.only.split(","))
    rng = random.Random(args.seed)
    pg = TempPostgres(args.postgres) if args.postgres else None
    radicale = Radicale(folder / "radicale").start()
    google = FakeGoogle().start()
    microsoft = FakeMicrosoft().start(str(folder))
    web = worker = None
    try:
        google.add_calendar(GOOGLE_CALENDAR, primary=True, time_zone=str(TZ))
        microsoft.add_calendar(MICROSOFT_CALENDAR, "Calendar", default=True)
        calendar_url = radicale.make_calendar(unique("office"))
        url = pg.url if pg else f"sqlite:///{folder / 'fresh.db'}"
        env = server_env(
            url, folder / "instance", ALLOW_PRIVATE_CALENDAR_HOSTS="true",
            BASE_URL="https://counsel.test",  # push channels and subscriptions need https
            GOOGLE_API_ENDPOINT=google.api_endpoint, GOOGLE_TOKEN_URI=google.token_uri,
            GOOGLE_CLIENT_ID=google.client_id, GOOGLE_CLIENT_SECRET=google.client_secret,
            MICROSOFT_CLIENT_ID=microsoft.client_id, MICROSOFT_CLIENT_SECRET=microsoft.client_secret,
            MICROSOFT_AUTHORITY=microsoft.url, MICROSOFT_GRAPH_ENDPOINT=microsoft.graph_endpoint,
            REQUESTS_CA_BUNDLE=microsoft.ca_file,
        )
        for name in ("SYNC_INTERVAL_SECONDS", "CALDAV_PROBE_SECONDS", "CALENDAR_FRESHNESS_MINUTES"):
            env.pop(name, None)  # the defaults are the point
        web = Gunicorn(env, workers=args.workers, log_dir=folder).start()

        def deliver(address: str, token: str) -> tuple[int, str, str]:
            """Graph's validation call to our webhook, over the internet as it were."""
            reply = request(web.url, "POST", f"{urlsplit(address).path}?validationToken={quote(token)}",
                            body=b"", timeout=10)
            return reply.status, reply.headers.get("Content-Type", ""), reply.body.decode()

        microsoft.deliver = deliver
        links = in_app(env, lambda: seed(["caldav", "google", "microsoft"]))
        google_token, microsoft_token = folder / "google.json", folder / "microsoft.json"
        google_token.write_text(json.dumps(google.authorize()))
        microsoft_token.write_text(json.dumps({"refresh_token": microsoft.refresh_token()}))
        flask_cli(env, "calendar", "add-caldav", "--lawyer", str(links["caldav"][0]), "--url", calendar_url,
                  "--username", USER, "--password", radicale.password())
        flask_cli(env, "calendar", "add-google", "--lawyer", str(links["google"][0]),
                  "--token-file", str(google_token))
        flask_cli(env, "calendar", "add-microsoft", "--lawyer", str(links["microsoft"][0]),
                  "--token-file", str(microsoft_token))
        log = folder / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "worker"],
                                      cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        started = time.monotonic()
        poller = Poller(web.url)
        today = datetime.now(TZ).date() + timedelta(days=3)
        for name, (_lawyer, token) in links.items():
            wait(lambda token=token: poller.slots(token, today) is not None, 120, f"{name}'s first sync", env)
        wait(lambda: google.channels, 60, "a Google push channel", env)
        wait(lambda: microsoft.subscriptions, 60, "a Microsoft subscription", env)
        settings = {k: DEFAULTS[k] for k in ("SYNC_INTERVAL_SECONDS", "CALDAV_PROBE_SECONDS")}
        common = {"database": "postgresql" if pg else "sqlite", "web_workers": args.workers,
                  "worker_interval_s": WORKER_INTERVAL, **settings}
        if "caldav" in only:
            path = urlsplit(calendar_url).path
            before, since = service_requests(radicale, path), time.monotonic()
            seconds = caldav_rounds(poller, links["caldav"][1], calendar_url, args.rounds, rng)
            minutes = (time.monotonic() - since) / 60
            after = service_requests(radicale, path)
            print(json.dumps(figure("caldav", seconds, **common,
                                    propfinds_per_minute=round((after[0] - before[0]) / minutes, 2),
                                    requests_per_minute=round((after[1] - before[1]) / minutes, 2),
                                    bound_s=caldav_bound(),
                                    probe_per_1000_calendars_s=round(1000 / DEFAULTS["CALDAV_PROBE_SECONDS"], 1))),
                  flush=True)
        if "google" in only:
            (channel_id,) = list(google.channels)

            def google_change(start: datetime, end: datetime) -> None:
                google.add_event(GOOGLE_CALENDAR, summary="busy", start={"dateTime": start.isoformat()},
                                 end={"dateTime": end.isoformat()})

            def google_push() -> int:
                return request(web.url, "POST", "/hooks/google", body=b"",
                               headers=google.notification(channel_id), timeout=10).status

            seconds = push_rounds("google", poller, links["google"][1], args.push_rounds, rng, google_change, google_push)
            print(json.dumps(figure("google", seconds, **common)), flush=True)
        if "microsoft" in only:
            (subscription_id,) = list(microsoft.subscriptions)

            def microsoft_change(start: datetime, end: datetime) -> None:
                microsoft.add_event(MICROSOFT_CALENDAR, start.astimezone(UTC), end.astimezone(UTC))

            def microsoft_push() -> int:
                return request(web.url, "POST", "/hooks/microsoft",
                               body=microsoft.notification(subscription_id), timeout=10).status

            seconds = push_rounds("microsoft", poller, links["microsoft"][1], args.push_rounds, rng,
                                  microsoft_change, microsoft_push)
            print(json.dumps(figure("microsoft", seconds, **common)), flush=True)
        if "feed" in only:
            print(json.dumps(feed_line()), flush=True)
        print(json.dumps({"bench": "freshness", "figure": "run", "seconds": round(time.monotonic() - started, 1),
                          "slots_requests": poller.requests}), flush=True)
    finally:
        if worker is not None:
            stop_process(worker, 30, kill_wait=10)
        if web is not None:
            web.stop()
        microsoft.stop()
        google.stop()
        radicale.stop()
        if pg is not None:
            pg.drop()
        if args.keep_logs:
            for path in [folder / "worker.log", radicale.log_path, *folder.glob("gunicorn-*.log")]:
                if path.exists():
                    print(f"--- {path.name}", file=sys.stderr)
                    print(path.read_text(errors="replace")[-args.keep_logs:], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="CalDAV rounds (each up to a minute)")
    parser.add_argument("--push-rounds", type=int, default=8, help="Google and Microsoft rounds each")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--postgres", metavar="URL", help="postgresql://user@host:port")
    parser.add_argument("--only", default="caldav,google,microsoft,feed")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--keep-logs", type=int, default=0, metavar="CHARS",
                        help="print the last CHARS of each process's log to stderr at the end")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as folder:
        run(args, Path(folder))


if __name__ == "__main__":
    main()
