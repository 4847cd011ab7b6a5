"""What the lawyer's dashboard shows: calls to prepare, notes to write, updates owed,
and follow-up work (calendar writes, mail) that failed for good."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext, ngettext

from service.storage.extensions import db
from service.storage.models import Booking, Client, Lawyer, OutboxTask, utcnow
from service.usecases import channels, readiness, status_updates, wording

UPCOMING_DAYS = 14
RECENT_DAYS = 7
EARLIER_NOTES = 3


@dataclass
class Brief:
    """One call with what the lawyer needs to prepare it."""

    booking: Booking
    when: str
    prep_from: str
    earlier: list[tuple[str, str]] = field(default_factory=list)  # (when, notes)
    how: str = ""  # the channel and its details
    files: list = field(default_factory=list)  # BookingFile rows the client attached
    confirmation: object = None  # readiness.Confirmation, or None when none is asked


@dataclass
class Board:
    upcoming: list[Brief]
    recent: list[Brief]
    owed: list[status_updates.OwedUpdate]
    dead: list[tuple[OutboxTask, str]]
    #: Clients with at least the lawyer's threshold of no-shows, and their count.
    no_shows: dict[int, tuple[Client, int]] = field(default_factory=dict)


def no_show_counts(lawyer: Lawyer) -> dict[int, tuple[Client, int]]:
    """Clients of ``lawyer`` flagged for repeated no-shows (``Lawyer.no_show_flag_at``)."""
    threshold = lawyer.no_show_flag_at
    if not threshold:
        return {}
    count = sa.func.count(Booking.id)
    rows = db.session.execute(
        sa.select(Client, count)
        .join(Booking, Booking.client_id == Client.id)
        .where(Client.lawyer_id == lawyer.id, Booking.outcome == "no_show")
        .group_by(Client.id)
        .having(count >= threshold)
        .order_by(count.desc(), Client.name)
    )
    return {client.id: (client, n) for client, n in rows}


def _when(booking: Booking, zone) -> str:
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    return "{}, {}–{}".format(
        wording.format_date(start.date(), "EEEE d MMMM"),
        wording.format_time(start, tzinfo=zone),
        wording.format_time(end, tzinfo=zone),
    )


def _earlier_notes(booking: Booking, zone) -> list[tuple[str, str]]:
    earlier = db.session.scalars(
        sa.select(Booking)
        .where(Booking.client_id == booking.client_id, Booking.start < booking.start,
               Booking.status == "confirmed", Booking.notes != "")
        .order_by(Booking.start.desc())
        .limit(EARLIER_NOTES)
    )
    return [(wording.format_date(b.start.astimezone(zone).date(), "medium"), b.notes) for b in earlier]


def _brief(booking: Booking, zone) -> Brief:
    return Brief(
        booking,
        _when(booking, zone),
        wording.format_time(booking.blocked_start, tzinfo=zone),
        _earlier_notes(booking, zone),
        channels.details(booking, for_lawyer=True, region=_lawyer_region(booking)),
        readiness.files_of(booking),
        readiness.confirmation_state(booking, utcnow()),
    )


def brief_for(booking: Booking) -> Brief:
    """The prep brief of one call, in the lawyer's zone (the dashboard's and the mail's)."""
    return _brief(booking, booking.client.lawyer.zone)


def _lawyer_region(booking: Booking) -> str | None:
    found = channels.regions(None, booking.client.lawyer.timezone, booking.client.lawyer.language)
    return found[0] if found else None


def describe_task(task: OutboxTask) -> str:
    """A failed task in plain words."""
    booking = db.session.get(Booking, task.booking_id) if task.booking_id else None
    who = booking.client.name if booking is not None else ""
    if task.kind == "mail.booking":
        if task.payload.get("to") == "client":
            return gettext("The e-mail to %(name)s about their call could not be sent.", name=who)
        return gettext("Your notice about the call with %(name)s could not be sent.", name=who)
    if task.kind.startswith("calendar.put"):
        return gettext("The call with %(name)s could not be written to your calendar.", name=who)
    if task.kind == "calendar.sync":
        return gettext("A calendar could not be synced.")
    if task.kind.startswith("mail."):
        return gettext("An e-mail could not be sent.")
    return gettext("A background task failed.")


def build(lawyer: Lawyer, now: datetime) -> Board:
    zone = lawyer.zone
    upcoming = db.session.scalars(
        sa.select(Booking)
        .where(Booking.lawyer_id == lawyer.id, Booking.status == "confirmed",
               Booking.end > now, Booking.start < now + timedelta(days=UPCOMING_DAYS))
        .order_by(Booking.start)
    )
    recent = db.session.scalars(
        sa.select(Booking)
        .where(Booking.lawyer_id == lawyer.id, Booking.status == "confirmed",
               Booking.end <= now, Booking.end > now - timedelta(days=RECENT_DAYS))
        .order_by(Booking.start.desc())
    )
    dead = db.session.scalars(
        sa.select(OutboxTask)
        .where(OutboxTask.lawyer_id == lawyer.id, OutboxTask.status == "dead")
        .order_by(OutboxTask.created_at.desc())
        .limit(50)
    )
    return Board(
        upcoming=[_brief(b, zone) for b in upcoming],
        recent=[_brief(b, zone) for b in recent],
        owed=status_updates.owed_updates(lawyer, now),
        dead=[(t, describe_task(t)) for t in dead],
        no_shows=no_show_counts(lawyer),
    )


def terms_for_lawyer(client: Client) -> list[str]:
    """The agreement in plain words, with what only the lawyer needs to see."""
    lines = wording.agreement_terms(client)
    if client.prep_min:
        lines.append(ngettext("%(num)d minute of preparation is reserved before each call.",
                              "%(num)d minutes of preparation are reserved before each call.",
                              client.prep_min))
    lines.append(gettext("How calls take place: %(ways)s.",
                         ways=", ".join(channels.name(c) for c in client.channel_list)))
    if client.agenda_confirm_hours:
        lines.append(ngettext("The client confirms the agenda %(num)d hour before preparation.",
                              "The client confirms the agenda %(num)d hours before preparation.",
                              client.agenda_confirm_hours))
    if client.status_day is not None:
        lines.append(gettext("Written status update day: %(day)s.",
                             day=wording.weekday_name(client.status_day, title=False)))
    return lines
