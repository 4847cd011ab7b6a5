"""``flask worker`` is a small supervisor: the lanes run in a child process it can kill.

Python cannot kill a thread. A task stuck in pure CPU work (a feed whose events cost
seconds each to expand, a C call that never returns) keeps its thread, or with a C loop
holding the GIL the whole process, for as long as it lasts. So the lanes
(``service.jobs.lanes``) run in a child process, forked from this one (everything is
imported already: a fresh child works within a fraction of a second), that reports
through a pipe each task's start and end and a heartbeat every second, and this process:

- **kills the child** (SIGTERM: it stops at once, its other tasks finished; SIGKILL after
  ``TERM_GRACE_SECONDS``, or at once for a silent child) when a task has
  run past its limit (``WORKER_TASK_TIME_LIMIT_SECONDS``) + the lanes' grace +
  ``KILL_GRACE_SECONDS`` (the child abandoned it and it still runs), or when the heartbeat
  stops for ``HEARTBEAT_TIMEOUT_SECONDS``; and starts a fresh child at once. A child that
  exits or crashes on its own is started again too (after a backoff if it keeps dying
  young, up to ``MAX_RESTART_DELAY``).
- **records what the kill did** once the child is reaped: the tasks past their limit (or,
  if none was, every task that was running: the heartbeat stopped or the child crashed
  under one of them) count an attempt and a kill and are retried later with backoff; a
  task killed ``outbox.POISON_KILLS`` times is parked as failed, shown to the lawyer like
  any failed task (``outbox.killed``). The other tasks the child was running are let go
  at once (``outbox.release``): other lawyers' mail waits only for the restart.
- **stops cleanly**: SIGTERM or Ctrl-C asks the child to stop (its tasks finish within the
  lanes' ``SHUTDOWN_SECONDS``), SIGKILL after that; the child stops on its own within a
  second if this process goes away (its heartbeat finds the pipe closed or its parent
  changed), so no orphan keeps working.

Why a process and not a pool of parsing processes: any task kind can get stuck (a
calendar library's parser, a write's answer, a regular expression), the kill needs no
picklable work or results, and the transactional outbox already tells what to redo.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from service.jobs import lanes
from service.storage import outbox
from service.storage.extensions import db

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 5.0  # past the lanes' abandonment before the child is killed
TERM_GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL when killing for a stuck task
HEARTBEAT_TIMEOUT_SECONDS = 8.0  # no heartbeat for this long: the child is frozen
STARTUP_SECONDS = 60.0  # a new child's first heartbeat may take this long
MAX_RESTART_DELAY = 30.0
YOUNG_SECONDS = 10.0  # a child dying younger than this makes the next start wait


@dataclass
class Running:
    lease: datetime
    since: float  # monotonic


class Process:
    """A forked child: its pid, ``poll()`` and ``wait()`` as on ``subprocess.Popen``."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@dataclass
class Child:
    proc: Process
    pipe: int  # read end
    started: float
    last_beat: float
    running: dict[int, Running] = field(default_factory=dict)
    buffer: bytes = b""
    kill_reason: str | None = None


def supervise(app: Flask, run_child: Callable[[int], None], stop: threading.Event) -> None:
    """Run ``run_child(report_fd)`` in a forked child until ``stop`` is set, killing and
    restarting it as the module docstring says."""
    limit = float(app.config.get("WORKER_TASK_TIME_LIMIT_SECONDS", 120))
    stuck_after = limit + lanes.GRACE_SECONDS + KILL_GRACE_SECONDS
    young_deaths = 0
    while not stop.is_set():
        child = _spawn(app, run_child)
        log.info("worker: lanes started in child process %s", child.proc.pid)
        while not stop.is_set() and child.proc.poll() is None and child.kill_reason is None:
            _read(child, 0.5)
            now = time.monotonic()
            over = [task_id for task_id, r in child.running.items() if now - r.since > stuck_after]
            if over:
                child.kill_reason = (f"task {', '.join(map(str, over))} still running "
                                     f"{now - child.running[over[0]].since:.0f} s after it started")
            elif now - child.last_beat > (HEARTBEAT_TIMEOUT_SECONDS if child.last_beat > child.started
                                          else STARTUP_SECONDS):
                child.kill_reason = f"no heartbeat for {now - child.last_beat:.0f} s"
        if stop.is_set():
            _stop(child, lanes.SHUTDOWN_SECONDS + 2)
            _settle(app, child, limit, shutdown=True)
            break
        if child.kill_reason is not None:
            log.error("worker: killing child process %s: %s", child.proc.pid, child.kill_reason)
            # A silent child cannot run its SIGTERM handler either (the GIL is held): SIGKILL.
            _stop(child, 0.0 if child.kill_reason.startswith("no heartbeat") else TERM_GRACE_SECONDS)
        else:
            log.error("worker: child process %s exited with code %s; starting a new one",
                      child.proc.pid, child.proc.returncode)
        _settle(app, child, limit, shutdown=False)
        young_deaths = young_deaths + 1 if time.monotonic() - child.started < YOUNG_SECONDS else 0
        if young_deaths:
            stop.wait(min(MAX_RESTART_DELAY, 2.0 ** young_deaths))
    log.info("worker stopped")


def _spawn(app: Flask, run_child: Callable[[int], None]) -> Child:
    with app.app_context():
        db.engine.dispose()  # no pooled connection is shared with the child
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the lanes, never return into the supervisor's code
        code = 0
        try:
            os.close(read_end)
            run_child(write_end)
        except BaseException:  # noqa: BLE001 - reported, then the child ends
            log.exception("worker child failed")
            code = 1
        finally:
            logging.shutdown()
            os._exit(code)
    os.close(write_end)  # the child holds the only write end: EOF when it is gone
    now = time.monotonic()
    return Child(Process(pid), read_end, now, now)


def _read(child: Child, timeout: float) -> bool:
    """Take in what the child reported within ``timeout``; False at end of file."""
    ready, _, _ = select.select([child.pipe], [], [], timeout)
    if not ready:
        return True
    chunk = os.read(child.pipe, 65536)
    if not chunk:
        return False
    child.buffer += chunk
    *lines, child.buffer = child.buffer.split(b"\n")
    now = time.monotonic()
    for line in lines:
        event = line.decode("ascii", "replace").split()
        if not event:
            continue
        child.last_beat = now  # any word from the child shows it is alive
        if event[0] == "start" and len(event) == 3:
            child.running[int(event[1])] = Running(datetime.fromisoformat(event[2]), now)
        elif event[0] == "end" and len(event) == 2:
            child.running.pop(int(event[1]), None)
    return True


def _stop(child: Child, grace: float) -> None:
    """SIGTERM, up to ``grace`` seconds for the child to finish, then SIGKILL; reaped."""
    if child.proc.poll() is None:
        child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while child.proc.poll() is None and time.monotonic() < deadline:
        _read(child, 0.1)
    if child.proc.poll() is None:
        child.proc.kill()
    child.proc.wait()


def _settle(app: Flask, child: Child, limit: float, *, shutdown: bool) -> None:
    """The child is gone: read its last reports, then record what became of the tasks it
    was running (see the module docstring)."""
    until = time.monotonic() + 2.0
    while time.monotonic() < until and _read(child, 0.1):
        pass
    os.close(child.pipe)
    if not child.running:
        return
    now = time.monotonic()
    over = {task_id for task_id, r in child.running.items() if now - r.since > limit}
    blamed = set() if shutdown else (over or set(child.running))
    how = child.kill_reason or f"exited with code {child.proc.returncode}"
    with app.app_context():
        try:
            for task_id, run in child.running.items():
                if task_id in over:
                    outbox.killed(task_id, run.lease,
                                  f"killed: it kept the worker busy past its time limit of "
                                  f"{limit:.0f} s ({how})")
                elif task_id in blamed:
                    outbox.killed(task_id, run.lease,
                                  f"killed: it was running when the worker process stopped ({how})")
                else:
                    outbox.release(task_id, run.lease)
        except Exception as exc:  # noqa: BLE001 - the leases end on their own anyway
            log.warning("worker: could not record the tasks of the stopped child (%s); "
                        "they run again when their leases end", type(exc).__name__)
        finally:
            db.session.remove()


class Reporter:
    """The child's side of the pipe: one line per event. When the supervisor is gone (the
    pipe is closed, or this process was given to another parent) ``stop`` is set."""

    def __init__(self, fd: int, stop: threading.Event):
        self.fd, self.stop, self.parent = fd, stop, os.getppid()
        self.lock = threading.Lock()

    def __call__(self, *event: object) -> None:
        words = [e.isoformat() if isinstance(e, datetime) else str(e) for e in event]
        line = (" ".join(words) + "\n").encode("ascii")
        try:
            with self.lock:
                os.write(self.fd, line)
        except OSError:  # BrokenPipeError: the supervisor is gone
            self._orphaned("its pipe is closed")
            return
        if os.getppid() != self.parent:
            self._orphaned("its parent changed")

    def _orphaned(self, why: str) -> None:
        if not self.stop.is_set():
            log.error("worker child: the supervisor is gone (%s); stopping", why)
            self.stop.set()
