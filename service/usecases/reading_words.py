"""The calendars page's words for events a calendar reader could not read exactly.

The readers (``service.calendars.icsexpand``) store each such event with the sync
(``Calendar.read_warnings``); this turns them into sentences in the lawyer's language
and zone, e.g. "Could not read event «Board»: no DTSTART. Treated as busy from … to …".
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext, lazy_gettext

from service.usecases import wording

#: At most this many warnings are shown per calendar (the rest are counted).
SHOWN = 10

#: The readers' own reasons, stored in English with each warning (``ReadWarning.detail``),
#: in the lawyer's language. Any other detail is a library's message about malformed
#: data: it is shown as such, quoted, after words of the lawyer's language.
OWN_REASONS = {
    "no DTSTART": lazy_gettext("it has no start time (DTSTART)"),
    "its end time cannot be read": lazy_gettext("its end time cannot be read"),
    "its start time cannot be read": lazy_gettext("its start time cannot be read"),
    "its start and end times cannot be read": lazy_gettext("its start and end times cannot be read"),
}
_CANNOT_READ = "cannot read "  # + the iCalendar property names (``icsexpand._read_event``)


def reading_warnings(stored: dict | None, tz: ZoneInfo) -> list[str]:
    """Sentences for the stored warnings of one calendar, most useful first."""
    items = [w for key in sorted(stored or {}) for w in (stored or {})[key] if isinstance(w, dict)]
    items.sort(key=lambda w: (w.get("reason") != "too_frequent", w.get("start") or ""))
    lines = [_sentence(w, tz) for w in items[:SHOWN]]
    if len(items) > SHOWN:
        lines.append(gettext("… and %(count)d more events that could not be read exactly.",
                             count=len(items) - SHOWN))
    return lines


def _sentence(warning: dict, tz: ZoneInfo) -> str:
    name = warning.get("summary") or warning.get("uid") or "?"
    start, end = _when(warning.get("start"), tz), _when(warning.get("end"), tz)
    if warning.get("reason") == "too_frequent":
        return gettext(
            "Event «%(name)s» repeats more often than every %(minutes)d minutes; "
            "treated as busy from %(start)s to %(end)s.",
            name=name, minutes=int(warning.get("minutes") or 0), start=start, end=end,
        )
    reason = _reason(warning.get("detail") or "")
    if start and end:
        return gettext(
            "Could not read event «%(name)s»: %(reason)s. Treated as busy from %(start)s to %(end)s.",
            name=name, reason=reason, start=start, end=end,
        )
    return gettext(
        "Could not read event «%(name)s»: %(reason)s. It has no readable time, so it blocks nothing; "
        "correct it in your calendar.",
        name=name, reason=reason,
    )


def _reason(detail: str) -> str:
    if detail in OWN_REASONS:
        return str(OWN_REASONS[detail])
    if detail.startswith(_CANNOT_READ):
        return gettext("its %(names)s cannot be read", names=detail[len(_CANNOT_READ):])
    if not detail:
        return gettext("unknown error")
    return gettext("its data is malformed (“%(detail)s”)", detail=detail)


def _when(text: str | None, tz: ZoneInfo) -> str:
    if not text:
        return ""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return ""
    return wording.format_datetime(instant.astimezone(tz))
