"""What the tests' stand-ins for Google and Microsoft share: a threaded HTTP (or, given a
TLS context, HTTPS) server on a free loopback port, the log of the requests it got, and
a quiet request handler with one routing table.

    class FakeX(FakeServer):
        def start(self):
            return self.serve(handler_for(self), tls=context)   # tls: None for plain HTTP

``requests`` holds a ``Recorded`` per request (append under ``lock``); ``calls(name)``
those of one API method.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass
class Recorded:
    method: str
    path: str  # under the API prefix for API calls, else the whole path ("/token")
    query: dict[str, str]
    body: Any
    name: str = ""  # the API method, e.g. "events.list"
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """A stand-in's server, its lock and its request log."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self._server: ThreadingHTTPServer | None = None
        self._scheme = "http"

    def serve(self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def calls(self, name: str) -> list[Recorded]:
        return [r for r in self.requests if r.name == name]


def route(routes: list[tuple[str, re.Pattern[str], str]], verb: str, path: str) -> tuple[str, list[str]] | None:
    """The API method name and the (unquoted) path arguments of ``verb path``, if routed."""
    for method, pattern, name in routes:
        match = pattern.match(path)
        if method == verb and match:
            return name, [unquote(a) for a in match.groups()]
    return None


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, no access log, every verb to ``_handle``; a client that cuts the exchange
    off (the bounded session does) is no error."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
        pass

    def handle(self) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            super().handle()

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def _handle(self) -> None:
        raise NotImplementedError
