"""The HTTP side of the fake Google (tests/google_fake.py): routing, faults, lost answers.

Paths are the discovery document's (``calendar.v3.json``): ``users/me/calendarList``,
``calendars/{calendarId}/events[/{eventId}|/watch]``, ``channels/stop``, ``freeBusy``
under ``/calendar/v3/``; the OAuth token endpoint is ``POST /token``.
"""

from __future__ import annotations

import base64
import json
import re
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fake_server import QuietHandler, Recorded
from tests.fake_server import route as route_of
from tests.google_fake import API_PREFIX, ApiError, FakeGoogle


def handler_for(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"fake": fake})


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^users/me/calendarList$"), "calendarList.list"),
    ("GET", re.compile(r"^calendars/([^/]+)/events$"), "events.list"),
    ("POST", re.compile(r"^calendars/([^/]+)/events$"), "events.insert"),
    ("POST", re.compile(r"^calendars/([^/]+)/events/watch$"), "events.watch"),
    ("GET", re.compile(r"^calendars/([^/]+)/events/([^/]+)$"), "events.get"),
    ("PATCH", re.compile(r"^calendars/([^/]+)/events/([^/]+)$"), "events.patch"),
    ("DELETE", re.compile(r"^calendars/([^/]+)/events/([^/]+)$"), "events.delete"),
    ("POST", re.compile(r"^channels/stop$"), "channels.stop"),
    ("POST", re.compile(r"^freeBusy$"), "freebusy.query"),
]


_WRITES = {"events.insert", "events.patch", "events.delete"}


class _Handler(QuietHandler):
    fake: FakeGoogle

    def _send(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path == "/token" and self.command == "POST":
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            basic = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                basic = (unquote(user), unquote(password))
            with fake.lock:
                fake.requests.append(Recorded("POST", "/token", {}, form, "token"))
                status, body = fake.token(form, basic)
            self._send(status, body)
            return
        if not parts.path.startswith(API_PREFIX):
            self._send(404, ApiError(404, "notFound", "Not Found").body())
            return
        rel = parts.path[len(API_PREFIX) :]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, ApiError(400, "parseError", "Parse Error").body())
            return
        route = route_of(_ROUTES, self.command, rel)
        if route is None:
            self._send(404, ApiError(404, "notFound", "Not Found").body())
            return
        name, args = route
        with fake.lock:
            fake.requests.append(Recorded(self.command, rel, query, body, name))
            try:
                fake.authenticate(self.headers.get("Authorization"), name)
                if fake._faults and fake._faults[0][0] in (None, name):
                    raise fake._faults.popleft()[1]
                status, result = 200, self._dispatch(name, args, query, body or {})
                if result is None:
                    status = 204
            except ApiError as exc:
                status, result = exc.code, exc.body()
            lose = name in _WRITES and fake._lose > 0
            if lose:
                fake._lose -= 1
        if lose:  # the write is stored; the answer never arrives
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, result)

    def _dispatch(self, name: str, args: list[str], q: dict[str, str], body: dict) -> Any:
        fake = self.fake
        if name == "calendarList.list":
            return fake.calendar_list(q)
        if name == "events.list":
            return fake.events_list(args[0], q)
        if name == "events.get":
            return fake.events_get(*args)
        if name == "events.insert":
            return fake.events_insert(args[0], body, q)
        if name == "events.patch":
            return fake.events_patch(args[0], args[1], body, q)
        if name == "events.delete":
            return fake.events_delete(*args)
        if name == "events.watch":
            return fake.events_watch(args[0], body)
        if name == "channels.stop":
            return fake.channels_stop(body)
        return fake.freebusy(body)
