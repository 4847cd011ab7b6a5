"""Microsoft Graph event resources <-> the service's values (no I/O).

Graph chooses event ids, so the service finds its own events in two ways that need no
lookup table: the ``transactionId`` of every event it creates is derived from the
booking uid (``counselhours-`` + a UUID5, so a retried create returns the first event
instead of a second one), and a single-value extended property holds the uid itself
(searchable with ``$filter``, which is how an event is found again after a lost answer).

Times are asked for in UTC (``Prefer: outlook.timezone="UTC"``); an answer in another
zone is still read correctly, Windows zone names included ("W. Europe Standard Time").
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from booking.intervals import Interval
from service.calendars.base import OutgoingEvent, is_own_uid

#: The single-value extended property holding the booking uid on our events (a string
#: property in our own GUID namespace, as Graph asks for custom properties).
UID_PROPERTY = "String {6c1d5a4e-8a53-4a8e-9b2d-6f0c1e7d9a31} Name counselhoursUid"
TRANSACTION_PREFIX = "counselhours-"
_NAMESPACE = uuid.UUID("8f4d7c1e-3b2a-4e6f-9a1d-0c5b7e2f8a64")

#: ``showAs`` values that leave the lawyer free whatever they choose; the rest
#: (tentative, busy, oof, workingElsewhere, unknown) are busy unless a calendar's
#: ``free_show_as`` setting names them.
ALWAYS_FREE = frozenset({"free"})
SHOW_AS_VALUES = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")

_FRACTION = re.compile(r"\.(\d+)")


def transaction_id(uid: str) -> str:
    """The deterministic ``transactionId`` of the event written for ``uid``."""
    return TRANSACTION_PREFIX + str(uuid.uuid5(_NAMESPACE, uid))


def _property_uid(event: dict[str, Any]) -> str | None:
    for prop in event.get("singleValueExtendedProperties") or ():
        if str(prop.get("id", "")).casefold() == UID_PROPERTY.casefold():
            return prop.get("value")
    return None


def is_own_event(event: dict[str, Any]) -> bool:
    """True for events the service wrote (their bookings are counted from the database)."""
    if str(event.get("transactionId") or "").startswith(TRANSACTION_PREFIX):
        return True
    return is_own_uid(_property_uid(event))


def _zone(name: str | None) -> ZoneInfo:
    if not name or name.upper() in ("UTC", "Z", "ETC/UTC", "COORDINATED UNIVERSAL TIME"):
        return ZoneInfo("UTC")
    iana = WINDOWS_TO_OLSON.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_datetime(edge: dict[str, Any]) -> datetime:
    """A Graph ``dateTimeTimeZone`` as an aware UTC datetime.

    Graph writes seven fractional digits ("2030-03-26T09:00:00.0000000"), one more than
    Python reads: they are cut to six.
    """
    text = str(edge["dateTime"])
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    parsed = datetime.fromisoformat(text.rstrip("Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(edge.get("timeZone")))
    return parsed.astimezone(UTC)


def _all_day_edge(edge: dict[str, Any], tz: ZoneInfo) -> datetime:
    day = date.fromisoformat(str(edge["dateTime"])[:10])  # all-day: midnight in the lawyer's zone
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def busy_interval(
    event: dict[str, Any], tz: ZoneInfo, free_show_as: frozenset[str] = frozenset()
) -> Interval | None:
    """The time ``event`` makes the lawyer busy, or None when it leaves them free.

    Free: cancelled events, ``showAs`` free (and whatever the lawyer chose to count as
    free for this calendar, ``free_show_as``), a series master (its occurrences come
    separately). All-day events block whole days in the lawyer's zone ``tz``.
    """
    if "@removed" in event or event.get("isCancelled"):
        return None
    if event.get("type") == "seriesMaster":
        return None
    show_as = event.get("showAs") or "busy"
    if show_as in ALWAYS_FREE or show_as in free_show_as:
        return None
    try:
        if event.get("isAllDay"):
            start, end = _all_day_edge(event["start"], tz), _all_day_edge(event["end"], tz)
        else:
            start, end = parse_datetime(event["start"]), parse_datetime(event["end"])
    except (KeyError, ValueError, TypeError):
        return None  # malformed or partial resource: nothing we can place in time
    return Interval(start, end) if start < end else None


def graph_datetime(value: datetime) -> dict[str, str]:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return {"dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(event: OutgoingEvent, *, teams: bool = False) -> dict[str, Any]:
    """The resource written for a call or prep block (without ``transactionId``).

    Attendees are deliberately not added: the service sends the client its own invite,
    and Outlook would otherwise mail them on every change the lawyer makes. ``teams``:
    the call gets a Teams meeting (the account allows ``teamsForBusiness``).
    """
    description = event.description_with_client()
    body: dict[str, Any] = {
        "subject": event.summary,
        "body": {"contentType": "text", "content": description},
        "start": graph_datetime(event.start),
        "end": graph_datetime(event.end),
        "showAs": "busy",
        "isReminderOn": False,
        "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": event.uid}],
    }
    if teams:
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = "teamsForBusiness"
    return body
