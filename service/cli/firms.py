"""``flask firm create``, ``flask user invite`` and ``flask user reset-password``: firms
and their people."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from service.cli import common
from service.storage.extensions import db
from service.storage.models import Firm, utcnow
from service.usecases import firms, signin
from service.usecases.errors import Refused

firm_cli = AppGroup("firm", help="Firms: groups of lawyers with assistants and admins.")
user_cli = AppGroup("user", help="People of a firm: invitations, password resets.")


@firm_cli.command("create")
@click.option("--name", required=True)
@click.option("--slug", required=True, help="public page /f/<slug>: lowercase letters, digits, hyphens")
def firm_create(name: str, slug: str) -> None:
    """Create a firm; prints the firm id."""
    try:
        firm = firms.create_firm(common.one_line(name), slug)
    except Refused as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Created firm {firm.name} (/f/{firm.slug}) with id {firm.id}")


@user_cli.command("invite")
@click.option("--firm", "firm_id", required=True, type=int)
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(firms.ROLES))
@click.option("--for-lawyer", "lawyer_id", type=int, help="assistant: the lawyer they work for; "
              "lawyer: an existing lawyer row to take over")
def user_invite(firm_id: int, email: str, role: str, lawyer_id: int | None) -> None:
    """Invite someone by e-mail (a one-time link, valid 7 days); prints the link."""
    firm = db.session.get(Firm, firm_id)
    if firm is None:
        raise click.ClickException(f"no firm with id {firm_id}")
    lawyer = common.lawyer(lawyer_id) if lawyer_id is not None else None
    try:
        invited = firms.invite(firm, email, role, lawyer, utcnow())
    except Refused as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    if invited.invitation is None:
        click.echo(f"{email} already works in the firm; now assigned to lawyer {lawyer_id} too")
        return
    click.echo(f"Invited {invited.invitation.email} as {role}; the link was mailed: {invited.url}")


@user_cli.command("reset-password")
@click.option("--email", required=True, help="the address a lawyer, assistant or firm admin signs in with")
def user_reset_password(email: str) -> None:
    """Mail a one-time password-reset link (valid 1 hour); prints the link."""
    url = signin.make_link(email, "reset", utcnow())
    if url is None:
        raise click.ClickException(f"nobody active signs in with {email.strip()!r}")
    db.session.commit()
    click.echo(f"Password-reset link for {email.strip().lower()} mailed (valid "
               f"{signin.LINK_MINUTES['reset']} minutes): {url}")
