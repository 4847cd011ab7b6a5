"""Calls as CSV for billing and time records, one row per call, the same for the admin
download and ``flask booking list --format csv``.

Times are the lawyer's wall-clock time (``YYYY-MM-DD HH:MM``, the zone in its own
column), so a spreadsheet sorts and sums them as they are. The download is UTF-8 with a
byte-order mark and ``,`` separators: Excel (which otherwise reads CSV in the system's
ANSI code page and garbles Cyrillic) and LibreOffice both open it correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from service.storage.models import Booking

BOM = "\ufeff"
COLUMNS = ("uid", "client", "matter", "start", "end", "timezone", "duration_min", "status", "outcome",
           "booked_by")


def _cell(value: object) -> str:
    """A cell that a spreadsheet never runs as a formula (CSV injection: = + - @ tab CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rows(calls: Iterable[Booking], agenda: bool = False) -> Iterable[list[str]]:
    yield list(COLUMNS) + (["agenda"] if agenda else [])
    for booking in calls:
        zone = booking.lawyer.zone
        start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
        row = [
            booking.uid,
            booking.client.name,
            booking.client.matter,
            start.strftime("%Y-%m-%d %H:%M"),
            end.strftime("%Y-%m-%d %H:%M"),
            booking.lawyer.timezone,
            str(int((booking.end - booking.start).total_seconds() // 60)),
            booking.status,
            booking.outcome or "",
            booking.booked_by,
        ]
        if agenda:
            row.append(booking.agenda)
        yield [_cell(value) for value in row]


def to_csv(calls: Iterable[Booking], agenda: bool = False, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows(calls, agenda))
    return (BOM if bom else "") + out.getvalue()
