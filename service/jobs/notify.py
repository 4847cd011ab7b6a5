"""Status-update digests by mail (``flask notify status-due`` runs ``status_due`` daily).

Each lawyer with status updates due today (or still overdue) gets one digest listing the
client, the matter and the last update sent. The digest goes through the outbox, so a
mail server outage delays it and the worker retries; the command sends what it can right
away. Running the command twice on one day sends one digest per lawyer.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale, ngettext

from booking.status_updates import DUE, OVERDUE
from service.core.urls import public_url
from service.jobs import mail
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Lawyer, OutboxTask, utcnow
from service.usecases import status_updates

DIGEST = "mail.status_digest"


def digest_message(lawyer: Lawyer, owed: list[status_updates.OwedUpdate], today: date):
    with force_locale(lawyer.language):
        subject = ngettext("Status update due today: %(num)d", "Status updates due today: %(num)d", len(owed))
        body = render_template("mail/status_digest.txt", lawyer=lawyer, owed=owed, today=today,
                               dashboard_url=public_url("admin.dashboard"))
    message = mail.new_message(lawyer.name, lawyer.email, subject)
    message.set_content(body)
    return message


@outbox.handler(DIGEST)
def digest_mail(payload: dict) -> None:
    lawyer = db.session.get(Lawyer, payload["lawyer_id"])
    if lawyer is None:
        raise outbox.PermanentError("lawyer no longer exists")
    now = utcnow()
    owed = status_updates.owed_updates(lawyer, now, states=(DUE, OVERDUE))
    if owed:  # all marked sent meanwhile: nothing to say
        mail.send(digest_message(lawyer, owed, status_updates.lawyer_today(lawyer, now)))


def _queued_today(lawyer: Lawyer, day: date) -> bool:
    tasks = db.session.scalars(
        sa.select(OutboxTask).where(OutboxTask.kind == DIGEST, OutboxTask.lawyer_id == lawyer.id)
        .order_by(OutboxTask.id.desc()).limit(5)
    )
    return any(task.payload.get("day") == day.isoformat() for task in tasks)


def status_due() -> tuple[int, int]:
    """Mail each lawyer the digest of status updates due today: ``(sent, queued)``; what
    could not be sent now is left to the worker."""
    now = utcnow()
    queued: list[int] = []
    for lawyer in db.session.scalars(sa.select(Lawyer).order_by(Lawyer.id)):
        today = status_updates.lawyer_today(lawyer, now)
        owed = status_updates.owed_updates(lawyer, now, states=(DUE, OVERDUE))
        if not owed or _queued_today(lawyer, today):
            continue
        task = outbox.enqueue(DIGEST, {"lawyer_id": lawyer.id, "day": today.isoformat()}, lawyer_id=lawyer.id)
        task.locked_until = now + outbox.LEASE  # ours to send now; the worker retries if this fails
        db.session.flush()
        queued.append(task.id)
    db.session.commit()
    return sum(outbox.run_task(task_id) for task_id in queued), len(queued)
