"""Mail over SMTP, sent by the worker after commit (outbox kind ``mail.booking``)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from service import invites, outbox
from service.extensions import db
from service.links import manage_url
from service.models import Booking

log = logging.getLogger(__name__)


def header_safe(text: str) -> str:
    """Header values never carry CR/LF (no header injection)."""
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def send(message: EmailMessage) -> None:
    host = current_app.config["SMTP_HOST"]
    if not host:
        log.info("SMTP_HOST not set; a mail was not sent")
        return
    with smtplib.SMTP(host, current_app.config["SMTP_PORT"], timeout=30) as smtp:
        smtp.send_message(message)


def new_message(to_name: str, to_email: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = formataddr((header_safe(to_name), header_safe(to_email)))
    message["Subject"] = header_safe(subject)
    message["Message-ID"] = make_msgid(domain="counselhours")
    return message


def _when(booking: Booking, tz: str) -> str:
    start = booking.start.astimezone(ZoneInfo(tz))
    return f"{start:%Y-%m-%d %H:%M} ({tz})"


@outbox.handler("mail.booking")
def booking_mail(payload: dict) -> None:
    """Confirmation/move/cancel notice: to the client with an invite, to the lawyer with the agenda."""
    booking = db.session.get(Booking, payload["booking_id"])
    if booking is None:
        raise outbox.PermanentError("booking no longer exists")
    event, to = payload["event"], payload["to"]
    client, lawyer = booking.client, booking.client.lawyer
    url = manage_url(booking)
    lang = client.language if to == "client" else "en"
    with force_locale(lang):
        when = _when(booking, lawyer.timezone)
        subject = {
            "booked": gettext("Consultation booked: %(when)s", when=when),
            "rescheduled": gettext("Consultation moved: %(when)s", when=when),
            "cancelled": gettext("Consultation cancelled: %(when)s", when=when),
        }[event]
        if to == "client":
            message = new_message(booking.name, booking.email, subject)
            body = render_template("mail/client.txt", booking=booking, lawyer=lawyer, event=event, when=when, manage_url=url)
        else:
            message = new_message(lawyer.name, lawyer.email, subject)
            body = render_template("mail/lawyer.txt", booking=booking, client=client, event=event, when=when)
    message.set_content(body)
    if to == "client":
        method = "CANCEL" if event == "cancelled" else "REQUEST"
        message.add_attachment(
            invites.booking_ics(booking, manage_url=url, method=method),
            maintype="text",
            subtype="calendar",
            params={"method": method},
            filename="invite.ics",
        )
    send(message)
