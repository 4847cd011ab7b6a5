"""``make run``'s supervisor: the development server and the worker, stopped together.

Ctrl-C, ``kill <pid>`` of this process, or of the ``make`` above it (noticed within half a
second: this process is re-parented) stops both children; one child ending stops the other. A missing or malformed setting ends it before either
starts, with one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str]) -> int:
    port = argv[1] if len(argv) > 1 else "8000"
    sys.path.insert(0, ROOT)
    from service import exit_on_bad_settings

    exit_on_bad_settings()  # a bad setting: one line and exit 1, not one from each child
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    parent = os.getppid()
    children = [
        subprocess.Popen([flask, "worker"]),
        subprocess.Popen([flask, "run", "--host", "127.0.0.1", "--port", port]),
    ]
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    for sig in STOP:
        signal.signal(sig, stop)
    code = 0
    try:
        while not stopping:
            ended = [c for c in children if c.poll() is not None]
            if ended:
                code = ended[0].returncode or 0
                break
            if os.getppid() != parent:  # make (or the shell) was killed
                break
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
