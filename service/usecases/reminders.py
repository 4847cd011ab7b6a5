"""Reminders before a call, as outbox tasks due at their instants.

- ``reminder.client`` (``which``: ``long`` / ``short``): to the client ``REMINDER_HOURS``
  and ``REMINDER_SHORT_MINUTES`` before the call (0 turns one off), with the channel's
  details and the manage link, in the client's language and zone.
- ``reminder.prep``: the prep brief to the lawyer when preparation starts.

``schedule`` runs in the transaction of every booking change (``followup.enqueue``, called
by every path that creates, moves or cancels a booking), and is idempotent: tasks for the
booking's current start are kept (whether sent or pending), pending ones for another
start or a cancelled booking are retired, and the missing ones are added. So a reminder
is never sent twice for one start, never after a cancel, and once for the new time
after a move. The handlers check the booking again when they run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, OutboxTask, utcnow

CLIENT = "reminder.client"
PREP = "reminder.prep"
KINDS = (CLIENT, PREP)
SUPERSEDED = "superseded by a change of the booking"


def wanted(booking: Booking) -> list[tuple[str, str | None, datetime]]:
    """(kind, which, due) of every reminder the booking's current state calls for."""
    found: list[tuple[str, str | None, datetime]] = []
    hours = current_app.config.get("REMINDER_HOURS", 24) or 0
    minutes = current_app.config.get("REMINDER_SHORT_MINUTES", 60) or 0
    long_due = booking.start - timedelta(hours=hours) if hours > 0 else None
    short_due = booking.start - timedelta(minutes=minutes) if minutes > 0 else None
    if long_due is not None:
        found.append((CLIENT, "long", long_due))
    if short_due is not None and short_due != long_due:
        found.append((CLIENT, "short", short_due))
    found.append((PREP, None, booking.blocked_start))
    return found


def key(start: datetime) -> str:
    return start.isoformat()


def schedule(booking: Booking, now: datetime | None = None, *, new: bool = False) -> None:
    """Bring the booking's reminder tasks in line with its state (caller's transaction).
    ``new``: the booking was inserted in this transaction, so it has no tasks to read."""
    now = now or utcnow()
    current = key(booking.start)
    confirmed = booking.status == "confirmed"
    have: set[tuple[str, str | None]] = set()
    tasks = () if new else db.session.scalars(
        sa.select(OutboxTask).where(OutboxTask.booking_id == booking.id, OutboxTask.kind.in_(KINDS))
    )
    for task in tasks:
        payload = task.payload or {}
        if confirmed and payload.get("start") == current:
            if task.status == "pending" or task.last_error != SUPERSEDED:
                have.add((task.kind, payload.get("which")))
        elif task.status == "pending":
            # Not deleted: a worker may be running it right now; its handler skips it.
            task.status, task.done_at, task.last_error = "done", now, SUPERSEDED
    if not confirmed or booking.start <= now:
        return
    for kind, which, due in wanted(booking):
        if (kind, which) in have:
            continue
        if kind == CLIENT and due <= now:
            continue  # booked inside the reminder's lead time: the confirmation does
        payload = {"booking_id": booking.id, "start": current}
        if which is not None:
            payload["which"] = which
        outbox.enqueue(kind, payload, lawyer_id=booking.lawyer_id, booking_id=booking.id,
                       due_at=max(due, now))


def still_due(booking: Booking | None, payload: dict, now: datetime) -> bool:
    """Whether a reminder task should still be sent when it runs."""
    return (
        booking is not None
        and booking.status == "confirmed"
        and key(booking.start) == payload.get("start")
        and now < booking.start
    )
