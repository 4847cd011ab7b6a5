"""Cut an iCalendar text down to the events that may touch a time range, before parsing.

The live check before a booking asks one slot of a feed that may hold 50,000 events;
parsing all of them costs seconds, while almost all lie plainly elsewhere. This drops,
from the text, only the VEVENTs *proven* to lie outside the range by more than
``MARGIN`` (two days: more than any zone offset, floating time or all-day day): those
without any recurrence (RRULE, RDATE, EXRULE, RECURRENCE-ID) whose DTSTART is after the
range, or whose DTEND is before it, both in the plain ``YYYYMMDD[THHMMSS[Z]]`` form.
Everything else (VTIMEZONEs, recurring series and their overrides, events with a
DURATION, odd or quoted parameters, anything not read with certainty) is kept as it
was. The busy time of the range read from the result is the busy time read from the
whole text (a property test checks it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from booking.intervals import Interval

MARGIN = timedelta(days=2)

_UNFOLD = re.compile(r"\r?\n[ \t]")
_WHEN = re.compile(r"^(DTSTART|DTEND)(?:;[^:\"]*)?:(\d{8})(?:T(\d{6})Z?)?\s*$", re.IGNORECASE)
_RECURRING = ("RRULE", "RDATE", "EXRULE", "RECURRENCE-ID")


def near(text: str, window: Interval) -> str:
    """``text`` without the non-recurring VEVENTs that lie wholly outside ``window``
    (``window`` aware); the rest of the text unchanged (unfolded)."""
    lines = _UNFOLD.sub("", text).splitlines()
    earliest, latest = window.start - MARGIN, window.end + MARGIN
    out: list[str] = []
    block: list[str] | None = None
    depth = 0
    for line in lines:
        upper = line.upper()
        if block is None:
            if upper.startswith("BEGIN:VEVENT"):
                block, depth = [line], 1
            else:
                out.append(line)
            continue
        block.append(line)
        if upper.startswith("BEGIN:"):
            depth += 1
        elif upper.startswith("END:"):
            depth -= 1
            if depth == 0:
                if not _outside(block, earliest, latest):
                    out.extend(block)
                block = None
    if block is not None:  # unterminated: let the parser judge it
        out.extend(block)
    return "\r\n".join(out) + "\r\n"


def _outside(block: list[str], earliest: datetime, latest: datetime) -> bool:
    start = end = None
    nested = 0
    for line in block[1:-1]:
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            nested += 1
            continue
        if upper.startswith("END:"):
            nested -= 1
            continue
        if nested:
            continue  # a VALARM's properties are not the event's
        name = re.split(r"[;:]", upper, maxsplit=1)[0]
        if name in _RECURRING:
            return False
        if name in ("DTSTART", "DTEND"):
            found = _WHEN.match(line)
            if found is None:
                return False  # a form not read with certainty here: keep
            day, clock = found.group(2), found.group(3) or "000000"
            try:
                # read as UTC; the margin covers any zone, floating time or whole day
                when = datetime.strptime(day + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                return False
            if name == "DTSTART":
                start = when
            else:
                end = when
    if start is None:
        return False
    if start > latest:
        return True
    return end is not None and end < earliest
