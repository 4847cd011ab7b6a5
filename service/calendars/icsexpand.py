"""Expanding the events of a parsed calendar into busy time, one event at a time.

An event is a UID: its series and the overrides of its instances. Each is repaired
(``icsrepair``), corrected where ``recurring-ical-events`` departs from RFC 5545, and
expanded on its own, so that what cannot be read stays with that event:

- **Fail closed.** An event that still cannot be expanded is busy over every span
  it can be placed in (its first instance, each override) and a :class:`ReadWarning`
  names it; an event without a readable start is named and blocks nothing.
- **Bounded.** A rule that may repeat more often than every ``MIN_REPEAT_MINUTES``,
  or whose expansion up to the window would take more than ``MAX_STEPS``
  occurrences, is not expanded: it is busy over its whole extent in the window, and
  named. An unbounded rule that started long ago is expanded from just before the
  window (its start moved forward by whole periods, which keeps every instance).
- **RFC 5545 over the library**, where they differ:
  an override (``RECURRENCE-ID``) stands even when the master also lists its original
  time in ``EXDATE`` (Apple writes both); a floating ``UNTIL`` beside a zoned
  ``DTSTART`` is read in DTSTART's zone (exporters write local time there); a series
  defined by DTSTART/DTEND, or by a DURATION in hours/minutes/seconds, keeps its
  exact duration across DST changes (section 3.8.5.3). The library adds the duration
  on the wall clock; an instance is busy until the later of the two ends, so that a
  23:00-04:00 duty is never shorter than either reading of it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.prop import vBroken

from booking.intervals import Interval, merge
from service.calendars import bounded, icsrepair
from service.calendars.base import ProviderError, is_own_uid

log = logging.getLogger(__name__)

#: Expansion looks this far outside the window so that an occurrence straddling a
#: window edge is found whichever zone its wall-clock times are read in.
MARGIN = timedelta(days=1)
#: A rule that may repeat more often than this is busy over its whole extent.
MIN_REPEAT_MINUTES = 15
#: At most this many occurrences are computed for one event (from its start), and at
#: most this many periods of a rule walked (FREQ=SECONDLY with BYHOUR=9 is a daily rule
#: that the library walks second by second).
MAX_STEPS = 200_000
MAX_PERIODS = 2_000_000

#: The reader's words when the budget ended mid-reading (``_cut_off`` words it for the lawyer).
READING_CUT_OFF = "reading the calendar's events did not finish within the time allowed, cut off"

_UNITS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400}
_MONTHS = {"MONTHLY": 31 * 86400, "YEARLY": 366 * 86400}


class CalendarDataError(ProviderError):
    """The calendar data cannot be read as iCalendar."""

    retryable = False


@dataclass(frozen=True)
class ReadWarning:
    """An event the reader could not read exactly, and the busy time it assumed.

    ``reason``: ``"unreadable"`` (busy over ``start``-``end`` where known),
    ``"no_start"`` (nothing can be placed in time), ``"too_frequent"`` (repeats more
    often than every ``minutes``; busy from ``start`` to ``end``)."""

    uid: str
    summary: str
    reason: str
    detail: str = ""
    start: datetime | None = None
    end: datetime | None = None
    minutes: int | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("start", "end"):
            data[key] = data[key].isoformat() if data[key] else None
        return {k: v for k, v in data.items() if v not in (None, "")}


@dataclass
class Reading:
    busy: dict[str, list[Interval]] = field(default_factory=dict)
    warnings: list[ReadWarning] = field(default_factory=list)


def read_calendar(cal: icalendar.Calendar, window: Interval, tz: ZoneInfo) -> Reading:
    """Each event's busy time. Inside a budget (``bounded.budget``: the web's live check,
    a worker task) the reading stops when the budget is spent: ``MAX_STEPS`` bounds one
    event, not a feed of hundreds of such events (each a second of CPU)."""
    reading = Reading()
    for uid, components in _events_by_uid(cal):
        left = bounded.remaining()
        if left is not None and left <= 0:
            raise bounded.TooSlow(READING_CUT_OFF)
        if is_own_uid(uid):
            continue
        try:
            components = [_own_copy(c) for c in components]
            for component in components:
                icsrepair.repair_component(component)
            spans, warning = _read_event(uid, components, window, tz)
        except Exception as exc:  # noqa: BLE001 - one event's fault stays with that event
            log.info("event %r cannot be expanded: %s", uid, exc)
            spans, warning = _fail_closed(uid, components, window, tz, _reason(exc))
        if warning is not None:
            reading.warnings.append(warning)
        clipped = _clip(spans, window)
        if clipped:
            reading.busy[uid] = clipped
    return reading


def _events_by_uid(cal: icalendar.Calendar) -> Iterable[tuple[str, list[icalendar.Component]]]:
    groups: dict[str, list[icalendar.Component]] = {}
    for index, component in enumerate(cal.walk("VEVENT")):
        uid = str(component.get("UID", "") or "").strip() or f"#{index}"
        groups.setdefault(uid, []).append(component)
    return groups.items()


# -- one event ----------------------------------------------------------------------------


def _read_event(
    uid: str, components: list[icalendar.Component], window: Interval, tz: ZoneInfo
) -> tuple[list[Interval], ReadWarning | None]:
    """The busy spans of one event (its components repaired copies, changed here)."""
    masters = [c for c in components if "RECURRENCE-ID" not in c]
    overrides = [c for c in components if "RECURRENCE-ID" in c]
    broken = sorted({n for c in components for n, v in c.property_items() if isinstance(v, vBroken)})
    relevant = [n for n in broken if n in _EXPANSION_PROPERTIES]
    if relevant:
        return _fail_closed(uid, components, window, tz, "cannot read " + ", ".join(relevant))
    if any("DTSTART" not in c for c in masters):
        return _fail_closed(uid, components, window, tz, "no DTSTART")
    master = masters[0] if masters else None
    if master is not None and not overrides and not any(n in master for n in _RECURRENCE):
        span = occurrence_span(master, tz) if is_busy(master) else None  # a one-off event
        return ([span] if span is not None else []), None
    if master is not None:
        _keep_overrides_over_exdates(master, overrides, tz)
        _until_in_start_zone(master)
        dense = _too_dense(uid, master, window, tz)
        if dense is not None:
            return dense
        _start_near_window(master, window, tz)
    query = icalendar.Calendar()
    for component in components:
        query.add_component(component)
    lo = window.start.astimezone(tz) - MARGIN
    hi = window.end.astimezone(tz) + MARGIN
    occurrences = recurring_ical_events.of(query).between(lo, hi)
    exact = _exact_duration(master, overrides, tz) if master is not None else None
    override_ids = {_key(c["RECURRENCE-ID"].dt, tz) for c in overrides}
    spans = []
    for occurrence in occurrences:
        if not is_busy(occurrence):
            continue
        span = occurrence_span(occurrence, tz)
        if span is None:
            continue
        rid = occurrence.get("RECURRENCE-ID")
        if exact is not None and (rid is None or _key(rid.dt, tz) not in override_ids):
            span = Interval(span.start, max(span.end, exact(span.start)))
        spans.append(span)
    return spans, None


_RECURRENCE = ("RRULE", "RDATE", "EXRULE")
_EXPANSION_PROPERTIES = {
    *icsrepair.RULES, *icsrepair.DURATIONS, *icsrepair.SINGLE_DATES, *icsrepair.DATE_LISTS
}


def _own_copy(component: icalendar.Component) -> icalendar.Component:
    """A copy whose properties can be replaced without touching the caller's calendar."""
    copy = component.__class__()
    for name, value in component.property_items(recursive=False, sorted=False):
        if name not in ("BEGIN", "END"):
            copy.add(name, value, encode=False)
    copy.subcomponents = list(component.subcomponents)
    return copy


def _fail_closed(
    uid: str, components: list[icalendar.Component], window: Interval, tz: ZoneInfo, why: str
) -> tuple[list[Interval], ReadWarning | None]:
    """Busy over each component's own span where it can be placed."""
    spans = []
    if not any(is_busy(c) for c in components):
        return [], None  # cancelled or free: nothing to block, nothing to say
    for component in components:
        if not is_busy(component):
            continue
        start = _readable(component, "DTSTART") or _readable(component, "RECURRENCE-ID")
        if start is None:
            continue
        begin = _aware(start, tz)
        end = _readable(component, "DTEND")
        duration = _readable(component, "DURATION")
        if end is not None and _aware(end, tz) > begin:
            finish = _aware(end, tz)
        elif isinstance(duration, timedelta) and duration > timedelta(0):
            finish = begin + duration
        else:  # the length cannot be read: the whole day in the lawyer's zone
            day = begin.astimezone(tz).date()
            begin = _aware(day, tz)
            finish = _aware(day + timedelta(days=1), tz)
        spans.append(Interval(begin.astimezone(UTC), finish.astimezone(UTC)))
    summary = _summary(components)
    if not spans:
        return [], ReadWarning(uid, summary, "no_start", why)
    merged = merge(spans)
    return merged, ReadWarning(uid, summary, "unreadable", why, merged[0].start, merged[-1].end)


def _readable(component: icalendar.Component, name: str):
    prop = component.get(name)
    if prop is None or isinstance(prop, vBroken):
        return None
    try:
        value = prop.dt
    except Exception:  # noqa: BLE001 - anything unreadable is "not there"
        return None
    return value if isinstance(value, (date, timedelta)) else None


def _summary(components: list[icalendar.Component]) -> str:
    for component in components:
        text = str(component.get("SUMMARY", "") or "").strip()
        if text:
            return text[:200]
    return ""


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


# -- corrections to the library ---------------------------------------------------------


def _key(value, tz: tzinfo):
    """A comparable instant: dates stay dates, date-times become UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.astimezone(UTC)
    return value


def _keep_overrides_over_exdates(
    master: icalendar.Component, overrides: list[icalendar.Component], tz: ZoneInfo
) -> None:
    """Apple: EXDATE of the original time plus an override of it -> the override stands."""
    if "EXDATE" not in master or not overrides:
        return
    moved = {_key(c["RECURRENCE-ID"].dt, tz) for c in overrides}
    lists = master["EXDATE"] if isinstance(master["EXDATE"], list) else [master["EXDATE"]]
    kept = []
    for exdates in lists:
        values = [item.dt for item in exdates.dts if _key(item.dt, tz) not in moved]
        if len(values) == len(exdates.dts):
            kept.append(exdates)
        elif values:
            new = icalendar.vDDDLists(values)
            new.params = exdates.params
            kept.append(new)
    del master["EXDATE"]
    if kept:
        master["EXDATE"] = kept if len(kept) > 1 else kept[0]


def _rules(master: icalendar.Component) -> list:
    rules = master.get("RRULE")
    if rules is None:
        return []
    return rules if isinstance(rules, list) else [rules]


def _until_in_start_zone(master: icalendar.Component) -> None:
    """A floating UNTIL beside a zoned DTSTART is DTSTART's local time."""
    start = master["DTSTART"].dt
    if not isinstance(start, datetime) or start.tzinfo is None:
        return
    for rule in _rules(master):
        until = rule.get("UNTIL")
        if until and isinstance(until[0], datetime) and until[0].tzinfo is None:
            fixed = icalendar.vRecur(rule)
            fixed.params = rule.params
            fixed["UNTIL"] = [until[0].replace(tzinfo=start.tzinfo).astimezone(UTC)]
            rules = master["RRULE"]
            if isinstance(rules, list):
                master["RRULE"] = [fixed if r is rule else r for r in rules]
            else:
                master["RRULE"] = fixed


def _exact_duration(
    master: icalendar.Component, overrides: list[icalendar.Component], tz: ZoneInfo
):
    """end(start) for the generated instances of a timed series, or None to keep the
    library's ends (all-day series, RDATE periods, THISANDFUTURE overrides)."""
    start = master["DTSTART"].dt
    if not isinstance(start, datetime):
        return None
    if any(str(o["RECURRENCE-ID"].params.get("RANGE", "")).upper() == "THISANDFUTURE" for o in overrides):
        return None
    rdates = master.get("RDATE")
    for rdate in rdates if isinstance(rdates, list) else [rdates] if rdates else []:
        if str(rdate.params.get("VALUE", "")).upper() == "PERIOD":
            return None
    if "DTEND" in master:
        end = master["DTEND"].dt
        if not isinstance(end, datetime):
            return None
        exact = _aware(end, tz).astimezone(UTC) - _aware(start, tz).astimezone(UTC)
        return lambda begin: begin.astimezone(UTC) + exact
    if "DURATION" in master:
        duration = master["DURATION"].dt
        if not isinstance(duration, timedelta):
            return None
        nominal, exact = timedelta(days=duration.days), duration - timedelta(days=duration.days)
        return lambda begin: (begin + nominal).astimezone(UTC) + exact
    return None


# -- bounds --------------------------------------------------------------------------------


def _per_day(rule) -> float:
    """At most how many times a day ``rule`` can repeat."""
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    interval = max(int((rule.get("INTERVAL") or [1])[0] or 1), 1)

    def size(name: str, every: int) -> int:
        return len(rule.get(name) or []) or every

    hours, minutes, seconds = size("BYHOUR", 24), size("BYMINUTE", 60), size("BYSECOND", 60)
    if freq == "SECONDLY":
        return min(86400 / interval, hours * minutes * seconds)
    if freq == "MINUTELY":
        return min(1440 / interval, hours * minutes) * size("BYSECOND", 1)
    if freq == "HOURLY":
        return min(24 / interval, hours) * size("BYMINUTE", 1) * size("BYSECOND", 1)
    return size("BYHOUR", 1) * size("BYMINUTE", 1) * size("BYSECOND", 1)


def _too_dense(
    uid: str, master: icalendar.Component, window: Interval, tz: ZoneInfo
) -> tuple[list[Interval], ReadWarning] | None:
    """Busy over the extent of a rule too dense or too long to expand, else None."""
    rules = _rules(master)
    if not rules:
        return None
    start = _aware(master["DTSTART"].dt, tz)
    hi = window.end + MARGIN
    days = max((hi - start).total_seconds() / 86400, 1)
    worst = None
    for rule in rules:
        per_day = _per_day(rule)
        count = int((rule.get("COUNT") or [0])[0] or 0)
        steps = per_day * days if not count else min(count, per_day * days)
        span_days = days
        if not count and len(rules) == 1 and _can_move_start(master, rule):
            span_days = (window.end - window.start).total_seconds() / 86400 + 2
            steps = per_day * span_days
        # The library walks every period of a sub-hourly rule, filtered or not.
        periods = span_days * 86400 / _period_seconds(rule)
        if per_day > 1440 / MIN_REPEAT_MINUTES or steps > MAX_STEPS or periods > MAX_PERIODS:
            worst = rule
            break
    if worst is None:
        return None
    end = _rule_end(worst, start, tz)
    length = _length(master, tz)
    busy_from = max(start, window.start)
    busy_to = min(end + length if end is not None else window.end, window.end)
    summary = _summary([master])
    if busy_to <= busy_from:
        return [], None
    span = Interval(busy_from.astimezone(UTC), busy_to.astimezone(UTC))
    return [span], ReadWarning(
        uid, summary, "too_frequent", str(worst.to_ical().decode())[:200],
        span.start, span.end, MIN_REPEAT_MINUTES,
    )


def _period_seconds(rule) -> float:
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    interval = max(int((rule.get("INTERVAL") or [1])[0] or 1), 1)
    return float({**_UNITS, **_MONTHS}.get(freq, 86400) * interval)


def _rule_end(rule, start: datetime, tz: ZoneInfo) -> datetime | None:
    until = rule.get("UNTIL")
    if until:
        return _aware(until[0], tz)
    count = int((rule.get("COUNT") or [0])[0] or 0)
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    plain = not any(k.startswith("BY") for k in rule)
    if count and plain and freq in _UNITS:
        interval = max(int((rule.get("INTERVAL") or [1])[0] or 1), 1)
        return start + timedelta(seconds=_UNITS[freq] * interval * count)
    return None


def _length(master: icalendar.Component, tz: ZoneInfo) -> timedelta:
    start = master["DTSTART"].dt
    if "DTEND" in master:
        end = _aware(master["DTEND"].dt, tz).astimezone(UTC)
        return max(end - _aware(start, tz).astimezone(UTC), timedelta(0))
    if "DURATION" in master and isinstance(master["DURATION"].dt, timedelta):
        return max(master["DURATION"].dt, timedelta(0))
    return timedelta(0) if isinstance(start, datetime) else timedelta(days=1)


def _can_move_start(master: icalendar.Component, rule) -> bool:
    """Whether whole periods of ``rule`` can be skipped exactly: fixed-length periods,
    no COUNT or BYSETPOS, no RDATE; steps shorter than a day only in a zone without
    DST changes (the library steps on the wall clock)."""
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    if freq not in _UNITS or rule.get("COUNT") or rule.get("BYSETPOS") or "RDATE" in master:
        return False
    start = master["DTSTART"].dt
    if _UNITS[freq] < 86400 and isinstance(start, datetime) and start.tzinfo is not None:
        return start.utcoffset() == timedelta(0) and str(start.tzinfo) in ("UTC", "Etc/UTC", "UTC+00:00")
    return True


def _start_near_window(master: icalendar.Component, window: Interval, tz: ZoneInfo) -> None:
    """Move an unbounded rule's DTSTART (and DTEND) forward by whole periods to just
    before the window: the same instances in the window, without computing years of
    them. Only for one rule without COUNT or BYSETPOS, in periods of fixed length."""
    rules = _rules(master)
    if len(rules) != 1 or not _can_move_start(master, rules[0]):
        return
    rule = rules[0]
    start = master["DTSTART"].dt
    if not isinstance(start, datetime):
        start_wall = datetime.combine(start, time(0))
    else:
        start_wall = start.replace(tzinfo=None)
    freq = str(rule["FREQ"][0]).upper()
    interval = max(int((rule.get("INTERVAL") or [1])[0] or 1), 1)
    period = timedelta(seconds=_UNITS[freq] * interval)
    target = (window.start.astimezone(tz) - 2 * MARGIN).replace(tzinfo=None)
    periods = math.floor((target - start_wall) / period)
    if periods <= 1:
        return
    shift = period * periods
    for name in ("DTSTART", "DTEND"):
        if name in master:
            prop = master[name]
            new = icalendar.vDDDTypes(prop.dt + shift)
            new.params = prop.params
            master[name] = new


# -- one occurrence ----------------------------------------------------------------------


def is_busy(event: icalendar.Component) -> bool:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() != "FREE"


def occurrence_span(event: icalendar.Component, tz: ZoneInfo) -> Interval | None:
    """The occurrence's [start, end) as aware datetimes; None if it has no length."""
    start_prop = event.get("DTSTART")
    if start_prop is None:
        return None
    start = start_prop.dt
    end_prop = event.get("DTEND")
    if end_prop is not None:
        end = end_prop.dt
    elif event.get("DURATION") is not None:
        end = start + event["DURATION"].dt
    elif isinstance(start, datetime):
        end = start  # RFC 5545: a DTSTART date-time alone takes no time
    else:
        end = start + timedelta(days=1)  # a DTSTART date alone is that whole day
    begin, finish = _aware(start, tz), _aware(end, tz)
    if finish <= begin:
        return None
    return Interval(begin, finish)


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tzinfo=tz)


def _clip(spans: Iterable[Interval], window: Interval) -> list[Interval]:
    clipped = []
    for span in spans:
        start, end = max(span.start, window.start), min(span.end, window.end)
        if start < end:
            clipped.append(Interval(start.astimezone(UTC), end.astimezone(UTC)))
    return merge(clipped)
