"""Mail to the lawyer when a client asks for a change inside the notice (outbox kind
``mail.change_request``), in the lawyer's language, with the one-click links."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, gettext

from service.core.urls import public_url
from service.jobs.mail import new_message, send, when_words
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import ChangeRequest


@outbox.handler("mail.change_request")
def change_request_mail(payload: dict) -> None:
    request = db.session.get(ChangeRequest, payload.get("request_id"))
    if request is None:
        raise outbox.PermanentError("change request no longer exists")
    if request.handled_at is not None or request.booking.status != "confirmed":
        return  # answered meanwhile
    send(change_request_message(request))


def change_request_message(request: ChangeRequest):
    booking = request.booking
    client, lawyer = booking.client, booking.lawyer
    with force_locale(lawyer.language):
        when = when_words(booking)
        message = new_message(lawyer.name, lawyer.email,
                              gettext("%(name)s asks to change the call on %(when)s", name=client.name, when=when),
                              reply_to=(client.name, client.email))
        body = render_template("mail/change_request.txt", request=request, client=client, when=when,
                               call_url=public_url("admin.booking_page", booking_id=booking.id))
    message.set_content(body)
    return message
