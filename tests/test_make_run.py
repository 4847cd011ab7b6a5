"""``make run``'s supervisor (tools/run_local.py): Ctrl-C or killing what started it stops
both the development server and the worker, the worker's lanes child included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _lanes_child(pid: int) -> list[int]:
    """The children of the ``flask worker`` below ``pid`` (its lanes, forked)."""
    for child in _descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"worker" in command:
            return _children(child)
    return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0); its state says it has ended
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _serving(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "ENCRYPTION_KEY"))}
    env.update(ENV="development", FLASK_APP="service", INSTANCE_PATH=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", SMTP_HOST="")
    flask = Path(sys.executable).with_name("flask")
    subprocess.run([str(flask), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    return env


def _start(env, port, via_shell: bool):
    command = [sys.executable, "tools/run_local.py", str(port)]
    if via_shell:  # like make: a parent that can be killed on its own
        return subprocess.Popen(["sh", "-c", " ".join(command) + "; true"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_regression_killing_the_parent_stops_server_and_worker(env):
    """``kill <make run pid>`` left the server and the worker running."""
    port = _free_port()
    shell = _start(env, port, via_shell=True)
    started: list[int] = []
    try:
        assert _wait(lambda: _serving(port), 60), "the server did not start"
        (supervisor,) = _children(shell.pid)
        assert _wait(lambda: _lanes_child(supervisor), 60), "the worker's lanes did not start"
        started = [supervisor, *_descendants(supervisor)]
        assert len(started) >= 4  # run_local, the server, the worker and its lanes child
        shell.kill()
        shell.wait()
        assert _wait(lambda: not any(_alive(p) for p in started), 20)
        assert not _serving(port)
    finally:
        for pid in started:  # only if the test failed: leave nothing running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_stops_both(env):
    port = _free_port()
    supervisor = _start(env, port, via_shell=False)
    assert _wait(lambda: _serving(port), 60), "the server did not start"
    assert _wait(lambda: _lanes_child(supervisor.pid), 60), "the worker's lanes did not start"
    children = _descendants(supervisor.pid)
    supervisor.send_signal(signal.SIGINT)
    supervisor.wait(timeout=20)
    assert _wait(lambda: not any(_alive(p) for p in children), 20)
    assert not _serving(port)
