"""Reminder mails, sent by the worker when their outbox tasks fall due
(``service.usecases.reminders`` schedules them with every booking change).

To the client: when the call is, in the client's zone and language, how it happens
(number, link, address), the manage link, and the agenda confirmation link when the
agreement asks for one. To the lawyer, when preparation starts: the prep brief (client,
matter, agenda, documents, notes of earlier calls, channel, confirmation) as one mail.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale, gettext

from service.core.urls import manage_url, public_url
from service.jobs import mail
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, utcnow
from service.usecases import channels, dashboard, readiness, reminders, wording

log = logging.getLogger(__name__)


def client_zone(booking: Booking) -> str:
    return booking.client_tz or booking.client.lawyer.timezone


def reminder_message(booking: Booking, which: str):
    client, lawyer = booking.client, booking.client.lawyer
    zone = client_zone(booking)
    url = manage_url(booking)
    confirm = readiness.confirmation_state(booking, utcnow())
    with force_locale(client.language):
        when = f"{wording.when(booking, zone)} ({zone})"
        subject = gettext("Reminder: consultation %(when)s", when=when)
        body = render_template(
            "mail/reminder.txt", booking=booking, lawyer=lawyer, when=when, which=which, manage_url=url,
            how=channels.details(booking, region=channels.region_of(booking)),
            confirm=confirm,
            confirm_until=wording.format_datetime(confirm.deadline.astimezone(ZoneInfo(zone))) if confirm else "",
            editable_until=wording.format_datetime(booking.blocked_start.astimezone(ZoneInfo(zone))),
        )
    message = mail.new_message(booking.name, booking.email, subject, reply_to=(lawyer.name, lawyer.email))
    message.set_content(body)
    return message


def prep_message(booking: Booking):
    client, lawyer = booking.client, booking.client.lawyer
    with force_locale(lawyer.language):
        brief = dashboard.brief_for(booking)
        subject = gettext("Prepare: %(name)s, %(when)s", name=client.name, when=brief.when)
        body = render_template(
            "mail/prep_brief.txt", booking=booking, client=client, brief=brief,
            files=readiness.files_of(booking),
            confirm=readiness.confirmation_state(booking, utcnow()),
            dashboard_url=public_url("admin.dashboard"),
        )
    message = mail.new_message(lawyer.name, lawyer.email, subject)
    message.set_content(body)
    return message


def _booking(payload: dict) -> Booking | None:
    booking = db.session.get(Booking, payload.get("booking_id"))
    if not reminders.still_due(booking, payload, utcnow()):
        log.info("reminder for booking %s skipped: cancelled, moved or past", payload.get("booking_id"))
        return None
    return booking


@outbox.handler(reminders.CLIENT)
def client_reminder(payload: dict) -> None:
    booking = _booking(payload)
    if booking is not None:
        mail.send(reminder_message(booking, payload.get("which", "long")))


@outbox.handler(reminders.PREP)
def prep_brief(payload: dict) -> None:
    booking = _booking(payload)
    if booking is not None:
        mail.send(prep_message(booking))
