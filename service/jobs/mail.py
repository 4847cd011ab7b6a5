"""Mail over SMTP, sent by the worker after commit (outbox kind ``mail.booking``).

To the client: a confirmation in the client's language with the invite both as the
``text/calendar; method=REQUEST`` alternative (what mail programs turn into an "add to
calendar" button) and as an ``invite.ics`` attachment; ``METHOD:CANCEL`` with the same
UID when the call is cancelled; the updated invite (``SEQUENCE`` bumped) when it moves.
To the lawyer: a notice with the agenda, in the lawyer's language.

Bodies are plain text (never HTML), so names and agendas need no escaping there; header
values never carry CR/LF, display names are encoded so folding never changes
the address list (``mailheaders``); the invite is built with ``icalendar``, which escapes text.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from service.calendars import writeback
from service.core.urls import manage_url, public_url
from service.jobs.mailheaders import AddressHeader
from service.storage import outbox
from service.storage.db_setup import write_transaction
from service.storage.extensions import db
from service.storage.models import Booking, CalendarAccount, utcnow
from service.usecases import channels, invites, wording

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


def new_message(to_name: str, to_email: str, subject: str, reply_to: tuple[str, str] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = header_safe(current_app.config["MAIL_FROM"])
    message["To"] = AddressHeader("To", to_name, to_email)
    if reply_to is not None:
        message["Reply-To"] = AddressHeader("Reply-To", reply_to[0], reply_to[1])
    message["Subject"] = header_safe(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="counselhours")
    message["Auto-Submitted"] = "auto-generated"
    return message


def when_words(booking: Booking) -> str:
    """The call's time in the lawyer's zone, per the current locale, the zone in words
    ("14:00 по берлинскому времени", "2:00 PM Berlin time")."""
    lawyer = booking.client.lawyer
    return f"{wording.when(booking, lawyer.timezone)} {wording.zone_words(lawyer.timezone)}"


def _subject(event: str, when: str) -> str:
    return {
        "booked": gettext("Consultation booked: %(when)s", when=when),
        "rescheduled": gettext("Consultation moved: %(when)s", when=when),
        "cancelled": gettext("Consultation cancelled: %(when)s", when=when),
        "changed": gettext("Consultation updated: %(when)s", when=when),
    }[event]


def client_message(booking: Booking, event: str) -> EmailMessage:
    client, lawyer = booking.client, booking.client.lawyer
    url = manage_url(booking)
    method = "CANCEL" if event == "cancelled" else "REQUEST"
    with force_locale(client.language):
        when = when_words(booking)
        message = new_message(booking.name, booking.email, _subject(event, when), reply_to=(lawyer.name, lawyer.email))
        how = channels.details(booking, region=channels.region_of(booking))
        body = render_template("mail/client.txt", booking=booking, lawyer=lawyer, event=event, when=when,
                               manage_url=url, how=how)
        ics = invites.booking_ics(booking, manage_url=url, method=method)
    message.set_content(body)
    message.add_alternative(ics.decode(), subtype="calendar", params={"method": method})
    message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return message


def lawyer_message(booking: Booking, event: str) -> EmailMessage:
    client, lawyer = booking.client, booking.client.lawyer
    with force_locale(lawyer.language):
        when = when_words(booking)
        message = new_message(lawyer.name, lawyer.email, f"{client.name}: {_subject(event, when)}")
        how = channels.details(booking, for_lawyer=True, region=channels.region_of(booking))
        body = render_template("mail/lawyer.txt", booking=booking, client=client, event=event, when=when,
                               dashboard_url=public_url("admin.dashboard"), how=how)
    message.set_content(body)
    return message


@outbox.handler("mail.booking")
def booking_mail(payload: dict) -> None:
    """Confirmation/move/cancel notice: to the client with an invite, to the lawyer with the agenda."""
    booking = db.session.get(Booking, payload["booking_id"])
    if booking is None:
        raise outbox.PermanentError("booking no longer exists")
    sequence = payload.get("sequence")
    if sequence is not None and sequence < booking.sequence:
        # The booking changed again before this mail went out; the later task's mail
        # carries the current state (and a higher SEQUENCE), so this one is dropped.
        log.info("mail for booking %s superseded (sequence %s < %s)", booking.id, sequence, booking.sequence)
        return
    event = payload["event"]
    if payload["to"] == "client":
        if event != "cancelled" and booking.status == "confirmed" and channels.pending_link(booking):
            _wait_for_meet_link(booking)
        send(client_message(booking, event))
    else:
        send(lawyer_message(booking, event))


#: How long the client's mail waits for Google to make the Meet link before using Jitsi.
MEET_LINK_WAIT = timedelta(minutes=10)


class LinkPending(Exception):
    """The Meet link is not made yet (the calendar write comes first); retried."""


def _wait_for_meet_link(booking: Booking) -> None:
    """The invite needs the join link: wait for the calendar write, then fall back."""
    if utcnow() - booking.created_at < MEET_LINK_WAIT:
        raise LinkPending("the Google Meet link is not made yet; the mail waits for the calendar write")
    with write_transaction():
        booking = db.session.get(Booking, booking.id)
        if channels.pending_link(booking):
            channels.fall_back_to_jitsi(booking)
            booking.sequence += 1
            writeback.enqueue_writes(booking)
    db.session.refresh(booking)


def calendar_broken_message(account) -> EmailMessage:
    lawyer = account.lawyer
    with force_locale(lawyer.language):
        message = new_message(
            lawyer.name, lawyer.email, gettext("Calendar disconnected: %(name)s", name=account.label)
        )
        body = render_template(
            "mail/calendar_broken.txt", account=account, calendars_url=public_url("admin.calendars")
        )
    message.set_content(body)
    return message


@outbox.handler("mail.calendar_broken")
def calendar_broken_mail(payload: dict) -> None:
    """Tell the lawyer, once, that a calendar refused our credentials: until it is
    reconnected its busy time is unknown and booking pages offer nothing."""

    account = db.session.get(CalendarAccount, payload["account_id"])
    if account is None or not account.broken:
        return  # disconnected or repaired meanwhile
    send(calendar_broken_message(account))
