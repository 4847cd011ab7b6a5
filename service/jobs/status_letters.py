"""Status letters by mail (outbox kind ``mail.status_letter``), and sending one now; the
lawyer's notice of a client's urgent request (``mail.urgent_request``).

The letter's text is the body as the lawyer sent it (plain text, never HTML), with a link
to the letters page behind the client's own booking link; replies go to the lawyer.
"""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from flask_babel import force_locale, gettext

from service.core.crypto import decrypt
from service.core.urls import public_url
from service.jobs import mail
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Client, StatusLetter, UrgentRequest
from service.usecases import letters, urgent


def letter_message(letter: StatusLetter):
    client = letter.client
    lawyer = client.lawyer
    message = mail.new_message(client.name, client.email, letter.subject, reply_to=(lawyer.name, lawyer.email))
    with force_locale(client.language):
        url = public_url("public.client_letters", token=decrypt(client.token_enc))
        body = render_template("mail/status_letter.txt", letter=letter, letters_url=url)
    message.set_content(body)
    return message


@outbox.handler(letters.MAIL_KIND)
def status_letter_mail(payload: dict) -> None:
    letter = db.session.get(StatusLetter, payload["letter_id"])
    if letter is None:
        raise outbox.PermanentError("letter no longer exists")
    mail.send(letter_message(letter))


def send_now(client: Client, text: str, now: datetime) -> tuple[StatusLetter, bool]:
    """Store and settle (committed), then try the mail at once: ``(letter, mailed)``. What
    fails now is retried by the worker."""
    letter, task = letters.send(client, text, now)
    db.session.flush()
    task.locked_until = now + outbox.LEASE  # ours to send now; the worker retries if this fails
    letter_id, task_id = letter.id, task.id
    db.session.commit()
    mailed = bool(outbox.run_task(task_id))
    return db.session.get(StatusLetter, letter_id), mailed


def urgent_message(request: UrgentRequest):
    client = request.client
    lawyer = client.lawyer
    with force_locale(lawyer.language):
        message = mail.new_message(lawyer.name, lawyer.email,
                                   gettext("Urgent request from %(name)s", name=client.name))
        body = render_template("mail/urgent_request.txt", request=request, client=client,
                               day=urgent.deadline_day(request), dashboard_url=public_url("admin.dashboard"))
    message.set_content(body)
    return message


@outbox.handler(urgent.MAIL_KIND)
def urgent_request_mail(payload: dict) -> None:
    request = db.session.get(UrgentRequest, payload["request_id"])
    if request is None:
        raise outbox.PermanentError("request no longer exists")
    if request.status == "pending":  # answered meanwhile: nothing to say
        mail.send(urgent_message(request))
