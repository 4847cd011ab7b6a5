"""``make test``'s pytest step: the suite as three pytest processes at once.

About half of the suite's time is spent waiting (gunicorn, the worker, Radicale and
Xandikos, Chromium, SMTP), so on this project's two cores several sessions side by side
finish in well under the time of one. They share nothing: each has its own temporary
folder, its own PostgreSQL databases (random names) and its own ports.

- The first process takes the calendar servers' tests (``tests/calendars_tests``, the
  reading of calendar data, ``tests/reading``, Microsoft Graph's stand-in,
  ``tests/microsoft``) and the domain's (``tests/booking``).
- The second takes the browser tests and every module marked ``slow`` (gunicorn, the
  worker, outages).
- The third takes everything else (``--ignore`` of the others' paths).

On the machine of 2026-12-04 two processes (servers, browsers and ``slow`` modules in
one, 8.6 min; the rest 7.1 min) made ``make test`` 9.6 min; three, split so, end within
20 s of each other, and ``make test`` took 7.2 min. Each one's output is kept in a file
and printed whole when it ends, the first to end first, so the log reads like ordinary
runs. The exit status is the first non-zero one. With arguments (``make test
PYTEST_ARGS=...``) a single ordinary pytest runs them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SERVER_DIRS = ("calendars_tests", "reading", "microsoft", "booking")
PROCESS_DIRS = ("browser",)
PROCESS_MARKS = ("pytest.mark.slow", "require_chromium(")


def _dirs(names: tuple[str, ...]) -> list[str]:
    return [f"tests/{name}" for name in names if (TESTS / name).is_dir()]


def process_paths(servers: list[str]) -> list[str]:
    """The browser tests' directory and every other module that marks a test ``slow`` or
    needs Chromium (outside ``servers``, the first process's paths)."""
    paths = _dirs(PROCESS_DIRS)
    taken = [*paths, *servers]
    for module in sorted(TESTS.rglob("test_*.py")):
        relative = module.relative_to(ROOT).as_posix()
        if any(relative.startswith(p + "/") for p in taken):
            continue
        text = module.read_text(encoding="utf-8")
        if any(mark in text for mark in PROCESS_MARKS):
            paths.append(relative)
    return paths


def main(argv: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    if argv:
        return subprocess.call([*pytest, *argv], cwd=ROOT)
    servers = _dirs(SERVER_DIRS)
    processes = process_paths(servers)
    groups = {
        "calendar servers and the domain": [*pytest, "--durations=15", *servers],
        "processes and browsers": [*pytest, "--durations=15", *processes],
        "the rest": [*pytest, "--durations=15", "tests", *(f"--ignore={p}" for p in [*servers, *processes])],
    }
    started = time.monotonic()
    running = []
    for name, command in groups.items():
        log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed once printed
        running.append((name, subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log))
    print(f"pytest in {len(groups)} processes: {', '.join(groups)}", flush=True)
    status = 0
    try:
        while running:
            for entry in list(running):
                name, process, log = entry
                if process.poll() is None:
                    continue
                running.remove(entry)
                log.seek(0)
                minutes = (time.monotonic() - started) / 60
                print(f"\n===== pytest, {name}: exit {process.returncode} after {minutes:.1f} min =====", flush=True)
                sys.stdout.write(log.read())
                sys.stdout.flush()
                log.close()
                status = status or process.returncode
            time.sleep(0.5)
    except KeyboardInterrupt:
        for _name, process, _log in running:
            process.terminate()
        for _name, process, _log in running:
            process.wait()
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
