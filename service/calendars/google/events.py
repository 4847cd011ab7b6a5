"""Google Calendar v3 event resources ↔ the service's values (no I/O).

Event ids the service chooses are the base32hex encoding (RFC 4648 §7, lower case, no
padding) of the booking-derived uid, so they are deterministic — a retried insert hits
409 "duplicate" instead of making a second event — and decodable, so sync recognises the
service's own events without any lookup.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking.intervals import Interval
from service.calendars.base import OutgoingEvent, is_own_uid
from service.calendars.icsexpand import ReadWarning

_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")

# Event types that never make the lawyer busy, whatever their transparency says.
_FREE_EVENT_TYPES = frozenset({"workingLocation", "birthday"})


def event_id(uid: str) -> str:
    """The Google event id for the service's ``uid``: base32hex, a-v0-9, 5-1024 chars."""
    encoded = base64.b32hexencode(uid.encode()).decode().rstrip("=").lower()
    if not _EVENT_ID.match(encoded):
        raise ValueError(f"uid {uid!r} is too long or too short for a Google event id")
    return encoded


def uid_from_event_id(value: str | None) -> str | None:
    """The uid an id of ours encodes, or None for anybody else's event id."""
    if not value or not _EVENT_ID.match(value):
        return None
    padded = value.upper() + "=" * (-len(value) % 8)
    try:
        return base64.b32hexdecode(padded).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def is_own_event(event: dict[str, Any]) -> bool:
    """True for events the service wrote (their bookings are counted from the database)."""
    if is_own_uid(uid_from_event_id(event.get("id"))):
        return True
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return is_own_uid(private.get("counselhoursUid")) or is_own_uid(event.get("iCalUID"))


def parse_instant(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # Google always sends an offset; be strict if it does not
        raise ValueError(f"timestamp without offset: {value!r}")
    return parsed.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _edge(edge: dict[str, Any], tz: ZoneInfo) -> datetime:
    if "dateTime" in edge:
        return parse_instant(edge["dateTime"])
    day = date.fromisoformat(edge["date"])  # all-day: midnight in the lawyer's zone
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _is_free(event: dict[str, Any]) -> bool:
    """Cancelled, transparent ("Show as available"), declined by the lawyer, working
    location and birthday entries leave the lawyer free."""
    if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
        return True
    if event.get("eventType") in _FREE_EVENT_TYPES:
        return True
    return any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees") or ())


def _readable_edge(event: dict[str, Any], name: str, tz: ZoneInfo) -> datetime | None:
    try:
        return _edge(event[name], tz)
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _whole_day(instant: datetime, tz: ZoneInfo) -> Interval:
    day = instant.astimezone(tz).date()
    return Interval(datetime.combine(day, time(0), tz).astimezone(UTC),
                    datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC))


def read_event(event: dict[str, Any], tz: ZoneInfo, span: Interval) -> tuple[Interval | None, ReadWarning | None]:
    """The time ``event`` makes the lawyer busy (None: free), failing closed.

    All-day events (``date``, end exclusive) block whole days in the lawyer's zone
    ``tz``. An event whose start or end cannot be read is busy over what can be known,
    as the CalDAV and feed reader does (``icsexpand``): the whole day of the edge that is
    readable, or all of ``span`` (the range it was listed for) when neither is; the
    warning says so on the calendars page.
    """
    if _is_free(event):
        return None, None
    start, end = _readable_edge(event, "start", tz), _readable_edge(event, "end", tz)
    if start is not None and end is not None:
        return (Interval(start, end) if start < end else None), None
    if start is not None or end is not None:
        busy = _whole_day(start or end, tz)  # type: ignore[arg-type]
        why = "its end time cannot be read" if start is not None else "its start time cannot be read"
    else:
        busy, why = span, "its start and end times cannot be read"
    warning = ReadWarning(str(event.get("id") or "?")[:200], str(event.get("summary") or "")[:200],
                          "unreadable", why, busy.start, busy.end)
    return busy, warning


def busy_interval(event: dict[str, Any], tz: ZoneInfo, span: Interval) -> Interval | None:
    """``read_event`` without the warning (the live check before a booking)."""
    return read_event(event, tz, span)[0]


def event_body(event: OutgoingEvent) -> dict[str, Any]:
    """The resource written for a call or prep block (without ``id``).

    Attendees are deliberately not added: the service sends the client its own invite,
    and Google would otherwise mail them on every change the lawyer makes.
    """
    description = event.description_with_client()
    body: dict[str, Any] = {
        "summary": event.summary,
        "description": description,
        "start": {"dateTime": rfc3339(event.start)},
        "end": {"dateTime": rfc3339(event.end)},
        "status": "confirmed",  # also restores an event deleted earlier under this id
        "transparency": "opaque",
        "extendedProperties": {"private": {"counselhoursUid": event.uid}},
    }
    if event.location:
        body["location"] = event.location
    if event.conference_request:
        # Google makes the Meet link (sent with conferenceDataVersion=1); the same
        # request id on a retry asks for the same meeting, not a second one.
        body["conferenceData"] = {
            "createRequest": {
                "requestId": event.conference_request,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def join_link(resource: dict[str, Any] | None) -> str | None:
    """The video link of an event resource Google returned (Meet), if it has one."""
    if not resource:
        return None
    for point in (resource.get("conferenceData") or {}).get("entryPoints") or ():
        if point.get("entryPointType") == "video" and point.get("uri"):
            return str(point["uri"])
    return resource.get("hangoutLink") or None
