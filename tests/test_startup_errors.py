"""A missing or malformed setting is one line on stderr and a non-zero exit on every way
the service is started: ``flask <command>``, the Procfile's ``web:`` and ``worker:``
lines, ``gunicorn "service:create_app()"`` alone, ``make run`` and its supervisor.

Each case is a real subprocess (gunicorn included) from the repository's root, as the
Procfile and the README run them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET_PASSWORD = "pw-never-shown-7731"

# name -> (environment, words the one line must carry)
BAD = {
    "secret_key_unset": ({"ENV": "production"}, "SECRET_KEY is not set"),
    "database_url_garbage": ({"ENV": "development", "DATABASE_URL": "nonsense"}, "DATABASE_URL is not a database URL"),
    "database_url_mysql": (
        {"ENV": "development", "DATABASE_URL": f"mysql://anna:{SECRET_PASSWORD}@db.example/ch"},
        "is not supported",
    ),
    "encryption_key_malformed": ({"ENV": "development", "ENCRYPTION_KEY": "not-a-fernet-key"}, "ENCRYPTION_KEY"),
    "smtp_port_not_a_number": ({"ENV": "development", "SMTP_PORT": "twenty-five"}, "SMTP_PORT"),
    "env_misspelt": ({"ENV": "prod"}, "ENV must be production or development"),
    "rate_limit_garbage": ({"ENV": "development", "RATELIMIT_BOOKING": "lots"}, "RATELIMIT_BOOKING"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    # Under `make test` the inner `make run` would see MAKELEVEL and print `make[1]: ***`:
    # run it as a person at a shell does.
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "ENCRYPTION_KEY", "ENV", "DATABASE_URL", "FLASK_APP",
                        "MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(_free_port()),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    env.update(settings)
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


def _assert_one_line(result: subprocess.CompletedProcess, words: str, *, foreign: tuple[str, ...] = ()) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert SECRET_PASSWORD not in output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(foreign)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and words in lines[0], lines[0]


def _procfile(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {kind}: line in the Procfile")


@pytest.mark.parametrize("case", sorted(BAD))
def test_regression_flask_command_with_a_bad_setting_is_one_line(tmp_path, case):
    """``flask lawyer allow-embed`` without SECRET_KEY printed a 33-line traceback; a bad
    DATABASE_URL or ENCRYPTION_KEY still did (the key only failed mid-migration)."""
    settings, words = BAD[case]
    result = _run([str(BIN / "flask"), "--app", "service", "db", "upgrade"], _env(tmp_path, settings))
    _assert_one_line(result, words)
    assert not (tmp_path / "instance" / "counsel-hours.db").exists()  # nothing half-migrated


@pytest.mark.parametrize("command", [
    ["lawyer", "allow-embed", "--lawyer", "1", "--origin", "https://www.firm.example"],
    ["worker", "--once"],
    ["worker"],
    ["booking", "list"],
])
@pytest.mark.parametrize("case", ["secret_key_unset", "database_url_garbage"])
def test_any_flask_command_with_a_bad_setting_is_one_line(tmp_path, command, case):
    settings, words = BAD[case]
    result = _run([str(BIN / "flask"), "--app", "service", *command], _env(tmp_path, settings))
    _assert_one_line(result, words)


def test_regression_unreachable_database_is_one_line_from_the_cli(tmp_path):
    """A DATABASE_URL naming no server printed two chained tracebacks (150 lines)."""
    url = f"postgresql://postgres:{SECRET_PASSWORD}@127.0.0.1:{_free_port()}/nowhere"
    for command in (["db", "upgrade"], ["worker", "--once"], ["booking", "list"]):
        result = _run([str(BIN / "flask"), "--app", "service", *command],
                      _env(tmp_path, {"ENV": "development", "DATABASE_URL": url}))
        _assert_one_line(result, "the database of DATABASE_URL cannot be used")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["secret_key_unset", "database_url_mysql", "encryption_key_malformed",
                                  "rate_limit_garbage"])
def test_regression_gunicorn_with_a_bad_setting_is_one_line(tmp_path, case):
    """Under gunicorn a missing SECRET_KEY printed gunicorn's boot lines and each worker's
    traceback; now the master stops before it starts (gunicorn.conf.py)."""
    settings, words = BAD[case]
    env = _env(tmp_path, settings)
    result = _run([str(BIN / "gunicorn"), "service:create_app()", "--bind", f"127.0.0.1:{env['PORT']}",
                   "--workers", "2", "--no-control-socket"], env)
    _assert_one_line(result, words)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["web", "worker"])
@pytest.mark.parametrize("case", ["secret_key_unset", "database_url_garbage"])
def test_procfile_lines_with_a_bad_setting_are_one_line(tmp_path, kind, case):
    settings, words = BAD[case]
    result = _run(["sh", "-c", _procfile(kind)], _env(tmp_path, settings))
    _assert_one_line(result, words)


@pytest.mark.slow
def test_procfile_gunicorn_part_alone_with_a_bad_setting_is_one_line(tmp_path):
    """The web line migrates first; its gunicorn, started on its own, stops the same way."""
    gunicorn = _procfile("web").split("&&", 1)[1].strip()
    settings, words = BAD["secret_key_unset"]
    result = _run(["sh", "-c", gunicorn], _env(tmp_path, settings))
    _assert_one_line(result, words)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["secret_key_unset", "database_url_garbage", "encryption_key_malformed"])
def test_make_run_with_a_bad_setting_is_one_line(tmp_path, case):
    """``make run``'s own recipe (``-o install -o translations``: nothing is pip-installed);
    make adds its own ``make: *** ... Error 1`` line."""
    settings, words = BAD[case]
    env = _env(tmp_path, settings)
    result = _run(["make", "--no-print-directory", "-o", "install", "-o", "translations", "run",
                   f"PORT={env['PORT']}"], env)
    _assert_one_line(result, words, foreign=("make: ",))


@pytest.mark.slow
@pytest.mark.parametrize("case", ["secret_key_unset", "rate_limit_garbage"])
def test_run_local_supervisor_with_a_bad_setting_is_one_line(tmp_path, case):
    """Started directly, the supervisor printed one error per child (server and worker)."""
    settings, words = BAD[case]
    env = _env(tmp_path, settings)
    result = _run([sys.executable, "tools/run_local.py", env["PORT"]], env)
    _assert_one_line(result, words)
