"""``flask booking ...``: calls from the lawyer's side (the same use cases as the admin).

``create`` prints the booking uid as its last word; every refusal is one line, exit 1.
A ``--start`` without an offset is read in the lawyer's zone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup

from service.cli import common
from service.storage.extensions import db
from service.storage.models import Client, utcnow
from service.usecases import export, steer
from service.usecases.errors import Refused

booking_cli = AppGroup("booking", help="Book, move, cancel and list calls as the lawyer.")


def _start(value: str, zone) -> datetime:
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.ClickException(f"--start {value!r} is not an ISO time like 2026-03-04T14:00+01:00") from None
    if not 1970 <= start.year <= 2199:
        raise click.ClickException(f"--start {value!r} is not a time between 1970 and 2199")
    return start.replace(tzinfo=zone) if start.tzinfo is None else start


def _do(action):
    try:
        return action()
    except Refused as exc:
        db.session.rollback()
        raise click.ClickException(" ".join(exc.message.split())) from None


def _override(override: bool, over_busy: bool) -> steer.Override:
    return steer.Override(terms=override, busy=over_busy)


OVERRIDE_HELP = "book outside the agreement (windows, notice, cadence, caps)"
BUSY_HELP = "also over busy time in your calendars (never over another call)"


@booking_cli.command("create")
@click.option("--client", "client_id", required=True, type=int)
@click.option("--start", required=True, help="ISO time; without an offset: the lawyer's zone")
@click.option("--agenda", required=True)
@click.option("--override", is_flag=True, help=OVERRIDE_HELP)
@click.option("--over-busy", is_flag=True, help=BUSY_HELP)
def booking_create(client_id: int, start: str, agenda: str, override: bool, over_busy: bool) -> None:
    """Book a call for a client; prints the booking uid."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id}")
    when = _start(start, client.lawyer.zone)
    booking = _do(lambda: steer.book_for_client(client, when, agenda, utcnow(), _override(override, over_busy)))
    local = booking.start.astimezone(client.lawyer.zone).isoformat(timespec="minutes")
    click.echo(f"Booked {client.name} at {local}: uid {booking.uid}")


@booking_cli.command("move")
@click.option("--uid", required=True)
@click.option("--start", required=True, help="ISO time; without an offset: the lawyer's zone")
@click.option("--reason", default="", help="one line, sent to the client")
@click.option("--override", is_flag=True, help=OVERRIDE_HELP)
@click.option("--over-busy", is_flag=True, help=BUSY_HELP)
def booking_move(uid: str, start: str, reason: str, override: bool, over_busy: bool) -> None:
    """Move a call; the client gets the updated invite."""
    booking = _do(lambda: steer.find_booking(uid))
    when = _start(start, booking.lawyer.zone)
    booking = _do(lambda: steer.move(booking, when, utcnow(), _override(override, over_busy), reason))
    local = booking.start.astimezone(booking.lawyer.zone).isoformat(timespec="minutes")
    click.echo(f"Moved to {local}: uid {booking.uid}")


@booking_cli.command("cancel")
@click.option("--uid", required=True)
@click.option("--reason", required=True, help="one line, sent to the client")
def booking_cancel(uid: str, reason: str) -> None:
    """Cancel a call; the client gets the cancellation with the reason."""
    booking = _do(lambda: steer.find_booking(uid))
    booking = _do(lambda: steer.cancel(booking, reason, utcnow()))
    click.echo(f"Cancelled: uid {booking.uid}")


@booking_cli.command("mark")
@click.option("--uid", required=True)
@click.option("--outcome", required=True, type=click.Choice([*steer.OUTCOMES, "none"]))
def booking_mark(uid: str, outcome: str) -> None:
    """Mark how a past call went."""
    booking = _do(lambda: steer.find_booking(uid))
    booking = _do(lambda: steer.mark_outcome(booking, None if outcome == "none" else outcome, utcnow()))
    click.echo(f"Marked {booking.outcome or 'unmarked'}: uid {booking.uid}")


@booking_cli.command("list")
@click.option("--lawyer", "lawyer_id", type=int, help="default: every lawyer")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (lawyer's zone)")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD, included")
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True)
@click.option("--agenda", is_flag=True, help="CSV: include the agenda column")
def booking_list(lawyer_id: int | None, first, last, fmt: str, agenda: bool) -> None:
    """List calls (every status), oldest first; CSV is UTF-8, comma-separated."""
    zone = common.lawyer(lawyer_id).zone if lawyer_id is not None else None
    zone = zone or ZoneInfo("UTC")
    for name, day in (("--from", first), ("--to", last)):
        if day is not None and not 1970 <= day.year <= 2199:
            raise click.ClickException(f"{name} must be a date between 1970 and 2199")
    start = datetime.combine(first.date(), time(), zone) if first else None
    end = datetime.combine(last.date() + timedelta(days=1), time(), zone) if last else None
    if first and last and last < first:
        raise click.ClickException("--to must be after --from")
    calls = steer.calls(lawyer_id, start, end)
    if fmt == "csv":
        click.echo(export.to_csv(calls, agenda=agenda, bom=False), nl=False)
        return
    for booking in calls:
        tz = booking.lawyer.zone
        when = f"{booking.start.astimezone(tz):%Y-%m-%d %H:%M}-{booking.end.astimezone(tz):%H:%M} {tz.key}"
        extra = f" {booking.outcome}" if booking.outcome else ""
        click.echo(f"{when}  {booking.status}{extra}  {booking.client.name}  {booking.uid}")
