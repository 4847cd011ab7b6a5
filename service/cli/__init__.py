"""The command line: ``flask --app service <group> <command>``, one module per group.

Each create command prints what it created with the id or URL as its last word; bad
input exits non-zero with a one-line error and writes nothing.
"""

from __future__ import annotations

from flask import Flask

from service.cli import google, microsoft
from service.cli import load as _load  # noqa: F401 - adds lawyer load / capacity
from service.cli.bookings import booking_cli
from service.cli.calendars import calendar_cli
from service.cli.clients import client_cli, intake_cli
from service.cli.firms import firm_cli, user_cli
from service.cli.jobs import notify_cli, seed_demo, worker_command
from service.cli.lawyers import lawyer_cli
from service.cli.letters import letter_cli
from service.cli.secrets import secrets_cli


def init_app(app: Flask) -> None:
    google.register(calendar_cli)
    microsoft.register(calendar_cli)
    for command in (lawyer_cli, client_cli, notify_cli, intake_cli, calendar_cli, worker_command,
                    seed_demo, secrets_cli, letter_cli, firm_cli, user_cli, booking_cli):
        app.cli.add_command(command)
