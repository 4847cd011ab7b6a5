"""``flask calendar ...``: connect CalDAV accounts and iCal feeds, sync them.

Bad input (unknown lawyer, unreachable server, refused credentials, a private host, an
unknown calendar name) exits non-zero with one line and writes nothing. The create
commands print what they added with the account id as the last word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from service.calendars import netguard
from service.calendars.base import ProviderError, RemoteCalendar
from service.calendars.caldav.provider import CalDAVProvider
from service.calendars.ics.provider import ICSProvider
from service.calendars.sync import find_account, find_feed
from service.core.crypto import encrypt_json
from service.storage.extensions import db
from service.storage.models import Calendar, CalendarAccount, Lawyer, utcnow

calendar_cli = AppGroup("calendar", help="Connect calendars (CalDAV, iCal feeds) and sync them.")


def _lawyer(lawyer_id: int) -> Lawyer:
    lawyer = db.session.get(Lawyer, lawyer_id)
    if lawyer is None:
        raise click.ClickException(f"no lawyer with id {lawyer_id}")
    return lawyer


def _pick(found: list[RemoteCalendar], wanted: str, option: str) -> RemoteCalendar:
    """The calendar named ``wanted`` (display name, case-insensitive, or URL)."""
    for cal in found:
        if wanted == cal.id or wanted.strip().casefold() == cal.name.casefold():
            return cal
    names = ", ".join(repr(c.name) for c in found)
    raise click.ClickException(f"{option} {wanted!r}: no such calendar (found: {names})")


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
    """Connect a CalDAV account; prints the account id."""
    lawyer = _lawyer(lawyer_id)
    try:
        url = netguard.check_url(url)
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    config = {"url": url, "username": username.strip()}
    if not config["username"]:
        raise click.ClickException("--username must not be empty")
    existing = find_account(lawyer.id, "caldav", config)
    if existing is not None:
        raise click.ClickException(
            f"this CalDAV account is already connected (account id {existing.id})"
        )
    provider = CalDAVProvider(config, {"password": password}, lawyer.zone)
    try:
        found = provider.list_calendars()
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        provider.close()
    if not found:
        raise click.ClickException(f"no calendars found at {netguard.display_url(url)}")
    conflict = [_pick(found, n, "--calendar") for n in names] if names else list(found)
    destination = _pick(found, write_to, "--write-to") if write_to else None

    host = urlsplit(url).hostname
    account = CalendarAccount(
        lawyer_id=lawyer.id,
        kind="caldav",
        label=f"{config['username']} on {host}",
        config=config,
        secret_enc=encrypt_json({"password": password}),
    )
    lines = []
    replaced = []
    if destination is not None:
        for old in db.session.scalars(
            sa.select(Calendar).where(Calendar.lawyer_id == lawyer.id, Calendar.write_to.is_(True))
        ):
            old.write_to = False
            replaced.append(old.name)
    conflict_ids = {c.id for c in conflict}
    for cal in found:
        is_destination = destination is not None and cal.id == destination.id
        if cal.id not in conflict_ids and not is_destination:
            continue
        account.calendars.append(
            Calendar(
                lawyer_id=lawyer.id,
                remote_id=cal.id,
                name=cal.name[:300],
                conflict=cal.id in conflict_ids,
                write_to=is_destination,
            )
        )
        roles = [
            r for r, on in (("conflicts", cal.id in conflict_ids), ("writes", is_destination)) if on
        ]
        lines.append(f"  {cal.name} ({' + '.join(roles)}): {cal.id}")
    db.session.add(account)
    db.session.commit()
    for line in lines:
        click.echo(line)
    if replaced:
        click.echo(f"  calls are now written here instead of: {', '.join(replaced)}")
    click.echo(
        f"Added CalDAV account {account.label} with {len(account.calendars)} "
        f"calendar(s): account id {account.id}"
    )


@calendar_cli.command("add-ics")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--url", "source", required=True, help="https:// (or webcal://) feed URL, or a file")
def add_ics(lawyer_id: int, source: str) -> None:
    """Connect a read-only iCal feed as a busy source; prints the account id."""
    lawyer = _lawyer(lawyer_id)
    source = source.strip()
    if "://" in source and not source.lower().startswith("file://"):
        try:
            source = netguard.check_url(source)
        except ProviderError as exc:
            raise click.ClickException(str(exc)) from None
        parts = urlsplit(source)
        config: dict[str, Any] = {"display": f"{parts.scheme}://{parts.hostname}/…"}
        secret: dict[str, Any] = {"url": source}
    else:
        path = Path(source.removeprefix("file://")).expanduser().resolve()
        if not path.is_file():
            raise click.ClickException(f"--url {source!r}: no such file")
        config, secret = {"url": str(path)}, {}
    if find_feed(lawyer.id, source) if secret else find_account(lawyer.id, "ics", config):
        raise click.ClickException("this feed is already connected")
    provider = ICSProvider(config, secret, lawyer.zone)
    try:
        [feed] = provider.list_calendars()
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        provider.close()
    account = CalendarAccount(
        lawyer_id=lawyer.id,
        kind="ics",
        label=f"{feed.name} ({config.get('display') or config.get('url')})"[:300],
        config=config,
        secret_enc=encrypt_json(secret) if secret else None,
    )
    account.calendars.append(
        Calendar(lawyer_id=lawyer.id, remote_id=feed.id, name=feed.name[:300], conflict=True)
    )
    db.session.add(account)
    db.session.commit()
    click.echo(f"Added iCal feed {account.label} (read-only busy source): account id {account.id}")


@calendar_cli.command("sync")
@click.option("--lawyer", "lawyer_id", type=int, help="only this lawyer's calendars")
def sync_command(lawyer_id: int | None) -> None:
    """Sync every connected calendar into the local busy mirror; prints a summary."""
    from service.calendars.sync import sync_lawyer

    if lawyer_id is not None:
        _lawyer(lawyer_id)

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
