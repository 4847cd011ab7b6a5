"""``flask client ...`` and ``flask intake ...``: clients and public intakes with their agreements, links."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from booking import terms
from booking.windows import parse_weekday, parse_windows
from service.cli import common
from service.core import phones, urls
from service.storage.extensions import db
from service.storage.models import ExtraWindow, Intake, utcnow
from service.usecases import channels, clients, intakes, load
from service.usecases.clients import agreement_columns, create_client
from service.usecases.links import find_client

client_cli = AppGroup("client", help="Create clients with their agreements; links.")
intake_cli = AppGroup("intake", help="Public intake agreements for new visitors.")


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
@click.option("--over-capacity", is_flag=True, help="save even if the week's commitments exceed the capacity")
@click.option("--channel", "channel", default="video", show_default=True,
              help="phone|video|office, or several comma-separated (the first is the default)")
@click.option("--phone", default="", help="the client's phone number (for phone calls)")
@click.option("--confirm-agenda", type=int, help="the client confirms the agenda this many hours before preparation")
def client_create(lawyer_id, name, email, windows, duration, prep, buffer_after, notice,
                  notice_working_day, horizon, max_per_week, max_per_month, step, status_day,
                  language, matter, note, over_capacity, channel, phone, confirm_agenda) -> None:
    """Create a client with an agreement; prints the client's booking URL."""
    lawyer = common.lawyer(lawyer_id)
    try:
        status_weekday = parse_weekday(status_day) if status_day else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    agreement = agreement_fields(windows, duration, prep, buffer_after, notice, notice_working_day,
                                 horizon, max_per_week, max_per_month, step, status_weekday)
    warning = load.overcommit(lawyer, {**agreement, "status_day": status_weekday})
    if warning is not None and not over_capacity:
        raise click.ClickException(
            f"this agreement would commit {warning.total} min a week, {warning.over} min over the "
            f"capacity of {warning.capacity} min; pass --over-capacity to save it anyway")
    client, token = create_client(
        lawyer,
        name=common.one_line(name),
        email=common.email(email),
        status_day=status_weekday,
        language=language,
        matter=matter.strip()[:300],
        note=note.strip(),
        channels=channel_option(channel),
        phone=phone_option(phone, language) if phone else None,
        agenda_confirm_hours=confirm_option(confirm_agenda),
        **agreement,
    )
    db.session.commit()
    click.echo(f"Created client {client.name} (id {client.id}); booking link: {urls.booking_url(token)}")


def channel_option(text: str) -> str:
    try:
        return channels.parse_channels(text)
    except ValueError as exc:
        raise click.ClickException(f"--channel: {exc}") from None


def phone_option(text: str, language: str) -> str:
    try:
        return phones.normalise(text, phones.regions(None, None, language))
    except phones.PhoneError:
        raise click.ClickException(f"--phone {text!r} is not a valid phone number (give it with +country code)") from None


def confirm_option(hours: int | None) -> int | None:
    if hours is not None and not 1 <= hours <= 24 * 14:
        raise click.ClickException("--confirm-agenda must be between 1 and 336 hours")
    return hours


@client_cli.command("callback-link")
@click.option("--token", required=True, help="the client's booking token")
@click.option("--hours", default=24, type=int, show_default=True)
@click.option("--quiet", is_flag=True, help="only the link, without the message text for the client")
def client_callback_link(token: str, hours: int, quiet: bool) -> None:
    """A single-use booking link for a client who rang unannounced.

    Prints a ready-to-send message in the client's language, then the link as the last word.
    """
    client = find_client(token)
    if client is None or not client.takes_bookings:
        raise click.ClickException("no active client with that token (or their lawyer is deactivated)")
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
@click.option("--channel", "channel", default="video", show_default=True,
              help="phone|video|office, or several comma-separated (the first is the default)")
def intake_create(lawyer_id, slug, title, windows, duration, prep, buffer_after, notice,
                  notice_working_day, horizon, max_per_week, max_per_month, step, language,
                  note, channel) -> None:
    """Publish an intake agreement for new visitors; prints its public URL.

    Booking through it creates a new client with this agreement. --max-per-week and
    --max-per-month cap the calls booked through the intake by all visitors together.
    """
    lawyer = common.lawyer(lawyer_id)
    if not intakes.valid_slug(slug):
        raise click.ClickException(
            f"--slug {slug!r} must be 1-64 lowercase letters, digits and inner hyphens"
        )
    if intakes.find(slug) is not None:
        raise click.ClickException(f"the slug {slug!r} is already taken")
    agreement = agreement_fields(windows, duration, prep, buffer_after, notice, notice_working_day,
                                 horizon, max_per_week, max_per_month, step)
    intake = Intake(lawyer=lawyer, slug=slug, title=common.one_line(title, "--title"), language=language,
                    note=note.strip(), channels=channel_option(channel), **agreement)
    db.session.add(intake)
    db.session.commit()
    click.echo(f"Created intake {intake.title!r} (id {intake.id}); public page: {intakes.public_url(slug)}")


def _client_by_id(client_id: int):
    from service.storage.models import Client

    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id}")
    return client


@client_cli.command("export")
@click.option("--client", "client_id", required=True, type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="the zip to write")
def client_export(client_id: int, out: str) -> None:
    """The client's data as one zip (JSON, calls as .ics, letters and files); prints the path."""
    from service.usecases import privacy

    client = _client_by_id(client_id)
    body = privacy.export_client(client, utcnow())
    try:
        with open(out, "wb") as file:
            file.write(body)
    except OSError as exc:
        raise click.ClickException(f"--out {out!r} cannot be written: {exc.strerror}") from None
    db.session.commit()  # the audit log's "client.exported"
    click.echo(f"Exported the data of client {client.id} ({len(body)} bytes) to {out}")


@client_cli.command("erase")
@click.option("--client", "client_id", required=True, type=int)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def client_erase(client_id: int, yes: bool) -> None:
    """Erase the client's personal data everywhere (calls stay as anonymous counts)."""
    from service.usecases import privacy

    client = _client_by_id(client_id)
    if client.erased_at is not None:
        raise click.ClickException(f"client {client_id} is already erased")
    if not yes:
        click.confirm(f"Erase {client.name} <{client.email}> and every call's agenda and notes for good?",
                      abort=True)
    erased = privacy.erase_client(client, utcnow())
    click.echo(f"Erased client {erased.client_id}: {erased.calls} calls anonymised, "
               f"{erased.calendar_deletes} calendar events to delete")
