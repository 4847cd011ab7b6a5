"""Calls and prep blocks written to the lawyer's destination calendar, via the outbox.

Tasks carry ids, not contents: "calendar.put" ``{"booking_id", "event": "call"|"prep"}``
writes that event as the booking is when the task runs (or deletes it if the booking
has been cancelled since), so retries and out-of-order runs converge on the booking's
current state. UIDs come from the booking, and the provider derives the object's name
from the UID, so a retried write overwrites instead of duplicating.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from service.calendars.base import OWN_UID_SUFFIX, CalendarProvider, OutgoingEvent
from service.calendars.sync import provider_for
from service.core.urls import public_url
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, Calendar

EVENTS = ("call", "prep")


def event_uid(booking: Booking, which: str) -> str:
    return f"{booking.uid}-{which}{OWN_UID_SUFFIX}"


def events_for(booking: Booking, admin_url: str | None = None) -> list[OutgoingEvent]:
    """The call and, when the agreement has prep time, its prep block.

    The event links the lawyer's admin page of the client, never the client's manage
    link: that is the client's bearer token, and calendars are shared, synced to phones
    and exported far beyond this service. A lawyer who keeps agendas out of the calendar
    (``Lawyer.calendar_agenda`` off) gets the titles "Call: <client>" / "Prep: <client>"
    only: no agenda, no e-mail address, no link, no attendee.
    """
    client_name = booking.client.name if booking.client else booking.name
    if not booking.lawyer.calendar_agenda:
        return _titles_only(booking, client_name)
    if admin_url is None:
        admin_url = _admin_url(booking)
    details = [f"Agenda:\n{booking.agenda}"]
    if booking.name != client_name:
        details.append(f"Booked by {booking.name} <{booking.email}>")
    if admin_url:
        details.append(f"In Counsel Hours: {admin_url}")
    events = [
        OutgoingEvent(
            uid=event_uid(booking, "call"),
            start=booking.start,
            end=booking.end,
            summary=f"Call: {client_name}",
            description="\n\n".join(details),
            attendee_email=booking.email,
            attendee_name=booking.name,
            # ``channel`` arrives with the call channels (#14); without it: no meeting.
            online_meeting=getattr(booking, "channel", None) == "video",
        )
    ]
    if booking.blocked_start < booking.start:
        events.append(
            OutgoingEvent(
                uid=event_uid(booking, "prep"),
                start=booking.blocked_start,
                end=booking.start,
                summary=f"Prep: {client_name}",
                description=f"Prepare the call with {client_name}.\n\nAgenda:\n{booking.agenda}",
            )
        )
    return events


def _titles_only(booking: Booking, client_name: str) -> list[OutgoingEvent]:
    events = [OutgoingEvent(uid=event_uid(booking, "call"), start=booking.start, end=booking.end,
                            summary=f"Call: {client_name}", description="")]
    if booking.blocked_start < booking.start:
        events.append(OutgoingEvent(uid=event_uid(booking, "prep"), start=booking.blocked_start,
                                    end=booking.start, summary=f"Prep: {client_name}", description=""))
    return events


def _admin_url(booking: Booking) -> str:
    """The lawyer's page of the client (sign-in required), anchored at the booking."""
    try:
        return public_url("admin.client", client_id=booking.client_id) + f"#booking-{booking.id}"
    except Exception:  # noqa: BLE001 - the events are still worth writing without it
        return ""


def destinations(lawyer_id: int) -> list[Calendar]:
    return list(
        db.session.scalars(
            sa.select(Calendar).where(Calendar.lawyer_id == lawyer_id, Calendar.write_to.is_(True))
        )
    )


def enqueue_writes(booking: Booking) -> None:
    """Record the writes of both events (inside the caller's transaction)."""
    if not destinations(booking.lawyer_id):
        return
    for which in EVENTS:
        outbox.enqueue(
            "calendar.put",
            {"booking_id": booking.id, "event": which},
            lawyer_id=booking.lawyer_id,
            booking_id=booking.id,
        )


def enqueue_deletes(booking: Booking) -> None:
    """Record the deletion of both events from every destination calendar."""
    for calendar in destinations(booking.lawyer_id):
        for which in EVENTS:
            outbox.enqueue(
                "calendar.delete",
                {"calendar_id": calendar.id, "uid": event_uid(booking, which)},
                lawyer_id=booking.lawyer_id,
                booking_id=booking.id,
            )


@outbox.handler("calendar.put")
def put_task(payload: dict[str, Any]) -> None:
    which = payload.get("event")
    if which not in EVENTS:
        raise outbox.PermanentError(f"unknown calendar event {which!r}")
    booking = db.session.get(Booking, payload.get("booking_id"))
    if booking is None:
        raise outbox.PermanentError(f"booking {payload.get('booking_id')!r} no longer exists")
    uid = event_uid(booking, which)
    wanted = None
    if booking.status == "confirmed":
        wanted = next((e for e in events_for(booking) if e.uid == uid), None)
    targets = [(c.remote_id, provider_for(c.account)) for c in destinations(booking.lawyer_id)]
    db.session.commit()  # no transaction stays open during the network calls
    _run(
        targets,
        lambda p, remote: p.put_event(remote, wanted) if wanted else p.delete_event(remote, uid),
    )


@outbox.handler("calendar.delete")
def delete_task(payload: dict[str, Any]) -> None:
    calendar = db.session.get(Calendar, payload.get("calendar_id"))
    uid = payload.get("uid")
    if calendar is None or not uid:
        return  # the calendar is gone, and the event with it
    targets = [(calendar.remote_id, provider_for(calendar.account))]
    db.session.commit()
    _run(targets, lambda p, remote: p.delete_event(remote, uid))


def _run(targets: list[tuple[str, CalendarProvider]], action) -> None:
    try:
        for remote_id, provider in targets:
            action(provider, remote_id)
    finally:
        for _remote_id, provider in targets:
            provider.close()
