"""iCalendar invites for clients (the ``.ics`` download and mail attachments).

Texts are in the current locale (the caller sets the client's language); ``icalendar``
escapes them (commas, semicolons, backslashes, newlines) and quotes parameter values.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from flask import current_app
from flask_babel import gettext
from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from service.calendars.base import OWN_UID_SUFFIX
from service.storage.models import Booking, utcnow
from service.usecases import channels

#: The calendar's own alert when no short reminder is configured.
DEFAULT_ALARM_MINUTES = 30


def booking_ics(booking: Booking, manage_url: str, method: str = "PUBLISH") -> bytes:
    """One VEVENT for the call; ``method`` REQUEST/CANCEL for mail, PUBLISH for download."""
    cal = Calendar()
    cal.add("prodid", "-//Counsel Hours//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", f"{booking.uid}{OWN_UID_SUFFIX}")
    event.add("dtstamp", utcnow().astimezone(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("sequence", booking.sequence)
    lawyer = booking.client.lawyer
    event.add("summary", gettext("Consultation with %(name)s", name=lawyer.name))
    region = channels.region_of(booking)
    how = channels.details(booking, region=region)
    event.add("description", how + "\n\n" + gettext("Agenda:\n%(agenda)s\n\nChange or cancel: %(url)s",
                                     agenda=booking.agenda, url=manage_url))
    where = channels.location(booking, region)
    if where:
        event.add("location", where)
    event.add("url", booking.join_url if booking.channel == "video" and booking.join_url else manage_url)
    organizer = vCalAddress(f"mailto:{lawyer.email}")
    organizer.params["cn"] = vText(lawyer.name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{booking.email}")
    attendee.params["cn"] = vText(booking.name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    cancelled = booking.status == "cancelled" or method == "CANCEL"
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        event.add_component(_alarm(how))
    cal.add_component(event)
    return cal.to_ical()


def _alarm(text: str) -> Alarm:
    """A display alarm before the call (as early as the short reminder mail)."""
    minutes = current_app.config.get("REMINDER_SHORT_MINUTES") or DEFAULT_ALARM_MINUTES
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(minutes=-minutes))
    alarm.add("description", text or gettext("Consultation"))
    return alarm
