"""A hostile calendar server on loopback: giant answers, drips, redirect loops, gzip bombs.

Every method (GET, PROPFIND, REPORT, ...) is answered by the first path segment:

- ``/giant/...``     200, no Content-Length, an endless calendar-ish body (stops when the
                     client hangs up); ``/giant-declared/...`` the same with a 1 GB
                     Content-Length.
- ``/drip/...``      headers at once, then one byte every ``drip`` seconds, for ever.
- ``/drip-headers/`` the status line and headers one byte every ``drip`` seconds.
- ``/loop/N``        302 to ``/loop/N+1``, for ever.
- ``/bomb/...``      a small gzip body (``Content-Encoding: gzip``) that inflates to 256 MB.
- ``/slow/S/...``    a good answer (``ok_body``) after sleeping S seconds.
- ``/ok/...``        a good answer at once.
- ``/big/N/...``     a feed of N plain events (~130 bytes each; parsing costs about 7 s of
                     CPU per MB, all before the first event can be read).
- ``/poison/N/...``  a small feed (N events, default 200, ~200 bytes each) that costs CPU:
                     each event repeats daily from 1470 with a COUNT just under the
                     reader's per-event cap (``icsexpand.MAX_STEPS``), so expanding it
                     takes about a second of pure Python, and the feed N seconds.

It counts requests and, per connection, when the client hung up, so a test can see
that the service let go. Run it alone for the bench: ``python -m tests.hostile_calendar``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ICS_HEAD = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n"
EVENT = (
    b"BEGIN:VEVENT\r\nUID:%d@hostile\r\nDTSTAMP:20261201T000000Z\r\n"
    b"DTSTART:20261203T100000Z\r\nDTEND:20261203T110000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\n"
)
OK_BODY = ICS_HEAD + (EVENT % 1) + b"END:VCALENDAR\r\n"
POISON_EVENT = (
    b"BEGIN:VEVENT\r\nUID:poison-%d@hostile\r\nDTSTAMP:20261201T000000Z\r\n"
    b"DTSTART:14700101T100000Z\r\nDTEND:14700101T103000Z\r\n"
    b"RRULE:FREQ=DAILY;COUNT=199999\r\nSUMMARY:x\r\nEND:VEVENT\r\n"
)


def poison_body(events: int = 200) -> bytes:
    return ICS_HEAD + b"".join(POISON_EVENT % i for i in range(events)) + b"END:VCALENDAR\r\n"


def _bomb(size: int = 256 * 1024**2) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as z:
        block = b"\0" * (1024 * 1024)
        for _ in range(size // len(block)):
            z.write(block)
    return out.getvalue()


class HostileServer:
    def __init__(self, drip: float = 0.5, host: str = "127.0.0.1", port: int = 0):
        self.drip = drip
        self.requests = 0
        self.hangups: list[float] = []  # monotonic times a client let go of a hostile answer
        self._bomb: bytes | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    server._hung_up()
                    self.close_connection = True

            def _any(self) -> None:
                with server._lock:
                    server.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                parts = [p for p in self.path.split("/") if p]
                mode = parts[0] if parts else "ok"
                getattr(self, "_" + mode.replace("-", "_"), self._ok)(parts)

            do_GET = do_PROPFIND = do_REPORT = do_PUT = do_POST = do_DELETE = _any  # noqa: N815

            def _status(self, code: int, headers: dict[str, str]) -> None:
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def _ok(self, parts) -> None:
                self._status(200, {"Content-Type": "text/calendar", "Content-Length": str(len(OK_BODY))})
                self.wfile.write(OK_BODY)

            def _big(self, parts) -> None:
                events = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 30000
                body = ICS_HEAD + b"".join(EVENT % i for i in range(events)) + b"END:VCALENDAR\r\n"
                self._status(200, {"Content-Type": "text/calendar", "Content-Length": str(len(body))})
                self.wfile.write(body)

            def _poison(self, parts) -> None:
                events = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 200
                body = poison_body(events)
                self._status(200, {"Content-Type": "text/calendar", "Content-Length": str(len(body))})
                self.wfile.write(body)

            def _slow(self, parts) -> None:
                time.sleep(float(parts[1]))
                self._ok(parts)

            def _endless(self) -> None:
                self.wfile.write(ICS_HEAD)
                block = b"".join(EVENT % i for i in range(200))
                while True:
                    self.wfile.write(block)

            def _giant(self, parts) -> None:
                self.close_connection = True
                self._status(200, {"Content-Type": "text/calendar", "Connection": "close"})
                self._endless()

            def _giant_declared(self, parts) -> None:
                self._status(200, {"Content-Type": "text/calendar", "Content-Length": str(1024**3)})
                self._endless()

            def _drip(self, parts) -> None:
                self._status(200, {"Content-Type": "text/calendar", "Content-Length": str(1024**2)})
                self.wfile.flush()
                while True:
                    self.wfile.write(b"B")
                    self.wfile.flush()
                    time.sleep(server.drip)

            def _drip_headers(self, parts) -> None:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nX-Slow: " + b"a" * 60000:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(server.drip)

            def _loop(self, parts) -> None:
                n = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                self._status(302, {"Location": f"/loop/{n + 1}", "Content-Length": "0"})

            def _bomb(self, parts) -> None:
                body = server.bomb()
                self._status(200, {"Content-Type": "text/calendar", "Content-Encoding": "gzip",
                                   "Content-Length": str(len(body))})
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def bomb(self) -> bytes:
        with self._lock:
            if self._bomb is None:
                self._bomb = _bomb()
            return self._bomb

    def _hung_up(self) -> None:
        with self._lock:
            self.hangups.append(time.monotonic())

    def url(self, mode: str, rest: str = "cal.ics") -> str:
        return f"{self.base}/{mode}/{rest}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--drip", type=float, default=5.0)
    args = parser.parse_args()
    with HostileServer(drip=args.drip, port=args.port) as server:
        print(server.base, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
