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
from service.core import phones
from service.core.urls import public_url
from service.storage import outbox
from service.storage.db_setup import write_transaction
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
    where = _location(booking)
    details = [_how(booking, where), f"Agenda:\n{booking.agenda}"]
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
            online_meeting=booking.channel == "video",
            location=where,
            url=booking.join_url or "",
            conference_request=(
                booking.uid if booking.video_provider == "meet" and booking.channel == "video" else None
            ),
        )
    ]
    if booking.blocked_start < booking.start:
        events.append(
            OutgoingEvent(
                uid=event_uid(booking, "prep"),
                start=booking.blocked_start,
                end=booking.start,
                summary=f"Prep: {client_name}",
                description=(
                    f"Prepare the call with {client_name}.\n\n{_how(booking, where)}\n\n"
                    f"Agenda:\n{booking.agenda}"
                ),
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


def _location(booking: Booking) -> str:
    """The event's LOCATION: the number to call, the join link, or the office address."""
    if booking.channel == "phone":
        return phones.display(booking.phone)
    if booking.channel == "video":
        return booking.join_url or ""
    if booking.channel == "office":
        return " ".join((booking.client.lawyer.office_address or "").split())
    return ""


def _how(booking: Booking, where: str) -> str:
    """How the call happens, for the lawyer (calendar texts are not translated)."""
    if booking.channel == "phone":
        return f"Phone call: call the client on {where}."
    if booking.channel == "video":
        return f"Video call: {where}" if where else "Video call (Google Meet link in this event)."
    if booking.channel == "office":
        return f"At the office: {where}" if where else "At the office."
    return ""




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


def enqueue_writes(booking: Booking, has_destinations: bool | None = None) -> None:
    """Record the writes of both events (inside the caller's transaction).
    ``has_destinations``: whether the lawyer has a destination calendar, if known."""
    if has_destinations is None:
        has_destinations = bool(destinations(booking.lawyer_id))
    if not has_destinations:
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
    booking_id = booking.id
    db.session.commit()  # no transaction stays open during the network calls
    links = _run(
        targets,
        lambda p, remote: p.put_event(remote, wanted) if wanted else p.delete_event(remote, uid),
    )
    link = next((found for found in links if found), None)
    if wanted is not None and wanted.conference_request and link:
        _store_join_link(booking_id, link)


def _store_join_link(booking_id: int, link: str) -> None:
    """Keep the Meet link Google made for the call (shown to the client, mailed)."""
    with write_transaction():
        booking = db.session.get(Booking, booking_id)
        if booking is not None and booking.video_provider == "meet" and booking.join_url != link:
            booking.join_url = link[:500]
            # Other destination calendars (and the event's own text) get the link too; the
            # rewrite finds the same link, so this happens once.
            enqueue_writes(booking)


@outbox.handler("calendar.delete")
def delete_task(payload: dict[str, Any]) -> None:
    calendar = db.session.get(Calendar, payload.get("calendar_id"))
    uid = payload.get("uid")
    if calendar is None or not uid:
        return  # the calendar is gone, and the event with it
    targets = [(calendar.remote_id, provider_for(calendar.account))]
    db.session.commit()
    _run(targets, lambda p, remote: p.delete_event(remote, uid))


def _run(targets: list[tuple[str, CalendarProvider]], action) -> list:
    try:
        return [action(provider, remote_id) for remote_id, provider in targets]
    finally:
        for _remote_id, provider in targets:
            provider.close()
