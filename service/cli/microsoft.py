"""``flask --app service calendar add-microsoft`` and ``calendar microsoft-show-as``:
connect Microsoft 365 / Outlook from the shell, and choose what counts as free."""

from __future__ import annotations

import click

from service.calendars import oauth_state
from service.calendars.base import ProviderError
from service.calendars.microsoft import oauth
from service.calendars.microsoft.accounts import connect
from service.cli import common
from service.cli.calendars import calendar_cli
from service.storage.extensions import db
from service.storage.models import Calendar
from service.usecases import calendar_connect


@click.command("add-microsoft")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--token-file", help='JSON with a "refresh_token" for this app; without it: the consent URL')
@click.option("--calendar", "calendars", multiple=True,
              help="conflict calendar: its Graph id or name (default: the default calendar)")
@click.option("--write-to", help="calendar the calls are written to: id or name (default: the default calendar)")
def add_microsoft(lawyer_id: int, token_file: str | None, calendars: tuple[str, ...], write_to: str | None) -> None:
    """Connect Microsoft 365 / Outlook; prints the consent URL, or the new account id."""
    lawyer = common.lawyer(lawyer_id)
    if token_file is None:
        if calendars or write_to:
            raise click.ClickException(
                "--calendar and --write-to need --token-file (the consent flow uses the default calendar)"
            )
        if not oauth.available():
            raise click.ClickException(
                "Microsoft sign-in is not configured: set MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET"
            )
        try:
            url, _ = oauth.consent_url(lawyer.id, oauth.redirect_uri(), origin="cli")
        except ProviderError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"Sign in to the admin area as {lawyer.email}, then open this link in the same browser "
            f"to connect Microsoft 365 / Outlook (valid {oauth_state.STATE_MAX_AGE // 60} min, once): {url}"
        )
        return
    refresh_token = common.read_token_file(token_file)["refresh_token"]
    try:
        secret = oauth.from_refresh_token(refresh_token)
        result = connect(lawyer, secret, calendars, write_to)
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    account = result.account
    calendar_connect.signed_in(account, result.reconnected)
    verb = "Reconnected" if result.reconnected else "Added"
    busy = ", ".join(result.names.get(c, c) for c in result.conflict)
    click.echo(
        f"{verb} {account.label} for lawyer {lawyer.id}: busy time from {busy}; calls written to "
        f"{result.names.get(result.write_to, result.write_to)}; account id {account.id}"
    )


@click.command("microsoft-show-as")
@click.option("--calendar", "calendar_id", required=True, type=int, help="the calendar's id here")
@click.option("--free", "free", multiple=True,
              help="a showAs value that leaves you free: tentative, oof, workingElsewhere, busy, unknown; "
                   "none given: only free")
def microsoft_show_as(calendar_id: int, free: tuple[str, ...]) -> None:
    """Choose which Outlook "Show as" values of one calendar count as free time."""
    calendar = db.session.get(Calendar, calendar_id)
    if calendar is None or calendar.account.kind != "microsoft":
        raise click.ClickException(f"no Microsoft calendar with id {calendar_id}")
    try:
        calendar_connect.set_free_show_as(calendar, free)
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    counted = ", ".join(["free", *sorted(set(free))])
    click.echo(f"Calendar {calendar.name!r}: counted as free: {counted}; it is read again at the next sync")


def register(group: click.Group = calendar_cli) -> None:
    """Attach the Microsoft commands to the ``calendar`` command group (idempotent)."""
    group.add_command(add_microsoft)
    group.add_command(microsoft_show_as)


register()
