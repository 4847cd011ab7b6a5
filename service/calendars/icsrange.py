"""Cut an iCalendar text down to the events that may touch a time range, before parsing.

The live check before a booking asks one slot of a feed that may hold 50,000 events;
parsing all of them costs seconds, while almost all lie plainly elsewhere. This drops,
from the text, only the VEVENTs *proven* not to touch the range, read from their text
lines (no icalendar objects, no date parsing: the plain ``YYYYMMDD[THHMMSS[Z]]`` form
orders as text does), lines read as icalendar reads them (unfolded, names without
spaces, in any case):

- events without any recurrence (RRULE, RDATE, EXRULE, RECURRENCE-ID), with one
  DTSTART and at most one DTEND in that plain form, and a UID no other line of the
  text may carry (the reader counts only the first component of a UID);
- that end before the range or start after it: exactly for a DTSTART and DTEND in
  UTC (``...Z``, no parameter, no ``X-WR-TIMEZONE`` in the text); within a day for a
  zone, floating time or whole day (no UTC offset reaches a day); within ``MARGIN``
  (two days) otherwise (DURATION, DUE or EXDATE beside them, or no DTEND: the reader
  may then place the event over the whole day of its start, as it does for a DTEND on
  no real day, which keeps the event).

Everything else (VTIMEZONEs wherever they are, recurring series and their overrides,
anything not read with certainty) is kept as it was: the result is the text without
those events' lines, and the busy time of the range read from it is the busy time read
from the whole text (property tests check it). An event of plain lines is read with
one regular expression (``_START_FIRST``); one with folded lines, a VALARM, names in
lower case or with spaces, line by line.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from booking.intervals import Interval

MARGIN = timedelta(days=2)
#: More than any UTC offset (Python's are under a day): a zoned, floating or all-day
#: instant written as ``YYYYMMDDTHHMMSS`` lies within this of that text read as UTC.
ZONE_MARGIN = timedelta(days=1)

_BEGIN, _END = "\nBEGIN:VEVENT", "\nEND:VEVENT"
#: icalendar's unfolding (``icalendar.parser.content_line``): line breaks, then a space
#: or a tab; and its line breaks.
_UNFOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
#: A line of an event that its text alone does not settle: a fold (or any line starting
#: with space), a name with spaces, lower case, quotes, escapes or other letters (the
#: reader drops spaces from names and reads them in upper case), a lone CR; and the
#: names that change how it is read (recurrence, nested component, margin).
_NOT_PLAIN = re.compile(
    r"\n(?:[^;:\r\n]*[^A-Z0-9;:\r\n-]|\r(?!\n)|"
    r"(?:RRULE|RDATE|EXRULE|RECURRENCE-ID|BEGIN|END|DURATION|DUE|EXDATE)[;:])"
)
#: An event of plain lines (other than recurrence, nesting and margin properties), one
#: DTSTART and one DTEND in the plain form, in either order: its times in groups 1-8
#: (parameters, day, time, Z; of the first, then of the second).
_SAFE = (r"(?:\n(?:[ACF-QS-Z0-9-]|B(?!EGIN[;:])|D(?!TSTART[;:]|TEND[;:]|URATION[;:]|UE[;:])"
         r"|E(?!XRULE[;:]|XDATE[;:]|ND[;:])|R(?!RULE[;:]|DATE[;:]|ECURRENCE-ID[;:]))"
         r"[A-Z0-9-]*[;:][^\r\n]*\r?)*")
_TIME = r"(;[^:\"\r\n]*)?:([0-9]{8})(?:T([0-9]{6})(Z)?)?[ \t]*\r?"
_START_FIRST = re.compile(rf"\r?{_SAFE}\nDTSTART{_TIME}{_SAFE}\nDTEND{_TIME}{_SAFE}")
_END_FIRST = re.compile(rf"\r?{_SAFE}\nDTEND{_TIME}{_SAFE}\nDTSTART{_TIME}{_SAFE}")
#: A DTSTART or DTEND line in the plain form.
_WHEN = re.compile(r"\n(DTSTART|DTEND)(;[^:\"\r\n]*)?:([0-9]{8})(?:T([0-9]{6})(Z)?)?[ \t]*\r?(?=\n|\Z)")
_RECURRING = frozenset(("RRULE", "RDATE", "EXRULE", "RECURRENCE-ID"))
_LOOSE = frozenset(("DURATION", "DUE", "EXDATE"))
_KEEP = None  # an event's reading when it must be kept


def near(text: str, window: Interval) -> str:
    """``text`` without the VEVENTs that cannot touch ``window`` (aware)."""
    if _BEGIN not in text:
        return text
    squeezed = _squeeze(_UNFOLD.sub("", text) if ("\n " in text or "\n\t" in text) else text)
    bounds = _Bounds(window, utc_exact="X-WR-TIMEZONE" not in squeezed)
    shared = _shared_uids(squeezed)
    del squeezed
    pieces: list[str] = []
    kept_from = 0
    size, find, starts = len(text), text.find, text.startswith
    not_plain, plain, by_lines, outside = _NOT_PLAIN.search, _plain, _Lines.read, bounds.outside
    start_first, end_first, seen = _START_FIRST.fullmatch, _END_FIRST.fullmatch, bounds.plain_outside
    at = find(_BEGIN)
    while at >= 0:
        body = at + len(_BEGIN)
        following = find(_BEGIN, body)
        close = find(_END, body, size if following < 0 else following)
        if close < 0 or not starts(("\r\n", "\n"), body):  # "BEGIN:VEVENTX", no END
            at = following
            continue
        end = close + len(_END)
        if starts("\r\n", end):
            end += 2
        elif starts("\n", end):
            end += 1
        elif end != size:
            end = -1  # "END:VEVENTX"
        # A fold or blank lines after the END line: the reader's unfolding could join them.
        if end >= 0 and not starts((" ", "\t", "\r", "\n"), end):
            lines = text[body:close]  # from the BEGIN line's break to the END line's
            found = start_first(lines)
            if found is None:
                found = end_first(lines)
                if found is not None:
                    found = _swapped(found.groups())
            else:
                found = found.groups()
            if found is not None:
                cut = not (shared and _uid_shared(lines, shared)) and seen(*found)
            else:
                reading = plain(lines, shared) if not_plain(lines) is None else by_lines(lines)
                cut = reading is not _KEEP and outside(*reading, shared)
            if cut:
                pieces.append(text[kept_from : at + 1])  # up to the BEGIN line
                kept_from = end
        at = following
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _swapped(groups: tuple) -> tuple:
    """``_END_FIRST``'s groups in ``_START_FIRST``'s order."""
    return groups[4:] + groups[:4]


def _uid_shared(lines: str, shared: frozenset[str]) -> bool:
    """Whether the plain event's UID (or what cannot be told from one) is one other
    lines may carry too."""
    count = lines.count("\nUID")
    if not count:
        return False
    at = lines.find("\nUID:")
    if count > 1 or at < 0:
        return True  # two UIDs, or "UID;X=..:", "UIDX:": keep
    stop = lines.find("\n", at + 1)
    return _uid_key(_squeeze(lines[at + 5 : len(lines) if stop < 0 else stop])) in shared


def _plain(lines: str, shared: frozenset[str]) -> _Reading | None:
    """The reading of an event whose every line name is plain (``_NOT_PLAIN``) and that
    ``_START_FIRST`` does not read (no DTEND, a margin property)."""
    found = _WHEN.findall(lines)
    if len(found) != lines.count("\nDTSTART") + lines.count("\nDTEND"):
        return _KEEP  # a DTSTART or DTEND not in the plain form
    start = end = None
    for name, params, day, clock, utc in found:
        if _VALID.get(day) is not True or (clock and _VALID.get(clock) is not True):
            when = _when(params, day, clock, utc)  # not seen yet, or not a real day or time
            if when is None:
                return _KEEP
        else:
            when = (day + (clock or "000000"), bool(utc) and not params)
        if name == "DTSTART":
            if start is not None:
                return _KEEP
            start = when
        elif end is not None:
            return _KEEP
        else:
            end = when
    if start is None:
        return _KEEP
    if shared and _uid_shared(lines, shared):
        return _KEEP
    return start, end, None, False


def _squeeze(text: str) -> str:
    """Text as names are compared: upper case, without spaces and tabs (icalendar drops
    them from names)."""
    return text.upper().replace(" ", "").replace("\t", "")


def _uid_key(value: str) -> str:
    """A UID as compared here (from squeezed text: upper case, no spaces): without
    escapes, the parameters' colons or surrounding space. Two UIDs the reader takes for
    one always have the same key; two keys alike only keep more."""
    return value.rpartition(":")[2].replace("\\", "").strip()


def _shared_uids(squeezed: str) -> frozenset[str]:
    """The UID keys that more than one line may carry: every "UID" of the (unfolded,
    squeezed) text, wherever it stands, counts (more lines only keep more). As
    ``_uid_key``, for every line at once."""
    parts = squeezed.replace("\\", "").split("UID")[1:]
    keys = Counter([part.partition("\n")[0].rpartition(":")[2].strip() for part in parts])
    return frozenset(key for key, count in keys.items() if count > 1)


#: (start, end or None, UID key or None, loose): an event's reading; start and end are
#: (``YYYYMMDDHHMMSS``, exact UTC).
_Reading = tuple[tuple[str, bool], "tuple[str, bool] | None", "str | None", bool]


class _Lines:
    """An event read line by line as icalendar reads it: unfolded, each line's name up to
    its first ``;`` or ``:`` without spaces or tabs, in upper case; properties of nested
    components (a VALARM) are not the event's."""

    @staticmethod
    def read(lines: str) -> _Reading | None:
        start = end = uid = None
        loose = False
        depth = 0
        if lines.endswith("\r"):  # the END line's CRLF
            lines = lines[:-1]
        for line in _NEWLINE.split(_UNFOLD.sub("", lines)):
            if not line:
                continue
            split = min((i for i in (line.find(";"), line.find(":")) if i >= 0), default=-1)
            if split < 0 or '"' in line[:split] or "\\" in line[:split]:
                return _KEEP  # not read with certainty here
            name = re.sub(r"[ \t]+", "", line[:split].strip()).upper()
            if name in ("BEGIN", "END"):
                if name == "END":
                    depth -= 1
                elif _squeeze(line[split + 1 :].strip()) == "VALARM":
                    depth += 1
                else:
                    return _KEEP  # a nested VEVENT is an event of its own
                if depth < 0:
                    return _KEEP
                continue
            if depth:
                continue  # a VALARM's lines are not the event's
            if name in _RECURRING:
                return _KEEP  # occurrences may land anywhere: read in full
            if name in _LOOSE:
                loose = True
            elif name in ("DTSTART", "DTEND", "UID"):
                params, colon, value = (
                    line[split + 1 :].partition(":") if line[split] == ";" else ("", ":", line[split + 1 :])
                )
                if not colon or '"' in params:
                    return _KEEP
                if name == "UID":
                    if uid is not None:
                        return _KEEP
                    uid = _uid_key(_squeeze(value))
                    continue
                when = _value(params, value)
                if when is None or (start if name == "DTSTART" else end) is not None:
                    return _KEEP  # a form not read with certainty here, or twice
                if name == "DTSTART":
                    start = when
                else:
                    end = when
        if start is None or depth:
            return _KEEP
        return start, end, uid, loose


_VALID: dict[str, bool] = {}  # a day YYYYMMDD or a time HHMMSS: whether it exists
_VALUE = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z)?)?[ \t]*")


def _value(params: str, value: str) -> tuple[str, bool] | None:
    """``_when`` of a DTSTART/DTEND line's parameters and value, if in the plain form."""
    found = _VALUE.fullmatch(value) if '"' not in params else None
    return None if found is None else _when(params, *found.groups(""))


def _when(params: str, day: str, clock: str, utc: str) -> tuple[str, bool] | None:
    """``(YYYYMMDDHHMMSS, exact UTC)`` of a plain DTSTART/DTEND value, or None if its day
    or time does not exist."""
    for part in (day, clock) if clock else (day,):
        valid = _VALID.get(part)
        if valid is None:
            if len(_VALID) > 100_000:
                _VALID.clear()
            valid = _VALID[part] = _exists(part)
        if not valid:
            return None
    return day + (clock or "000000"), bool(utc) and not params


def _exists(part: str) -> bool:
    if len(part) == 6:
        return part[:2] < "24" and part[2:4] < "60" and part[4:] < "60"
    try:
        date(int(part[:4]), int(part[4:6]), int(part[6:]))
    except ValueError:
        return False
    return True


class _Bounds:
    """The range as text (``YYYYMMDDHHMMSS`` in UTC), widened by each margin."""

    def __init__(self, window: Interval, *, utc_exact: bool) -> None:
        start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
        self.utc_exact = utc_exact
        self.exact = (_text(start), _text(end))
        self.zoned = (_text(start - ZONE_MARGIN), _text(end + ZONE_MARGIN))
        self.loose = (_text(start - MARGIN), _text(end + MARGIN))

    def plain_outside(self, start_params: str | None, start_day: str, start_clock: str | None,
                      start_utc: str | None, end_params: str | None, end_day: str,
                      end_clock: str | None, end_utc: str | None) -> bool:
        """``outside`` of an event read by ``_START_FIRST`` (no UID to compare)."""
        if _VALID.get(end_day) is not True or (end_clock and _VALID.get(end_clock) is not True):
            # Not seen yet, or no such day or time: the reader may then hold the whole
            # day of the start busy (as for a DURATION it cannot read).
            end = _when(end_params or "", end_day, end_clock or "", end_utc or "")
            if end is None:
                return False
        start = start_day + (start_clock or "000000")
        end_at = end_day + (end_clock or "000000")
        exact = self.exact if self.utc_exact else self.zoned
        high = (exact if start_utc and start_params is None else self.zoned)[1]
        low = (exact if end_utc and end_params is None else self.zoned)[0]
        return start >= high or end_at <= low

    def outside(self, start: tuple[str, bool], end: tuple[str, bool] | None, uid: str | None,
                loose: bool, shared: frozenset[str]) -> bool:
        """Whether an event so read cannot touch the range."""
        if uid is not None and uid in shared:
            return False  # the reader counts only the first component of a UID
        if loose or end is None:
            low, high = self.loose
            return start[0] > high or (end is not None and end[0] < low)
        low = (self.exact if end[1] and self.utc_exact else self.zoned)[0]
        high = (self.exact if start[1] and self.utc_exact else self.zoned)[1]
        return start[0] >= high or end[0] <= low


def _text(when: datetime) -> str:
    return (f"{when.year:04d}{when.month:02d}{when.day:02d}"
            f"{when.hour:02d}{when.minute:02d}{when.second:02d}")
