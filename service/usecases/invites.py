"""iCalendar invites for clients (the ``.ics`` download and mail attachments).

Texts are in the current locale (the caller sets the client's language); ``icalendar``
escapes them (commas, semicolons, backslashes, newlines) and quotes parameter values.
"""

from __future__ import annotations

from datetime import UTC

from flask_babel import gettext
from icalendar import Calendar, Event, vCalAddress, vText

from service.calendars.base import OWN_UID_SUFFIX
from service.storage.models import Booking, utcnow


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
    event.add("description", gettext("Agenda:\n%(agenda)s\n\nChange or cancel: %(url)s",
                                     agenda=booking.agenda, url=manage_url))
    event.add("url", manage_url)
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
    cal.add_component(event)
    return cal.to_ical()
