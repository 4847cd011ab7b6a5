"""Every answer from a calendar server has a size cap and a total deadline.

A per-read timeout does not bound a read: a server that sends one byte every five
seconds never trips a 60 s read timeout, and a server that answers 1 GB fills memory
before any timeout. Here every HTTP exchange (connect, redirects, headers, body) must be
complete within ``CALENDAR_READ_TIMEOUT_SECONDS`` and the body may not exceed
``CALENDAR_MAX_BYTES`` (decoded, so a gzip bomb counts at its real size).

- :class:`BoundedSession` is the niquests session every provider uses (through
  :func:`service.calendars.netguard.session`). It reads bodies itself, in chunks,
  counting bytes; a watchdog timer shuts the exchange's sockets down at the deadline, so
  a read blocked on a dripping server returns at once.
- :func:`budget` narrows the deadline of every exchange inside it: the web gives a
  whole live check or connect a few seconds in all; the worker gives a task its limit.
- Name resolution is inside the deadline too (:func:`within`): a lookup runs in a helper
  thread and the caller waits only for what is left, so a resolver that never answers is
  cut off like a dripping server.
- A cut-off exchange raises :class:`TooLarge` or :class:`TooSlow` (a ProviderError worded
  for the lawyer, shown on the calendars page), and the session refuses further requests:
  a library that would retry or fall back to other queries stops there.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import niquests

from service.calendars.base import ProviderError

DEFAULT_TIMEOUT_SECONDS = 30
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024

#: monotonic() by which the current operation must be done, if it has a budget
_budget_end: ContextVar[float | None] = ContextVar("calendar_budget_end", default=None)


class CutOff(ProviderError):
    """A calendar answer was cut off (too large or too slow); tried again later."""


class TooLarge(CutOff):
    """Larger than ``CALENDAR_MAX_BYTES`` (plain message argument, as for any ProviderError:
    callers re-raise ``type(exc)(f"calendar X: {exc}")``)."""


class TooSlow(CutOff):
    """Not complete within the deadline or the budget."""


def too_large(subject: str, limit: int) -> TooLarge:
    return TooLarge(f"{subject}: answer larger than {_megabytes(limit)} MB, cut off")


def too_slow(subject: str, seconds: float) -> TooSlow:
    return TooSlow(f"{subject}: no complete answer within {_seconds(seconds)} s, cut off")


def _megabytes(limit: int) -> str:
    return _short(limit / (1024 * 1024))


def _seconds(value: float) -> str:
    return _short(value)


def _short(value: float) -> str:
    """Whole from 10 up, else one decimal, never a trailing ".0" (0.97 reads "1", not "1.0")."""
    value = round(value) if value >= 10 else round(value, 1)
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def limits() -> tuple[float, int]:
    """(seconds, bytes): the app's ``CALENDAR_READ_TIMEOUT_SECONDS`` and
    ``CALENDAR_MAX_BYTES``, or the defaults outside an app."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return float(DEFAULT_TIMEOUT_SECONDS), DEFAULT_MAX_BYTES
    config = current_app.config
    return (
        float(config.get("CALENDAR_READ_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
        int(config.get("CALENDAR_MAX_BYTES", DEFAULT_MAX_BYTES)),
    )


@contextmanager
def budget(seconds: float) -> Iterator[float]:
    """Every calendar exchange inside must end within ``seconds`` from now (a budget
    already in force and shorter stays). Yields the monotonic end."""
    end = time.monotonic() + seconds
    outer = _budget_end.get()
    if outer is not None:
        end = min(end, outer)
    token = _budget_end.set(end)
    try:
        yield end
    finally:
        _budget_end.reset(token)


def remaining() -> float | None:
    """Seconds left in the current budget (None: no budget)."""
    end = _budget_end.get()
    return None if end is None else end - time.monotonic()


def seconds_left() -> float:
    """What an exchange starting now may take: the budget's rest, at most the deadline."""
    seconds, _ = limits()
    left = remaining()
    return seconds if left is None else max(0.0, min(seconds, left))


class DeadlineExceeded(OSError):
    """Raised inside the HTTP stack: a name lookup got no answer within the deadline."""


#: Lookups still running after their caller gave up, at most, per process: each holds a
#: thread until the resolver itself gives up; beyond that a lookup is refused at once.
MAX_STRANDED_LOOKUPS = 16
_lookup_threads = threading.BoundedSemaphore(MAX_STRANDED_LOOKUPS)

T = TypeVar("T")


def within(seconds: float, work: Callable[[], T], what: str = "the name lookup") -> T:
    """``work()`` (a DNS lookup: ``getaddrinfo`` has no timeout of its own) in a helper
    thread, waiting at most ``seconds``; :class:`DeadlineExceeded` after that. The thread
    is left to finish on its own (daemon); at most ``MAX_STRANDED_LOOKUPS`` run at once."""
    if seconds <= 0 or not _lookup_threads.acquire(blocking=False):
        raise DeadlineExceeded(f"{what}: no answer in time")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc
        finally:
            _lookup_threads.release()

    helper = threading.Thread(target=run, daemon=True, name="calendar-dns")
    helper.start()
    helper.join(seconds)
    if helper.is_alive():
        raise DeadlineExceeded(f"{what}: no answer within {_seconds(seconds)} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def in_chain(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The exception of ``kind`` somewhere in ``exc``'s chain (causes, contexts, the
    ``args`` and ``reason`` the HTTP stack wraps errors in), if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo.extend([current.__cause__, current.__context__])
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return None


class SocketRegistry:
    """The sockets a session opened (kept by its resolver), by descriptor and address
    pair: shutting one down is safe even if the descriptor was closed and reused, since
    the pair of addresses is checked first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[int, tuple[Any, Any]] = {}
        #: monotonic end of the exchange in progress (set by the session; the resolver's
        #: lookups wait no longer than this)
        self.deadline: float | None = None

    def add(self, sock: socket.socket) -> None:
        try:
            key = (sock.getsockname(), sock.getpeername())
        except OSError:
            return
        with self._lock:
            self._sockets[sock.fileno()] = key

    def shutdown_all(self) -> None:
        with self._lock:
            known = dict(self._sockets)
            self._sockets.clear()
        for fd, (local, peer) in known.items():
            try:
                dup = socket.socket(fileno=os.dup(fd))
            except OSError:
                continue  # closed meanwhile
            try:
                if (dup.getsockname(), dup.getpeername()) == (local, peer):
                    dup.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread
            except OSError:
                pass
            finally:
                dup.close()


class BoundedSession(niquests.Session):
    """A niquests session whose every exchange is capped in size and total time.

    ``subject`` names the server in messages ("the CalDAV server dav.example").
    """

    def __init__(self, *args: Any, sockets: SocketRegistry | None = None,
                 subject: str = "the calendar server", **kwargs: Any):
        kwargs.setdefault("disable_http3", True)  # QUIC sockets are not watched
        super().__init__(*args, **kwargs)
        self.sockets = sockets or SocketRegistry()
        self.subject = subject
        self.cut_off: CutOff | None = None
        self._deadline: float | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> niquests.Response:  # type: ignore[override]
        if self.cut_off is not None:
            raise self.cut_off
        seconds, _ = limits()
        now = time.monotonic()
        end = now + seconds
        outer = _budget_end.get()
        allowed = seconds if outer is None or outer >= end else max(0.0, outer - now)
        end = min(end, outer) if outer is not None else end
        if end - now <= 0:
            self.cut_off = too_slow(self.subject, allowed)
            raise self.cut_off
        kwargs["timeout"] = _clip_timeout(kwargs.get("timeout"), end - now)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            self.sockets.shutdown_all()

        timer = threading.Timer(end - now, expire)
        timer.daemon = True
        self._deadline = self.sockets.deadline = end
        timer.start()
        try:
            return super().request(method, url, *args, **kwargs)
        except niquests.exceptions.RequestException as exc:
            if expired.is_set() or time.monotonic() >= end or in_chain(exc, DeadlineExceeded):
                self.cut_off = too_slow(self.subject, allowed)
                raise self.cut_off from None
            raise
        except TooSlow:
            self.cut_off = too_slow(self.subject, allowed)
            raise self.cut_off from None
        except CutOff as exc:
            self.cut_off = exc
            raise
        finally:
            timer.cancel()
            self._deadline = self.sockets.deadline = None

    def close(self) -> None:
        super().close()
        resolver = getattr(self, "resolver", None)
        if resolver is not None and not self._own_resolver:
            resolver.close()  # given to us (the guarded resolver): ours to close

    def send(self, request: niquests.PreparedRequest, **kwargs: Any) -> niquests.Response:  # type: ignore[override]
        kwargs["stream"] = True  # the body is read here, counted
        response = super().send(request, **kwargs)
        _read_bounded(response, self.subject, self._deadline)
        return response


def _clip_timeout(timeout: Any, left: float) -> Any:
    """The caller's (connect, read) timeout, no longer than what is left."""
    if timeout is None:
        return (left, left)
    if isinstance(timeout, tuple):
        return tuple(min(float(t), left) if t is not None else left for t in timeout)
    return min(float(timeout), left)


def _read_bounded(response: niquests.Response, subject: str, deadline: float | None) -> None:
    """Read the body into ``response`` (``.content`` works as usual), within the cap."""
    _, cap = limits()
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        response.close()
        raise too_large(subject, cap)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=CHUNK):
        size += len(chunk)
        if size > cap:
            response.close()
            raise too_large(subject, cap)
        if deadline is not None and time.monotonic() > deadline:
            response.close()
            raise too_slow(subject, 0)
        chunks.append(chunk)
    response._content = b"".join(chunks)
    response._content_consumed = True


#: How long a web request waits for a free calendar slot before it is refused.
SLOT_WAIT_SECONDS = 1.5


class CalendarsBusy(ProviderError):
    """Every web slot for calendar calls stayed taken for ``SLOT_WAIT_SECONDS``."""


@contextmanager
def web_call() -> Iterator[None]:
    """Inside a web request: the calendar calls of the block share one budget of
    ``CALENDAR_WEB_BUDGET_SECONDS``, and at most ``CALENDAR_WEB_SLOTS`` requests on this
    host wait on calendar servers at once (a lock file per slot under instance/, so the
    limit holds across gunicorn's processes). With every slot taken for
    ``SLOT_WAIT_SECONDS`` the block is refused with :class:`CalendarsBusy`: slow
    calendars can never occupy every web worker, and a burst of quick checks queues. Outside a request (CLI, worker) nothing changes."""
    from flask import current_app, has_request_context

    if not has_request_context():
        yield
        return
    config = current_app.config
    slots = int(config.get("CALENDAR_WEB_SLOTS", 2))
    slot = _take_slot(current_app.instance_path, slots)
    waited_until = time.monotonic() + SLOT_WAIT_SECONDS
    while slot is None and time.monotonic() < waited_until:
        # A burst of bookings against quick calendars waits its turn; slow calendars
        # keep their slots, and the rest are refused after this short wait.
        time.sleep(0.02)
        slot = _take_slot(current_app.instance_path, slots)
    if slot is None:
        raise CalendarsBusy(
            "too many calendar checks at once on this server; please try again shortly"
        )
    try:
        with budget(float(config.get("CALENDAR_WEB_BUDGET_SECONDS", 8))):
            yield
    finally:
        slot.close()  # closing the file releases its lock


def _take_slot(folder: str, slots: int):
    import fcntl
    from pathlib import Path

    where = Path(folder) / "calendar-slots"
    where.mkdir(parents=True, exist_ok=True)
    for index in range(slots):
        handle = (where / f"{index}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return handle
    return None
