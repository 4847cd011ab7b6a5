"""The command line: ``flask --app service <group> <command>``.

Each create command prints what it created with the id or URL as its last word; bad
input exits non-zero with a one-line error and writes nothing.
"""

from __future__ import annotations

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from booking import terms
from booking.windows import parse_weekday, parse_windows
from service.cli import demo, google
from service.cli.calendars import calendar_cli
from service.cli.secrets import secrets_cli
from service.core import urls
from service.core.zones import is_zone
from service.jobs import notify, worker
from service.storage.extensions import db
from service.storage.models import (
    DayOff,
    EmbedOrigin,
    ExtraWindow,
    Intake,
    Lawyer,
    utcnow,
)
from service.usecases import clients, intakes
from service.usecases.clients import agreement_columns, create_client
from service.usecases.links import find_client

lawyer_cli = AppGroup("lawyer", help="Create and configure lawyers.")
client_cli = AppGroup("client", help="Create clients with their agreements; links.")
notify_cli = AppGroup("notify", help="Reminders by mail.")
intake_cli = AppGroup("intake", help="Public intake agreements for new visitors.")


def _email(value: str) -> str:
    if any(ch in value for ch in "\r\n"):
        raise click.ClickException("--email must be one line")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.ClickException(f"--email {value!r} is not a valid address: {exc}") from None


def _lawyer(lawyer_id: int) -> Lawyer:
    lawyer = db.session.get(Lawyer, lawyer_id)
    if lawyer is None:
        raise click.ClickException(f"no lawyer with id {lawyer_id}")
    return lawyer


def _name(value: str, option: str = "--name") -> str:
    value = value.strip()
    if not value or len(value) > 200 or any(ch in value for ch in "\r\n"):
        raise click.ClickException(f"{option} must be one non-empty line of at most 200 characters")
    return value


@lawyer_cli.command("create")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--timezone", "tz", required=True, help="IANA zone, e.g. Europe/Berlin")
def lawyer_create(name: str, email: str, tz: str) -> None:
    """Create a lawyer; prints the lawyer id."""
    if not is_zone(tz):
        raise click.ClickException(f"--timezone {tz!r} is not a known IANA time zone (e.g. Europe/Berlin)")
    email = _email(email).lower()  # the admin login; compared case-insensitively
    if db.session.scalar(sa.select(Lawyer.id).where(Lawyer.email == email)):
        raise click.ClickException(f"a lawyer with e-mail {email} already exists")
    lawyer = Lawyer(name=_name(name), email=email, timezone=tz)
    db.session.add(lawyer)
    db.session.commit()
    click.echo(f"Created lawyer {lawyer.name} <{lawyer.email}> ({tz}) with id {lawyer.id}")


@lawyer_cli.command("set-password")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--password", required=True)
def lawyer_set_password(lawyer_id: int, password: str) -> None:
    """Set the admin password; signs the lawyer out everywhere."""
    lawyer = _lawyer(lawyer_id)
    if len(password) < 10:
        raise click.ClickException("--password must have at least 10 characters")
    lawyer.password_hash = generate_password_hash(password, method="scrypt")
    lawyer.session_version += 1
    db.session.commit()
    click.echo(f"Password set for lawyer {lawyer.id}")


@lawyer_cli.command("allow-embed")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--origin", "origins", required=True, multiple=True, help="e.g. https://site.example")
def lawyer_allow_embed(lawyer_id: int, origins: tuple[str, ...]) -> None:
    """Allow the booking widget to be embedded on these sites."""
    from urllib.parse import urlsplit

    lawyer = _lawyer(lawyer_id)
    existing = {o.origin for o in lawyer.embed_origins}
    for origin in origins:
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise click.ClickException(f"--origin {origin!r} must look like https://site.example")
        normalized = f"{parts.scheme}://{parts.netloc.lower()}"
        if normalized not in existing:
            lawyer.embed_origins.append(EmbedOrigin(origin=normalized))
            existing.add(normalized)
    db.session.commit()
    click.echo(f"Embedding allowed for lawyer {lawyer.id} on {' '.join(sorted(existing))}")


@lawyer_cli.command("caps")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--max-per-day", type=int, help="client calls per day, whatever each agreement allows")
@click.option("--max-per-week", type=int, help="client calls per week")
def lawyer_caps(lawyer_id: int, max_per_day: int | None, max_per_week: int | None) -> None:
    """Set the lawyer-wide caps (0 removes a cap)."""
    lawyer = _lawyer(lawyer_id)
    _nonneg(max_per_day, "--max-per-day")
    _nonneg(max_per_week, "--max-per-week")
    if max_per_day is not None:
        lawyer.max_per_day = max_per_day or None
    if max_per_week is not None:
        lawyer.max_per_week = max_per_week or None
    db.session.commit()
    click.echo(f"Caps for lawyer {lawyer.id}: {lawyer.max_per_day or '-'} a day, {lawyer.max_per_week or '-'} a week")


@lawyer_cli.command("day-off")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default: --from)")
@click.option("--note", default="")
def lawyer_day_off(lawyer_id: int, first, last, note: str) -> None:
    """Days without any calls (vacation, court, holiday); prints the id."""
    lawyer = _lawyer(lawyer_id)
    first_day = first.date()
    last_day = last.date() if last else first_day
    if last_day < first_day:
        raise click.ClickException("--to must not be before --from")
    if (last_day - first_day).days > 366:
        raise click.ClickException("a day-off period is at most a year")
    period = DayOff(lawyer=lawyer, first_day=first_day, last_day=last_day, note=note.strip()[:200])
    db.session.add(period)
    db.session.commit()
    click.echo(f"Days off {first_day}..{last_day} for lawyer {lawyer.id}: id {period.id}")


@client_cli.command("extra-window")
@click.option("--token", required=True, help="the client's booking token")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--window", required=True, help='"10:00-12:00" in the lawyer\'s time')
def client_extra_window(token: str, day, window: str) -> None:
    """A one-off window for a client on one date; prints the id."""
    client = find_client(token)
    if client is None:
        raise click.ClickException("no client with that token")
    weekday = day.strftime("%a").lower()
    try:
        (parsed,) = parse_windows(f"{weekday} {window}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    extra = ExtraWindow(client=client, day=day.date(), start=parsed.start, end=parsed.end)
    db.session.add(extra)
    db.session.commit()
    click.echo(f"Extra window {day.date()} {window} for {client.name}: id {extra.id}")


def _nonneg(value: int | None, option: str, minimum: int = 0) -> None:
    if value is not None and value < minimum:
        raise click.ClickException(f"{option} must be at least {minimum}, not {value}")


def agreement_options(command):
    """The agreement's options, shared by ``client create`` and ``intake create``."""
    options = [
        click.option("--windows", required=True, help='e.g. "tue 16:00-18:00,thu 10:00-12:00" (lawyer\'s time)'),
        click.option("--duration", required=True, type=int, help="call length in minutes"),
        click.option("--prep", required=True, type=int, help="preparation minutes before each call"),
        click.option("--buffer-after", default=0, type=int, show_default=True),
        click.option("--notice", default=24, type=int, show_default=True, help="minimum notice in hours"),
        click.option("--notice-working-day", is_flag=True, help="not before the next working day"),
        click.option("--horizon", default=30, type=int, show_default=True, help="days ahead"),
        click.option("--max-per-week", type=int),
        click.option("--max-per-month", type=int),
        click.option("--step", type=click.Choice(["15", "30"]), help="slot step in minutes (default: the duration)"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: The option that sets each field of ``booking.terms`` (its errors name the option).
AGREEMENT_OPTIONS = {
    "windows": "--windows", "duration": "--duration", "prep": "--prep",
    "buffer_after": "--buffer-after", "notice": "--notice", "horizon_days": "--horizon",
    "max_per_week": "--max-per-week", "max_per_month": "--max-per-month", "step": "--step",
    "status_day": "--status-day",
}


def agreement_fields(windows, duration, prep, buffer_after, notice, notice_working_day, horizon,
                     max_per_week, max_per_month, step, status_day=None) -> dict:
    """Validate the agreement options (``booking.terms``); the model columns they set."""
    try:
        checked = terms.validate_agreement(
            windows=windows, duration=duration, prep=prep, buffer_after=buffer_after,
            notice=notice, notice_next_working_day=notice_working_day, horizon_days=horizon,
            max_per_week=max_per_week, max_per_month=max_per_month, step=step,
            status_day=status_day,
        )
    except terms.AgreementError as exc:
        raise click.ClickException(exc.describe(AGREEMENT_OPTIONS[exc.field])) from None
    return agreement_columns(checked)


@client_cli.command("create")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--name", required=True)
@click.option("--email", required=True)
@agreement_options
@click.option("--status-day", help="weekday the status update is due, e.g. fri")
@click.option("--language", default="en", type=click.Choice(["ru", "en"]), show_default=True)
@click.option("--matter", default="", help="the matter, shown to the lawyer")
@click.option("--note", default="", help="free text shown to the client")
def client_create(lawyer_id, name, email, windows, duration, prep, buffer_after, notice,
                  notice_working_day, horizon, max_per_week, max_per_month, step, status_day,
                  language, matter, note) -> None:
    """Create a client with an agreement; prints the client's booking URL."""
    lawyer = _lawyer(lawyer_id)
    try:
        status_weekday = parse_weekday(status_day) if status_day else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    agreement = agreement_fields(windows, duration, prep, buffer_after, notice, notice_working_day,
                                 horizon, max_per_week, max_per_month, step, status_weekday)
    client, token = create_client(
        lawyer,
        name=_name(name),
        email=_email(email),
        status_day=status_weekday,
        language=language,
        matter=matter.strip()[:300],
        note=note.strip(),
        **agreement,
    )
    db.session.commit()
    click.echo(f"Created client {client.name} (id {client.id}); booking link: {urls.booking_url(token)}")


@client_cli.command("callback-link")
@click.option("--token", required=True, help="the client's booking token")
@click.option("--hours", default=24, type=int, show_default=True)
@click.option("--quiet", is_flag=True, help="only the link, without the message text for the client")
def client_callback_link(token: str, hours: int, quiet: bool) -> None:
    """A single-use booking link for a client who rang unannounced.

    Prints a ready-to-send message in the client's language, then the link as the last word.
    """
    client = find_client(token)
    if client is None or client.status != "active":
        raise click.ClickException("no active client with that token")
    if not 1 <= hours <= clients.CALLBACK_MAX_HOURS:
        raise click.ClickException(f"--hours must be between 1 and {clients.CALLBACK_MAX_HOURS}")
    link, link_token = clients.create_callback(client, hours, utcnow())
    db.session.commit()
    url = urls.booking_url(link_token)
    if not quiet:
        click.echo(clients.callback_message(client, url, link.expires_at))
        click.echo("")
    click.echo(f"Single-use link for {client.name}, valid {hours} h: {url}")


@intake_cli.command("create")
@click.option("--lawyer", "lawyer_id", required=True, type=int)
@click.option("--slug", required=True, help="public name in the URL, e.g. first-consultation")
@click.option("--title", required=True, help='e.g. "First consultation, 30 min"')
@agreement_options
@click.option("--language", default="en", type=click.Choice(["ru", "en"]), show_default=True)
@click.option("--note", default="", help="free text shown to visitors")
def intake_create(lawyer_id, slug, title, windows, duration, prep, buffer_after, notice,
                  notice_working_day, horizon, max_per_week, max_per_month, step, language,
                  note) -> None:
    """Publish an intake agreement for new visitors; prints its public URL.

    Booking through it creates a new client with this agreement. --max-per-week and
    --max-per-month cap the calls booked through the intake by all visitors together.
    """
    lawyer = _lawyer(lawyer_id)
    if not intakes.valid_slug(slug):
        raise click.ClickException(
            f"--slug {slug!r} must be 1-64 lowercase letters, digits and inner hyphens"
        )
    if intakes.find(slug) is not None:
        raise click.ClickException(f"the slug {slug!r} is already taken")
    agreement = agreement_fields(windows, duration, prep, buffer_after, notice, notice_working_day,
                                 horizon, max_per_week, max_per_month, step)
    intake = Intake(lawyer=lawyer, slug=slug, title=_name(title, "--title"), language=language,
                    note=note.strip(), **agreement)
    db.session.add(intake)
    db.session.commit()
    click.echo(f"Created intake {intake.title!r} (id {intake.id}); public page: {intakes.public_url(slug)}")


@notify_cli.command("status-due")
def notify_status_due() -> None:
    """Mail each lawyer the digest of status updates due today."""
    sent, queued = notify.status_due()
    click.echo(f"Status-update digests: {sent} sent, {queued - sent} left to the worker, "
               f"for {queued} lawyers")


@click.command("worker")
@click.option("--once", is_flag=True, help="do what is due now and exit")
@click.option("--interval", default=5.0, show_default=True, help="seconds between polls")
def worker_command(once: bool, interval: float) -> None:
    """Calendar writes, mail and periodic calendar sync."""
    if once:
        counts = worker.run_once()
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
        return
    worker.run_forever(interval)


@click.command("seed-demo")
def seed_demo() -> None:
    """Create a demo lawyer and two demo clients when the database is empty."""
    demo.seed()


def init_app(app: Flask) -> None:
    google.register(calendar_cli)
    for command in (lawyer_cli, client_cli, notify_cli, intake_cli, calendar_cli, worker_command, seed_demo):
        app.cli.add_command(command)
    app.cli.add_command(secrets_cli)

