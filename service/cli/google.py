"""``flask --app service calendar add-google``: connect a Google account from the shell."""

from __future__ import annotations

import click
from flask import current_app

from service.calendars import oauth_state
from service.calendars.base import ProviderError
from service.calendars.google import oauth
from service.calendars.google.accounts import connect
from service.cli import common
from service.cli.calendars import calendar_cli
from service.usecases import calendar_connect


@click.command("add-google")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option(
    "--token-file",
    help="authorized-user JSON (what google-auth-oauthlib writes); without it: the consent URL",
)
@click.option(
    "--calendar", "calendars", multiple=True, help="conflict calendar id (default: primary)"
)
@click.option("--write-to", help="calendar id the calls are written to (default: primary)")
def add_google(
    lawyer_id: int, token_file: str | None, calendars: tuple[str, ...], write_to: str | None
) -> None:
    """Connect Google Calendar; prints the consent URL, or the new account id."""
    lawyer = common.lawyer(lawyer_id)
    if token_file is None:
        if calendars or write_to:
            raise click.ClickException(
                "--calendar and --write-to need --token-file (the consent flow uses primary)"
            )
        try:
            url, _ = oauth.consent_url(lawyer.id, oauth.redirect_uri(), origin="cli")
        except ProviderError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"Sign in to the admin area as {lawyer.email}, then open this link in the same "
            f"browser to connect Google Calendar (valid {oauth_state.STATE_MAX_AGE // 60} min, once): {url}"
        )
        return
    info = _read_token_file(token_file)
    try:
        result = connect(lawyer, info, calendars, write_to)
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    account = result.account
    calendar_connect.signed_in(account, result.reconnected)
    verb = "Reconnected" if result.reconnected else "Added"
    click.echo(
        f"{verb} {account.label} for lawyer {lawyer.id}: busy time from "
        f"{', '.join(result.conflict)}; calls written to {result.write_to}; account id {account.id}"
    )


def _read_token_file(path: str) -> dict:
    data = common.read_token_file(path)
    cfg = current_app.config
    data.setdefault("client_id", cfg.get("GOOGLE_CLIENT_ID") or None)
    data.setdefault("client_secret", cfg.get("GOOGLE_CLIENT_SECRET") or None)
    if not data["client_id"] or not data["client_secret"]:
        raise click.ClickException(
            f"--token-file {path} lacks client_id/client_secret and GOOGLE_CLIENT_ID is not set"
        )
    return {
        k: data[k]
        for k in ("client_id", "client_secret", "refresh_token", "token", "expiry")
        if data.get(k)
    }


def register(group: click.Group = calendar_cli) -> None:
    """Attach ``add-google`` to the ``calendar`` command group (idempotent)."""
    group.add_command(add_google)


register()  # importing this module is enough: ``calendar add-google`` joins the group
