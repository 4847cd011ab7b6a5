"""Slot answers replayed in front of Flask for a moment (#19: cached slots near ``/healthz``).

A cached ``GET /api/v1/slots`` answer costs one lookup of the offer (``availability``), but
Flask around it costs as much again: request context, session, URL matching and the
app's hooks, which ``/healthz`` pays too. Under a burst of the same request (a popular
widget, a script polling one link) each web process therefore keeps the exact answer it
just gave, for ``SLOTS_REPLAY_MS`` (1 s by default; 0: off), and gives it again to the
same request without entering Flask:

- only ``GET /api/v1/slots`` with the same query string and the same ``Origin`` (the
  widget's requests carry one; the CORS headers depend on it), without ``Cookie`` or
  ``Authorization`` (nothing personal is ever replayed), and only answers the view marked
  as an offer's (``mark``: 200, the offer's JSON) that set no cookie: status, headers and
  body exactly as Flask gave them;
- a replayed answer is at most ``SLOTS_REPLAY_MS`` older than a fully checked one: the
  time is counted from when the answer was computed, never extended by a replay. A
  booking in another process is thus visible in this process's replayed answers within
  that time (the booking itself is checked in its transaction and refused with 409 if
  the slot is gone); any commit in this process (``forget``: the engine's commit event)
  ends every replay at once, and an answer computed while one happened is not kept;
- every replay is counted against the view's rate limits (``limits.RULES``, by the
  client's address) exactly as the view's request would be (``limits.count``); a
  refused one goes on to Flask, which answers the 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, request

from service.web import limits

PATH, ENDPOINT = "/api/v1/slots", "api.slots"
#: The view's limits (``limits.RULES``): all keyed on the client's address, which a replay
#: knows without a request (``init_app`` checks).
RULES = limits.RULES[ENDPOINT]
#: Bytes of answers one process keeps at most (all of them are dropped when it is full).
MAX_BYTES = 8 * 1024 * 1024
_MARK = "counsel.replayable"
_PERSONAL = ("HTTP_COOKIE", "HTTP_AUTHORIZATION")


def mark() -> None:
    """Called by the slots view for an offer's answer: this one may be replayed."""
    request.environ[_MARK] = True


@dataclass(frozen=True)
class _Answer:
    until: float  # time.monotonic() after which it is not replayed
    generation: int  # ``Replay.generation`` when it was computed
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Replay:
    """The WSGI middleware (inside ``ProxyFix``, so ``REMOTE_ADDR`` is the client's)."""

    def __init__(self, app: Flask, wsgi_app: Callable, seconds: float) -> None:
        self.app, self.wsgi_app, self.seconds = app, wsgi_app, seconds
        self.answers: dict[tuple[str, str | None], _Answer] = {}  # by query string and Origin
        self.held_bytes = 0
        self.generation = 0  # commits seen in this process
        self._lock = threading.Lock()

    def forget(self, *_args: object) -> None:
        """A commit in this process: nothing computed before it is replayed."""
        with self._lock:
            self.generation += 1
            self.answers, self.held_bytes = {}, 0

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") != PATH
                or any(name in environ for name in _PERSONAL)):
            return self.wsgi_app(environ, start_response)
        query = (environ.get("QUERY_STRING", ""), environ.get("HTTP_ORIGIN"))
        answer = self.answers.get(query)
        if (answer is not None and answer.generation == self.generation
                and time.monotonic() < answer.until and self._counted(environ)):
            start_response(answer.status, list(answer.headers))
            return [answer.body]
        return self._answer_and_keep(query, environ, start_response)

    def _counted(self, environ: dict) -> bool:
        """Count the request against the view's limits, as ``check_limits`` would; False
        if one is full (Flask then answers, and counts it as a refusal again)."""
        address = limits.address_of(environ)
        return all(limits.count(self.app, rule, address) is None for rule in RULES)

    def _answer_and_keep(self, query: tuple[str, str | None], environ: dict, start_response: Callable) -> Iterable[bytes]:
        generation, started = self.generation, time.monotonic()
        given: list = []

        def keep_start(status: str, headers: list, exc_info: object = None) -> Callable:
            given[:] = [status, headers]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        answer = self.wsgi_app(environ, keep_start)
        if (not environ.get(_MARK) or not given or not given[0].startswith("200 ")
                or any(name.lower() == "set-cookie" for name, _value in given[1])):
            return answer
        try:
            body = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        with self._lock:
            if generation == self.generation:
                replaced = self.answers.pop(query, None)
                self.held_bytes -= len(replaced.body) if replaced else 0
                if self.held_bytes + len(body) > MAX_BYTES:
                    self.answers, self.held_bytes = {}, 0
                self.answers[query] = _Answer(started + self.seconds, generation, given[0],
                                              tuple(given[1]), body)
                self.held_bytes += len(body)
        return [body]


def init_app(app: Flask) -> None:
    """Put the replay in front of the app (before ``limits.init_app`` wraps it in
    ``ProxyFix``) unless ``SLOTS_REPLAY_MS`` is 0."""
    milliseconds = app.config["SLOTS_REPLAY_MS"]
    if milliseconds <= 0:
        return
    if app.url_map.bind("").match(PATH)[0] != ENDPOINT or any(
            rule.key is not limits.client_address for rule in RULES):
        raise RuntimeError(f"{PATH} is not {ENDPOINT} limited by address: the replay would be wrong")
    from service.storage.extensions import db

    replay = Replay(app, app.wsgi_app, milliseconds / 1000)
    with app.app_context():
        sa.event.listen(db.engine, "commit", replay.forget)
    app.extensions["slots_replay"] = replay
    app.wsgi_app = replay  # type: ignore[method-assign]
