"""``flask status-letter draft|send``: the client's status letter from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from service.jobs import status_letters
from service.storage.extensions import db
from service.storage.models import Client, utcnow
from service.usecases import letters
from service.usecases.errors import Refused

letter_cli = AppGroup("status-letter", help="Written status updates to clients.")

FILE_MAX = 200_000  # bytes read from --file


def _client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id}")
    return client


@letter_cli.command("draft")
@click.option("--client", "client_id", required=True, type=int)
def letter_draft(client_id: int) -> None:
    """Print the draft of the client's next status letter."""
    click.echo(letters.draft(_client(client_id), utcnow()), nl=False)


@letter_cli.command("send")
@click.option("--client", "client_id", required=True, type=int)
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the letter as UTF-8 plain text ('-': standard input)")
def letter_send(client_id: int, path: Path) -> None:
    """Send a status letter (stored, mailed through the outbox); prints the letter id."""
    client = _client(client_id)
    try:
        raw = click.get_binary_stream("stdin").read(FILE_MAX + 1) if str(path) == "-" else _read(path)
        if len(raw) > FILE_MAX:
            raise click.ClickException(f"--file is larger than {FILE_MAX} bytes")
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise click.ClickException("--file is not UTF-8 text") from None
    try:
        letter, mailed = status_letters.send_now(client, text, utcnow())
    except Refused as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    how = "mailed" if mailed else "stored; the mail is left to the worker"
    click.echo(f"Status letter to {client.name} {how}: id {letter.id}")


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(FILE_MAX + 1)
    except OSError as exc:
        raise click.ClickException(f"--file {str(path)!r} cannot be read: {exc.strerror}") from None
