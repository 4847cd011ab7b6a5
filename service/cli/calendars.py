"""``flask calendar ...``: connect CalDAV accounts and iCal feeds, sync them.

Bad input (unknown lawyer, unreachable server, refused credentials, a private host, an
unknown calendar name) exits non-zero with one line and writes nothing. The create
commands print what they added with the account id as the last word.
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from service.calendars.sync import sync_lawyer
from service.cli import common
from service.storage.extensions import db
from service.storage.models import utcnow
from service.usecases import calendar_connect

calendar_cli = AppGroup("calendar", help="Connect calendars (CalDAV, iCal feeds) and sync them.")


def _connected(connected: calendar_connect.Connected, what: str) -> None:
    for cal in connected.calendars:
        roles = [r for r, on in (("conflicts", cal.conflict), ("writes", cal.write_to)) if on]
        click.echo(f"  {cal.name} ({' + '.join(roles) or 'ignored'}): {cal.remote_id}")
    if connected.replaced:
        click.echo(f"  calls are now written here instead of: {', '.join(connected.replaced)}")
    account = connected.account
    verb = "Reconnected" if connected.repaired else "Added"
    click.echo(f"{verb} {what} {account.label} with {len(connected.calendars)} "
               f"calendar(s): account id {account.id}")


def _connect(lawyer_id: int, kind: str, address: str, *args: str, **options) -> calendar_connect.Connected:
    lawyer = common.lawyer(lawyer_id)
    try:
        return calendar_connect.connect(lawyer, kind, address, *args, **options)
    except calendar_connect.ConnectError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None


@calendar_cli.command("add-caldav")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--url", required=True, help="server, principal or calendar URL (https://...)")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option(
    "--calendar",
    "names",
    multiple=True,
    help="a calendar to check for conflicts (repeatable; default: every calendar found)",
)
@click.option("--write-to", "write_to", help="the calendar calls and prep blocks are written to")
def add_caldav(
    lawyer_id: int,
    url: str,
    username: str,
    password: str,
    names: tuple[str, ...],
    write_to: str | None,
) -> None:
    """Connect a CalDAV account (again: store its new password); prints the account id."""
    connected = _connect(lawyer_id, "caldav", url, username, password, conflict=names, write_to=write_to)
    _connected(connected, "CalDAV account")


@calendar_cli.command("add-ics")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--url", "source", required=True, help="https:// (or webcal://) feed URL, or a file")
def add_ics(lawyer_id: int, source: str) -> None:
    """Connect a read-only iCal feed as a busy source; prints the account id."""
    connected = _connect(lawyer_id, "ics", source, local_files=True)
    click.echo(f"Added iCal feed {connected.account.label} (read-only busy source): "
               f"account id {connected.account.id}")


@calendar_cli.command("sync")
@click.option("--lawyer", "lawyer_id", type=int, help="only this lawyer's calendars")
def sync_command(lawyer_id: int | None) -> None:
    """Sync every connected calendar into the local busy mirror; prints a summary."""
    if lawyer_id is not None:
        common.lawyer(lawyer_id)

    def progress(step: dict[str, Any]) -> None:
        if "ok" not in step:
            click.echo(f"[{step['index']}/{step['total']}] {step['name']} ...", nl=False)
        elif step["ok"]:
            click.echo(
                f" {step['events']} events, {step['changes']} changes"
                f"{' (full)' if step.get('full') else ''}, {step['seconds']:.1f} s"
            )
        else:
            click.echo(f" failed: {step['error']}")

    summary = sync_lawyer(lawyer_id, utcnow(), progress=progress)
    click.echo(
        f"Synced {summary['ok']} of {summary['calendars']} calendars: "
        f"{summary['events']} events, {summary['changes']} changes, "
        f"{summary['seconds']:.1f} seconds"
    )
    if summary["failed"]:
        raise click.ClickException(
            f"{summary['failed']} calendar(s) failed; the last good busy times are kept"
        )
