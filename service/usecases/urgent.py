"""A client's request for an urgent call before a deadline, and the lawyer's answer.

Accepted, a request becomes a callback link valid until the deadline: the one kind of link
that may book the lawyer's reserved urgent time (``booking.reserve``).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from booking.walltime import wall_to_utc
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import CallbackLink, Client, Lawyer, UrgentRequest
from service.usecases import clients
from service.usecases.errors import Refused

REASON_MAX = 2000
DEADLINE_MAX_DAYS = 14
PENDING_MAX = 3  # open requests per client: a request is a favour, not a queue
MAIL_KIND = "mail.urgent_request"  # the lawyer is told at once (service.jobs.status_letters)


def ask(client: Client, deadline_day: date, reason: str, now: datetime) -> UrgentRequest:
    """Record the request (the caller commits); the deadline is the end of that day in
    the lawyer's zone."""
    if not client.takes_bookings:
        raise Refused("unknown_client", "This booking link is no longer active.")
    reason = (reason or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise Refused("invalid_reason", f"Please say what is urgent (at most {REASON_MAX} characters).")
    deadline = wall_to_utc(deadline_day + timedelta(days=1), time(0), client.lawyer.zone)
    if deadline <= now or deadline - now > timedelta(days=DEADLINE_MAX_DAYS + 1):
        raise Refused("invalid_deadline", f"The deadline must be between today and {DEADLINE_MAX_DAYS} days ahead.")
    pending = db.session.scalar(
        sa.select(sa.func.count(UrgentRequest.id)).where(UrgentRequest.client_id == client.id,
                                                         UrgentRequest.status == "pending"))
    if pending >= PENDING_MAX:
        raise Refused("urgent_pending", "Your earlier urgent requests are still open; the lawyer will answer them.")
    request = UrgentRequest(client_id=client.id, deadline=deadline, reason=reason, status="pending", created_at=now)
    db.session.add(request)
    db.session.flush()
    outbox.enqueue(MAIL_KIND, {"request_id": request.id}, lawyer_id=client.lawyer_id)
    return request


def pending_for(lawyer: Lawyer) -> list[UrgentRequest]:
    return list(db.session.scalars(
        sa.select(UrgentRequest).join(Client, Client.id == UrgentRequest.client_id)
        .where(Client.lawyer_id == lawyer.id, UrgentRequest.status == "pending")
        .order_by(UrgentRequest.deadline, UrgentRequest.id)
    ))


def accept(request: UrgentRequest, now: datetime) -> tuple[CallbackLink, str]:
    """A callback link valid until the deadline (the caller commits); ``Refused`` when the
    deadline has passed or the request was answered already."""
    if request.status != "pending":
        raise Refused("already_answered", "This request has been answered already.")
    hours = math.ceil((request.deadline - now) / timedelta(hours=1))
    if hours < 1:
        raise Refused("already_answered", "The deadline of this request has passed.")
    try:
        link, token = clients.create_callback(request.client, min(hours, clients.CALLBACK_MAX_HOURS), now)
    except ValueError as exc:
        raise Refused("already_answered", str(exc)) from None
    link.expires_at = min(link.expires_at, request.deadline)
    db.session.flush()
    request.status, request.callback_link_id = "accepted", link.id
    return link, token


def decline(request: UrgentRequest) -> None:
    if request.status != "pending":
        raise Refused("already_answered", "This request has been answered already.")
    request.status = "declined"


def deadline_day(request: UrgentRequest) -> date:
    """The day the client named (the deadline is the end of it, in the lawyer's zone)."""
    return (request.deadline.astimezone(request.client.lawyer.zone) - timedelta(minutes=1)).date()
