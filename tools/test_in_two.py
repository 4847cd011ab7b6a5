"""``make test``'s pytest step: the suite as two pytest processes at once.

About half of the suite's time is spent waiting (gunicorn, the worker, Radicale and
Xandikos, Chromium, SMTP), so on this project's two cores two sessions side by side finish
in well under the time of one. They share nothing: each has its own temporary folder,
its own PostgreSQL databases (random names) and its own ports.

- The first process takes the heavy part: the calendar servers' directory, the browser
  tests and every module marked ``slow`` (gunicorn, the worker, outages).
- The second takes everything else (``--ignore`` of the first one's paths).

Each one's output is kept in a file and printed whole when it ends, the first to end
first, so the log reads like two ordinary runs. The exit status is the first non-zero
one. With arguments (``make test PYTEST_ARGS=...``) a single ordinary pytest runs them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
HEAVY_DIRS = ("calendars_tests", "browser")
HEAVY_MARKS = ("pytest.mark.slow", "require_chromium(")


def heavy_paths() -> list[str]:
    paths = [f"tests/{name}" for name in HEAVY_DIRS if (TESTS / name).is_dir()]
    for module in sorted(TESTS.rglob("test_*.py")):
        relative = module.relative_to(ROOT).as_posix()
        if any(relative.startswith(p + "/") for p in paths):
            continue
        text = module.read_text(encoding="utf-8")
        if any(mark in text for mark in HEAVY_MARKS):
            paths.append(relative)
    return paths


def main(argv: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    if argv:
        return subprocess.call([*pytest, *argv], cwd=ROOT)
    heavy = heavy_paths()
    groups = {
        "heavy part": [*pytest, "--durations=15", *heavy],
        "the rest": [*pytest, "--durations=15", "tests", *(f"--ignore={p}" for p in heavy)],
    }
    started = time.monotonic()
    running = []
    for name, command in groups.items():
        log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed once printed
        running.append((name, subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log))
    print(f"pytest in two processes: {', '.join(groups)} ({len(heavy)} heavy paths)", flush=True)
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
