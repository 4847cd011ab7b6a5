"""What every command needs: the lawyer by id, and one-line checks of typed values.

Each create command prints what it created with the id or URL as its last word; bad
input exits non-zero with a one-line error (``click.ClickException``) and writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from service.core.emails import EmailNotValidError, normalized
from service.core.names import name_problem
from service.storage.extensions import db
from service.storage.models import Lawyer


def email(value: str) -> str:
    if any(ch in value for ch in "\r\n"):
        raise click.ClickException("--email must be one line")
    try:
        return normalized(value)
    except EmailNotValidError as exc:
        raise click.ClickException(f"--email {value!r} is not a valid address: {exc}") from None


def lawyer(lawyer_id: int) -> Lawyer:
    lawyer = db.session.get(Lawyer, lawyer_id)
    if lawyer is None:
        raise click.ClickException(f"no lawyer with id {lawyer_id}")
    return lawyer


def one_line(value: str, option: str = "--name") -> str:
    value = value.strip()
    if not value or len(value) > 200 or any(ch in value for ch in "\r\n"):
        raise click.ClickException(f"{option} must be one non-empty line of at most 200 characters")
    problem = name_problem(value)
    if problem is not None:
        raise click.ClickException(f"{option}: {problem}")
    return value


def at_least(value: int | None, option: str, minimum: int = 0) -> None:
    if value is not None and value < minimum:
        raise click.ClickException(f"{option} must be at least {minimum}, not {value}")


MAX_TOKEN_FILE = 64 * 1024


def read_token_file(path: str) -> dict:
    """A ``--token-file`` (Google's authorized-user JSON, Microsoft's ``{"refresh_token":
    ...}``): a JSON object of at most 64 KiB with a non-empty ``refresh_token``."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_TOKEN_FILE + 1)
    except OSError as exc:
        raise click.ClickException(f"--token-file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_TOKEN_FILE:
        raise click.ClickException(f"--token-file {path} is too large for a token file")
    try:
        data = json.loads(raw)
    except ValueError:
        raise click.ClickException(f"--token-file {path} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("refresh_token"), str) or not data["refresh_token"]:
        raise click.ClickException(f'--token-file {path} has no "refresh_token"')
    return data
