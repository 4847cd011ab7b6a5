"""Real servers for integration tests: the app under gunicorn, migrated first.

``Gunicorn(env).start()`` runs ``flask db upgrade`` and then gunicorn bound to a free
port on 127.0.0.1 (``--no-control-socket``), and waits until ``/healthz`` answers.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def stop_process(process: subprocess.Popen, seconds: float, kill_wait: float = 5) -> None:
    """SIGTERM a server or worker still running, wait ``seconds`` for it, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(kill_wait)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, instance: Path, **settings: str) -> dict[str, str]:
    """The environment of a production-like process (no test fallbacks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "TEST_"))}
    env.update(
        ENV="production",
        DATABASE_URL=database_url,
        SECRET_KEY="gunicorn-test-secret-" + "x" * 32,
        ENCRYPTION_KEY=Fernet.generate_key().decode(),
        INSTANCE_PATH=str(instance),
        BASE_URL="http://counsel.test",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def flask_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Gunicorn:
    env: dict[str, str]
    workers: int = 4
    log_dir: Path | None = None
    access_log_enabled: bool = True
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return (self.log_dir or ROOT) / f"gunicorn-{self.port}-access.log"

    @property
    def error_log(self) -> Path:
        return (self.log_dir or ROOT) / f"gunicorn-{self.port}-error.log"

    def start(self, migrate: bool = True) -> Gunicorn:
        if migrate:
            flask_cli(self.env, "db", "upgrade")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "service:create_app()",
                "--workers", str(self.workers),
                "--bind", f"127.0.0.1:{self.port}",
                "--no-control-socket",
                *(["--access-logfile", str(self.access_log),
                   "--access-logformat", '%(p)s %(h)s "%(r)s" %(s)s'] if self.access_log_enabled else []),
                "--error-logfile", str(self.error_log),
                "--timeout", "60",
            ],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.logs()}")
            try:
                if request(self.url, "GET", "/healthz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz:\n{self.logs()}")

    def logs(self) -> str:
        return "".join(p.read_text() for p in (self.error_log, self.access_log) if p.exists())

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, 15)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def request(base: str, method: str, path: str, body: Any = None, headers: dict | None = None,
            timeout: float = 60, conn: http.client.HTTPConnection | None = None,
            source: str | None = None) -> Reply:
    """One HTTP request; ``source`` picks the local address (any of 127.0.0.0/8)."""
    host, port = base.removeprefix("http://").split(":")
    conn = conn or http.client.HTTPConnection(
        host, int(port), timeout=timeout, source_address=(source, 0) if source else None
    )
    payload = None
    headers = dict(headers or {})
    if body is not None:
        payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
        headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.read(), dict(response.getheaders()))
    finally:
        conn.close()


def race(base: str, calls: Sequence[tuple[str, str, Any, dict | None]]) -> list[Reply]:
    """Fire all ``(method, path, body, headers)`` calls at once (connected, then released)."""
    host, port = base.removeprefix("http://").split(":")
    barrier = threading.Barrier(len(calls))
    replies: list[Reply | BaseException | None] = [None] * len(calls)

    def run(index: int, call: tuple) -> None:
        method, path, body, headers = call
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            conn.connect()
            barrier.wait(30)
            replies[index] = request(base, method, path, body, headers, conn=conn)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            replies[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    failures = [r for r in replies if not isinstance(r, Reply)]
    if failures:
        raise AssertionError(f"{len(failures)} requests failed, e.g. {failures[0]!r}")
    return replies  # type: ignore[return-value]


def run_workers(env: dict[str, str], count: int = 1) -> None:
    """``flask worker --once`` in ``count`` processes at the same time."""
    procs = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "worker", "--once"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(count)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed:\n{err.decode()[-2000:]}")


def stored_uids(calendar_server, calendar_url: str) -> list[str]:
    """UIDs of the objects in a test CalDAV server's storage folder, one per file."""
    import re

    return [
        re.search(r"^UID:(.*?)\r?$", f.read_text(), re.MULTILINE).group(1)
        for f in calendar_server.folder(calendar_url).glob("*.ics")
    ]


def require_redis(url: str = "redis://127.0.0.1:6379/0") -> None:
    """Skip (locally) or fail (CI) when Redis cannot be reached."""
    import pytest
    import redis

    from tests.pg import in_ci

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if in_ci():
            pytest.fail(f"Redis at {url} is unreachable: {exc}", pytrace=False)
        pytest.skip(f"Redis at {url} is unreachable: {exc}")


def in_app(env: dict[str, str], work: Callable[[], Any]) -> Any:
    """Run ``work`` in an app context of the same database and keys as the server."""
    from service import create_app
    from service.storage.extensions import db

    config = {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "BASE_URL")}
    app = create_app({**config, "ENV": "production"})
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()
            db.engine.dispose()


def wait_for(condition, seconds: float = 15.0, every: float = 0.05):
    """``condition()``'s first true value within ``seconds`` (polled every ``every``),
    else its value at the end."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return condition()
