"""Mail of the intake holds (``service.usecases.intake_holds``) and the hold's release.

The confirmation request goes to an address nobody has verified yet, so it carries no
text the visitor typed (no name in ``To``, no agenda): only the lawyer's name, the time
and the link. The lawyer hears of a visitor only after the address is confirmed.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, gettext

from service.core.crypto import decrypt
from service.core.urls import public_url
from service.jobs import mail
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking
from service.usecases import bookings, wording


def _booking(payload: dict) -> Booking:
    booking = db.session.get(Booking, payload["booking_id"])
    if booking is None:
        raise outbox.PermanentError("booking no longer exists")
    return booking


def confirm_message(booking: Booking, token: str):
    """To the address typed: the lawyer, the time, the link — nothing the visitor wrote."""
    lawyer = booking.client.lawyer
    url = public_url("public.intake_confirm", token=token)
    with force_locale(booking.client.language):
        when = mail.when_words(booking)
        until = f"{wording.local(booking.hold_until, lawyer.timezone):%H:%M} ({lawyer.timezone})"
        message = mail.new_message("", booking.email, gettext("Please confirm your consultation request"))
        body = render_template("mail/intake_confirm.txt", lawyer=lawyer, when=when, url=url, until=until)
    message.set_content(body)
    return message


def requested_message(booking: Booking):
    lawyer = booking.client.lawyer
    with force_locale(lawyer.language):
        when = mail.when_words(booking)
        message = mail.new_message(lawyer.name, lawyer.email,
                                   gettext("New client asks for a consultation: %(when)s", when=when))
        body = render_template("mail/intake_requested.txt", booking=booking, client=booking.client,
                               when=when, dashboard_url=public_url("admin.dashboard"))
    message.set_content(body)
    return message


def declined_message(booking: Booking):
    lawyer = booking.client.lawyer
    with force_locale(booking.client.language):
        when = mail.when_words(booking)
        message = mail.new_message(booking.name, booking.email,
                                   gettext("Consultation request not accepted: %(when)s", when=when),
                                   reply_to=(lawyer.name, lawyer.email))
        body = render_template("mail/intake_declined.txt", lawyer=lawyer, when=when)
    message.set_content(body)
    return message


@outbox.handler("mail.intake_confirm")
def confirm_mail(payload: dict) -> None:
    booking = _booking(payload)
    if booking.status == "pending":  # else confirmed, or released, meanwhile
        mail.send(confirm_message(booking, decrypt(payload["token_enc"])))


@outbox.handler("mail.intake_requested")
def requested_mail(payload: dict) -> None:
    booking = _booking(payload)
    if booking.status == "requested":
        mail.send(requested_message(booking))


@outbox.handler("mail.intake_declined")
def declined_mail(payload: dict) -> None:
    mail.send(declined_message(_booking(payload)))


@outbox.handler("booking.release_hold")
def release_hold(payload: dict) -> None:
    """Due at the hold's end: release it if it was never confirmed."""
    booking = db.session.get(Booking, payload["booking_id"])
    if booking is not None and booking.status == "pending":
        bookings.release_holds(booking.lawyer_id)
