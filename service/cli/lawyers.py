"""``flask lawyer ...``: create lawyers, their admin password, embedding sites, caps, days off."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from service.cli import common
from service.core.zones import is_zone
from service.storage.extensions import db
from service.storage.models import Firm, Lawyer, User
from service.usecases import practice, signin
from service.usecases.errors import Refused

lawyer_cli = AppGroup("lawyer", help="Create and configure lawyers.")


@lawyer_cli.command("create")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--timezone", "tz", required=True, help="IANA zone, e.g. Europe/Berlin")
@click.option("--firm", "firm_id", type=int, help="the firm (default: the installation's default firm)")
def lawyer_create(name: str, email: str, tz: str, firm_id: int | None) -> None:
    """Create a lawyer; prints the lawyer id."""
    if firm_id is not None and db.session.get(Firm, firm_id) is None:
        raise click.ClickException(f"no firm with id {firm_id}")
    if not is_zone(tz):
        raise click.ClickException(f"--timezone {tz!r} is not a known IANA time zone (e.g. Europe/Berlin)")
    email = common.email(email).lower()  # the admin login; compared case-insensitively
    if db.session.scalar(sa.select(Lawyer.id).where(Lawyer.email == email)):
        raise click.ClickException(f"a lawyer with e-mail {email} already exists")
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email)):
        raise click.ClickException(f"{email} already signs in as an assistant or firm admin")
    lawyer = Lawyer(name=common.one_line(name), email=email, timezone=tz, firm_id=firm_id)
    db.session.add(lawyer)
    db.session.commit()
    click.echo(f"Created lawyer {lawyer.name} <{lawyer.email}> ({tz}) with id {lawyer.id}")


@lawyer_cli.command("set-password")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--password", required=True)
def lawyer_set_password(lawyer_id: int, password: str) -> None:
    """Set the admin password; signs the lawyer out everywhere."""
    lawyer = common.lawyer(lawyer_id)
    if len(password) < 10:
        raise click.ClickException("--password must have at least 10 characters")
    try:
        signin.set_password(lawyer, password)
    except Refused as exc:
        raise click.ClickException(f"--password: {exc.message}") from None
    db.session.commit()
    click.echo(f"Password set for lawyer {lawyer.id}")


@lawyer_cli.command("allow-embed")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--origin", "origins", required=True, multiple=True, help="e.g. https://site.example")
def lawyer_allow_embed(lawyer_id: int, origins: tuple[str, ...]) -> None:
    """Allow the booking widget to be embedded on these sites."""
    lawyer = common.lawyer(lawyer_id)
    for origin in origins:
        try:
            practice.allow_embed(lawyer, origin)
        except Refused:
            db.session.rollback()
            raise click.ClickException(f"--origin {origin!r} must look like https://site.example") from None
    existing = {o.origin for o in lawyer.embed_origins}
    db.session.commit()
    click.echo(f"Embedding allowed for lawyer {lawyer.id} on {' '.join(sorted(existing))}")


@lawyer_cli.command("caps")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--max-per-day", type=int, help="client calls per day, whatever each agreement allows")
@click.option("--max-per-week", type=int, help="client calls per week")
def lawyer_caps(lawyer_id: int, max_per_day: int | None, max_per_week: int | None) -> None:
    """Set the lawyer-wide caps (0 removes a cap)."""
    lawyer = common.lawyer(lawyer_id)
    common.at_least(max_per_day, "--max-per-day")
    common.at_least(max_per_week, "--max-per-week")
    per_day = lawyer.max_per_day if max_per_day is None else max_per_day
    per_week = lawyer.max_per_week if max_per_week is None else max_per_week
    try:
        practice.set_caps(lawyer, per_day, per_week)
    except Refused as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Caps for lawyer {lawyer.id}: {lawyer.max_per_day or '-'} a day, {lawyer.max_per_week or '-'} a week")


@lawyer_cli.command("day-off")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default: --from)")
@click.option("--note", default="")
def lawyer_day_off(lawyer_id: int, first, last, note: str) -> None:
    """Days without any calls (vacation, court, holiday); prints the id."""
    lawyer = common.lawyer(lawyer_id)
    first_day = first.date()
    last_day = last.date() if last else first_day
    if last_day < first_day:
        raise click.ClickException("--to must not be before --from")
    if (last_day - first_day).days > 366:
        raise click.ClickException("a day-off period is at most a year")
    try:
        period = practice.add_day_off(lawyer, first_day, last_day, note.strip()[:200])
    except Refused as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Days off {first_day}..{last_day} for lawyer {lawyer.id}: id {period.id}")


@lawyer_cli.command("profile")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--office-address", help="where office calls take place (shown to clients)")
@click.option("--no-show-flag", type=int, help="flag a client from this many no-shows on (0: never)")
def lawyer_profile(lawyer_id: int, office_address: str | None, no_show_flag: int | None) -> None:
    """The lawyer's office address and no-show threshold."""
    lawyer = common.lawyer(lawyer_id)
    if office_address is not None:
        address = " ".join(office_address.split())
        if len(address) > 500:
            raise click.ClickException("--office-address is limited to 500 characters")
        lawyer.office_address = address
    if no_show_flag is not None:
        if not 0 <= no_show_flag <= 100:
            raise click.ClickException("--no-show-flag must be between 0 and 100")
        lawyer.no_show_flag_at = no_show_flag or None
    db.session.commit()
    click.echo(f"Profile of lawyer {lawyer.id}: office {lawyer.office_address or '-'}; "
               f"no-show flag at {lawyer.no_show_flag_at or '-'}")
