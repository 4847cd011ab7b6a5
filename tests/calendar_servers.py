"""Real CalDAV servers for tests and benchmarks: Radicale and Xandikos as subprocesses.

Each server runs on 127.0.0.1 on a free port with its own temporary storage folder.
``start()`` waits until it answers; ``stop()`` ends exactly the process it started.
Under ``CI=true`` a server that cannot start fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import niquests

VENV_BIN = Path(sys.executable).parent
USER = "lawyer"
PASSWORD = "correct horse"  # noqa: S105 - test server credentials


class ServerUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CalendarServer:
    """Base: a server process, its URL, and direct access to its storage."""

    name = "server"

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = root / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 20.0) -> CalendarServer:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                niquests.request("OPTIONS", self.url, timeout=1)
                return self
            except niquests.exceptions.RequestException:
                time.sleep(0.05)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise ServerUnavailable(f"{self.name} did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    # The account as the service sees it.
    def principal_url(self) -> str:
        raise NotImplementedError

    def make_calendar(self, name: str) -> str:
        """Create an empty calendar; returns its URL."""
        raise NotImplementedError

    def bulk_load(self, calendar_url: str, items: Iterable[tuple[str, str]]) -> None:
        """Store (file name, iCalendar text) items quickly, bypassing HTTP."""
        raise NotImplementedError


class Radicale(CalendarServer):
    name = "radicale"

    def __init__(self, root: Path, htpasswd: dict[str, str] | None = None):
        super().__init__(root)
        self.htpasswd = htpasswd
        self.storage = root / "collections"

    def command(self) -> list[str]:
        config = self.root / "radicale.conf"
        auth = "[auth]\ntype = none\ndelay = 0\n"
        if self.htpasswd is not None:
            users = self.root / "users"
            users.write_text("".join(f"{u}:{p}\n" for u, p in self.htpasswd.items()))
            auth = (
                f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n"
                "htpasswd_encryption = plain\ndelay = 0\n"
            )
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\ndelay_on_error = 0\n"
            f"{auth}"
            f"[storage]\nfilesystem_folder = {self.storage}\n"
            "[logging]\nlevel = info\n"
        )
        launcher = Path(__file__).with_name("radicale_nofsync.py")
        return [sys.executable, str(launcher), "--config", str(config)]

    def principal_url(self) -> str:
        return self.url

    def make_calendar(self, name: str) -> str:
        url = f"{self.url}{USER}/{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set>"
            "</C:mkcalendar>"
        )
        response = niquests.request(
            "MKCALENDAR", url, data=body, auth=(USER, self.password()), timeout=10
        )
        assert response.status_code == 201, (response.status_code, response.text)
        return url

    def password(self) -> str:
        return (self.htpasswd or {}).get(USER, PASSWORD)

    def folder(self, calendar_url: str) -> Path:
        path = calendar_url.split(f":{self.port}/", 1)[1].strip("/")
        return self.storage / "collection-root" / path

    def bulk_load(self, calendar_url: str, items: Iterable[tuple[str, str]]) -> None:
        folder = self.folder(calendar_url)
        for name, text in items:
            (folder / name).write_text(text, encoding="utf-8")


class Xandikos(CalendarServer):
    name = "xandikos"

    def __init__(self, root: Path):
        super().__init__(root)
        self.storage = root / "data"

    def command(self) -> list[str]:
        return [
            str(VENV_BIN / "xandikos"),
            "serve",
            "-d",
            str(self.storage),
            "--defaults",
            "--current-user-principal",
            f"/{USER}/",
            "-l",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]

    def principal_url(self) -> str:
        return self.url

    def make_calendar(self, name: str) -> str:
        url = f"{self.url}{USER}/calendars/{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set>"
            "</C:mkcalendar>"
        )
        response = niquests.request("MKCALENDAR", url, data=body, timeout=10)
        assert response.status_code == 201, (response.status_code, response.text)
        return url

    def password(self) -> str:
        return PASSWORD

    def folder(self, calendar_url: str) -> Path:
        path = calendar_url.split(f":{self.port}/", 1)[1].strip("/")
        return self.storage / path

    def bulk_load(self, calendar_url: str, items: Iterable[tuple[str, str]]) -> None:
        """Write the files and commit them to the calendar's git repository at once."""
        from dulwich import porcelain

        folder = self.folder(calendar_url)
        names = []
        for name, text in items:
            (folder / name).write_text(text, encoding="utf-8")
            names.append(str(folder / name))
        with porcelain.open_repo_closing(str(folder)) as repo:
            porcelain.add(repo, names)
            porcelain.commit(repo, message=b"bulk load", author=b"t <t@t>", committer=b"t <t@t>")


SERVERS = {"radicale": Radicale, "xandikos": Xandikos}


def start_server(kind: str, root: Path, **kwargs) -> CalendarServer:
    """Start a server; skip the test if it cannot start, unless CI=true."""
    server = SERVERS[kind](root, **kwargs)
    try:
        return server.start()
    except (ServerUnavailable, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        import pytest

        pytest.skip(f"{kind} cannot start here: {exc}")


def event_ics(uid: str, start: str, end: str, summary: str = "busy", extra: str = "") -> str:
    """A minimal VCALENDAR with one UTC event; start/end as 20270301T090000Z."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Counsel Hours//tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def put_ics(calendar_url: str, name: str, text: str, password: str = PASSWORD) -> str:
    """PUT one object over HTTP (as another client would); returns its URL."""
    url = calendar_url + name
    response = niquests.put(
        url,
        data=text.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        auth=(USER, password),
        timeout=10,
    )
    assert response.status_code in (201, 204), (response.status_code, response.text)
    return url


def delete_ics(url: str, password: str = PASSWORD) -> None:
    response = niquests.delete(url, auth=(USER, password), timeout=10)
    assert response.status_code in (200, 204), (response.status_code, response.text)


def unique(prefix: str = "cal") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
