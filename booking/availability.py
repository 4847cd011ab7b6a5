"""Which calls a client may book: ``free_slots`` lists them, ``check_start`` checks one.

Both apply the same rules from the data (agreement, lawyer rules, busy time, bookings)
and share the helpers below, so a start is offered by ``free_slots`` exactly when
``check_start`` accepts it.

Time model: windows are wall-clock times in the lawyer's zone. A window's edges are
converted to UTC once (the first instant the clock shows that time; an edge inside a
spring-forward gap moves to the transition instant) and slots step through the window
in absolute time, so a DST change shortens or lengthens a window but never duplicates
or skips a slot. Everything a slot carries is in UTC.

Cost: busy intervals are filtered to the queried range, merged once (``BusyIndex``) and
each candidate is one bisection; booking counts per day / week / month are computed
once. Nothing loops candidates × busy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from booking.intervals import BusyIndex, Interval
from booking.model import Agreement, BookedCall, LawyerRules, Slot
from booking.terms import check_agreement
from booking.walltime import local_date, to_utc, wall_interval, wall_to_utc, week_start

Reason = Literal[
    "past",
    "too_soon",
    "beyond_horizon",
    "day_off",
    "outside_windows",
    "not_on_step",
    "client_week_limit",
    "client_month_limit",
    "lawyer_day_limit",
    "lawyer_week_limit",
    "busy",
    "other_booking",
]

_DAY = timedelta(days=1)


class SlotRefused(Exception):
    """A requested start cannot be booked; ``reason`` is one of ``Reason``."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"SlotRefused({self.reason!r}, {self.message!r})"


# --- the rules, precomputed once per query -------------------------------------------


@dataclass(frozen=True)
class _Rules:
    agreement: Agreement
    lawyer: LawyerRules
    now: datetime
    earliest: datetime  # now + notice
    horizon_end: datetime  # now + horizon_days (exclusive)
    prep_day: date | None  # notice_next_working_day: calls only after this date
    step: timedelta
    weekly: dict[int, list[tuple[time, time]]]
    extra: dict[date, list[tuple[time, time]]]

    @classmethod
    def build(cls, agreement: Agreement, lawyer: LawyerRules, now: datetime) -> _Rules:
        check_agreement(agreement)  # the bounds table's minimums (e.g. no negative notice)
        step = agreement.step or agreement.duration
        if step <= timedelta(0):
            raise ValueError(f"slot step must be positive, got {step}")  # pragma: no mutate
        now = to_utc(now, "now")
        earliest, horizon_end = offered_range(
            now, agreement.notice, timedelta(days=agreement.horizon_days)
        )
        weekly: dict[int, list[tuple[time, time]]] = {}
        for w in agreement.windows:
            if w.start < w.end:
                weekly.setdefault(w.weekday, []).append((w.start, w.end))
        extra: dict[date, list[tuple[time, time]]] = {}
        for x in agreement.extra_windows:
            if x.start < x.end:
                extra.setdefault(x.day, []).append((x.start, x.end))
        prep_day = None
        if agreement.notice_next_working_day:
            prep_day = _first_working_day_after(local_date(now, lawyer.timezone), lawyer)
        return cls(
            agreement=agreement,
            lawyer=lawyer,
            now=now,
            earliest=earliest,
            horizon_end=horizon_end,
            prep_day=prep_day,
            step=step,
            weekly=weekly,
            extra=extra,
        )

    def windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The agreed windows on the lawyer-local ``day`` as UTC ``(start, end)``."""
        walls = self.weekly.get(day.weekday(), []) + self.extra.get(day, [])
        tz = self.lawyer.timezone
        spans = (wall_interval(day, start, end, tz) for start, end in walls)
        return [span for span in spans if span is not None]

    def time_refusal(self, start: datetime) -> tuple[Reason, str] | None:
        """Past, notice and horizon rules for a call starting at ``start`` (UTC)."""
        tz = self.lawyer.timezone
        if start < self.now:
            return "past", f"{_show(start, tz)} is in the past"
        if start < self.earliest:
            return "too_soon", (
                f"{_show(start, tz)} is too soon: calls need {_show_delta(self.agreement.notice)}"  # pragma: no mutate
                f" notice, the earliest start is {_show(self.earliest, tz)}"  # pragma: no mutate
            )
        if self.prep_day is not None and local_date(start, tz) <= self.prep_day:
            return "too_soon", (
                f"{_show(start, tz)} is too soon: {self.prep_day.isoformat()} is the"  # pragma: no mutate
                " preparation day, calls start the day after"  # pragma: no mutate
            )
        if start >= self.horizon_end:
            return "beyond_horizon", (
                f"{_show(start, tz)} is beyond the booking horizon of"  # pragma: no mutate
                f" {self.agreement.horizon_days} days (until {_show(self.horizon_end, tz)})"  # pragma: no mutate
            )
        return None


def _first_working_day_after(today: date, lawyer: LawyerRules) -> date:
    day = today
    for _ in range(400):
        day += _DAY
        if day.weekday() in lawyer.working_days and day not in lawyer.days_off:
            return day
    return date.max  # no working day at all: nothing can be prepared


class _Counts:
    """Bookings per lawyer-local day / week (all clients) and per week / month (one client)."""

    def __init__(self, bookings: Iterable[BookedCall], client: object, tz: ZoneInfo) -> None:
        self.lawyer_day: Counter[date] = Counter()
        self.lawyer_week: Counter[date] = Counter()
        self.client_week: Counter[date] = Counter()
        self.client_month: Counter[tuple[int, int]] = Counter()
        for booking in bookings:
            day = local_date(to_utc(booking.start, "booking start"), tz)
            week = week_start(day)
            self.lawyer_day[day] += 1
            self.lawyer_week[week] += 1
            if booking.client == client:
                self.client_week[week] += 1
                self.client_month[day.year, day.month] += 1

    def refusal(
        self, day: date, agreement: Agreement, lawyer: LawyerRules
    ) -> tuple[Reason, str] | None:
        """The first cadence or cap that a call on lawyer-local ``day`` would exceed."""
        week = week_start(day)
        limit = agreement.max_per_week
        if limit is not None and self.client_week[week] >= limit:
            return "client_week_limit", (
                f"the agreed {limit} call(s) a week are already booked"  # pragma: no mutate
                f" for the week of {week.isoformat()}"  # pragma: no mutate
            )
        limit = agreement.max_per_month
        if limit is not None and self.client_month[day.year, day.month] >= limit:
            return "client_month_limit", (
                f"the agreed {limit} call(s) a month are already booked"  # pragma: no mutate
                f" for {day.year}-{day.month:02d}"  # pragma: no mutate
            )
        limit = lawyer.max_per_day
        if limit is not None and self.lawyer_day[day] >= limit:
            return "lawyer_day_limit", f"the lawyer takes no more calls on {day.isoformat()}"
        limit = lawyer.max_per_week
        if limit is not None and self.lawyer_week[week] >= limit:
            return "lawyer_week_limit", (
                f"the lawyer takes no more calls in the week of {week.isoformat()}"  # pragma: no mutate
            )
        return None


def _blocks(
    busy: Iterable[Interval], bookings: Iterable[BookedCall], low: datetime, high: datetime
) -> list[Interval]:
    """Busy intervals and booking blocks in UTC that overlap ``[low, high)``."""
    out = []
    for source in (busy, [b.blocked for b in bookings]):
        for interval in source:
            start, end = interval
            if start.tzinfo is not UTC or end.tzinfo is not UTC:
                if start.tzinfo is None or end.tzinfo is None:
                    raise ValueError(
                        f"busy time must be timezone-aware, got {interval!r}"  # pragma: no mutate
                    )
                start, end = start.astimezone(UTC), end.astimezone(UTC)
                interval = Interval(start, end)
            if start < high and low < end:
                out.append(interval)
    return out


def _show(value: datetime, tz: ZoneInfo) -> str:  # pragma: no mutate block
    return value.astimezone(tz).isoformat(timespec="minutes")


def _show_delta(delta: timedelta) -> str:  # pragma: no mutate block
    minutes = int(delta / timedelta(minutes=1))
    if minutes % 60:
        return f"{minutes} minute{'s' * (minutes != 1)}"
    return f"{minutes // 60} hour{'s' * (minutes != 60)}"


def _slot(start: datetime, agreement: Agreement) -> Slot:
    end = start + agreement.duration
    return Slot(start, end, start - agreement.prep, end + agreement.buffer_after)


# --- public API ------------------------------------------------------------------------


def offered_range(
    now: datetime,
    notice: timedelta,
    horizon: timedelta,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[datetime, datetime]:
    """``(low, high)`` in UTC: calls offered at ``now`` start in ``[low, high)``.

    From ``now + notice`` (never before ``now``) to ``now + horizon`` (exclusive), cut
    to ``[start, end)`` when given. Empty when ``low >= high``. ``free_slots`` and the
    slot cache (which cuts a stored offer at every read) both use it.
    """
    now = to_utc(now, "now")
    low = now + notice if notice > timedelta(0) else now
    high = now + horizon
    if start is not None:
        start = to_utc(start, "start")
        if start > low:
            low = start
    if end is not None:
        end = to_utc(end, "end")
        if end < high:
            high = end
    return low, high


def free_slots(
    agreement: Agreement,
    lawyer: LawyerRules,
    *,
    client: object,
    now: datetime,
    busy: Iterable[Interval] = (),
    bookings: Iterable[BookedCall] = (),
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Slot]:
    """The slots ``client`` may book whose call starts in ``[start, end)``.

    ``[start, end)`` is clamped to ``[now + notice, now + horizon_days)``. ``busy`` is the
    lawyer's busy time, ``bookings`` every active booking of the lawyer (all clients).
    Slots are in UTC, sorted, without duplicates.
    """
    rules = _Rules.build(agreement, lawyer, now)
    tz = lawyer.timezone
    low, high = offered_range(
        rules.now, agreement.notice, timedelta(days=agreement.horizon_days), start, end
    )
    if low >= high:
        return []
    bookings = list(bookings)
    counts = _Counts(bookings, client, tz)
    duration, step, prep = agreement.duration, rules.step, agreement.prep
    after = duration + agreement.buffer_after
    index = BusyIndex(_blocks(busy, bookings, low - prep, high + after))
    is_free = index.is_free_between

    starts: list[datetime] = []
    # One day of margin each side: a zone may turn its clock back over midnight.
    day, last_day = local_date(low, tz) - _DAY, local_date(high, tz) + _DAY
    while day <= last_day:
        if (
            day in lawyer.days_off
            or (rules.prep_day is not None and day <= rules.prep_day)
            or counts.refusal(day, agreement, lawyer) is not None
        ):
            day += _DAY
            continue
        for window_start, window_end in rules.windows_on(day):
            candidate = window_start
            if candidate < low:
                candidate += -((window_start - low) // step) * step
            latest = window_end - duration
            while candidate <= latest and candidate < high:
                if is_free(candidate - prep, candidate + after):
                    starts.append(candidate)
                candidate += step
        day += _DAY
    return [_slot(s, agreement) for s in sorted(set(starts))]


@dataclass(frozen=True)
class CountedSpan:
    """The bookings ``check_start`` weighs: every booking of the lawyer holding time over
    ``lawyer``, and the client's own over ``client`` (None: none beyond those).

    ``caps``: whether a cap counts them. Without one, a booking weighs only as a
    collision with the call's blocked time (``lawyer``), which a database's no-overlap
    guard on held time refuses as well: a writer may then insert without reading them
    and read them only if the guard refuses (to say why, or to free a hold run out)."""

    lawyer: Interval
    client: Interval | None = None
    caps: bool = True

    def weighs(self, booking: BookedCall, client: object) -> bool:
        return booking.blocked.overlaps(self.lawyer) or (
            self.client is not None and booking.client == client and booking.blocked.overlaps(self.client))


def counted_span(agreement: Agreement, lawyer: LawyerRules, start: datetime) -> CountedSpan:
    """The time whose bookings ``check_start`` at ``start`` weighs: a booking it does not
    cover changes nothing, so a caller may read only the bookings it covers.

    Collisions need the call's blocked time. The caps count bookings by the lawyer-local
    day of their start, so each cap in force adds its period: every client's bookings in
    the call's week (the lawyer's weekly cap) or day (the lawyer's daily cap); the
    client's own in its week (the agreed calls a week) and its month (a month). A day
    more on each side of a period, so that no DST edge of the local calendar can cut one
    off. With no cap, the blocked time alone, and a client's cap reads none of the
    lawyer's other clients: a lawyer's full week costs a booking nothing (#19)."""
    tz = lawyer.timezone
    slot = _slot(to_utc(start, "start"), agreement)
    blocked = Interval(slot.prep_start, slot.blocked_end)
    day = local_date(slot.start, tz)
    week = (week_start(day), week_start(day) + timedelta(days=7))
    month = (day.replace(day=1), (day.replace(day=28) + timedelta(days=4)).replace(day=1))
    lawyer_periods = [week] if lawyer.max_per_week is not None else (
        [(day, day + timedelta(days=1))] if lawyer.max_per_day is not None else [])
    client_periods = ([week] if agreement.max_per_week is not None else []) + (
        [month] if agreement.max_per_month is not None else [])
    covered = _covering(lawyer_periods, tz)
    if covered is not None:
        blocked = Interval(min(covered.start, blocked.start), max(covered.end, blocked.end))
    return CountedSpan(blocked, _covering(client_periods, tz), caps=bool(lawyer_periods or client_periods))


def _covering(periods: list[tuple[date, date]], tz: ZoneInfo) -> Interval | None:
    """The UTC time from the first day to the last of ``periods`` (lawyer-local, end
    exclusive), a day more on each side; None without periods."""
    if not periods:
        return None
    margin = timedelta(days=1)
    return Interval(wall_to_utc(min(p[0] for p in periods), time(), tz) - margin,
                    wall_to_utc(max(p[1] for p in periods), time(), tz) + margin)


def check_start(
    agreement: Agreement,
    lawyer: LawyerRules,
    *,
    client: object,
    now: datetime,
    busy: Iterable[Interval] = (),
    bookings: Iterable[BookedCall] = (),
    start: datetime,
) -> Slot:
    """The slot starting exactly at ``start``, or ``SlotRefused`` saying why not.

    Accepts exactly the starts ``free_slots`` offers (without a ``start``/``end`` range).
    The reasons are checked from the most to the least fundamental: time (past, notice,
    horizon), the day, the agreed windows and step, cadence and caps, busy time.
    """
    _, day = _shape(agreement, lawyer, now, start)
    tz = lawyer.timezone
    call_start = to_utc(start, "start")

    bookings = list(bookings)
    refusal = _Counts(bookings, client, tz).refusal(day, agreement, lawyer)
    if refusal is not None:
        raise SlotRefused(*refusal)

    slot = _slot(call_start, agreement)
    refuse_collision("busy", "collides with busy time", slot, _blocks(busy, bookings, slot.prep_start,
                                                                      slot.blocked_end), tz)
    return slot


def refuse_collision(code: str, what: str, slot: Slot, collisions: list[Interval], tz: ZoneInfo) -> None:
    """``SlotRefused(code)`` naming the first of ``collisions`` (blocks overlapping the
    slot with its preparation), if there is one: "the call with its preparation (…)
    ``what`` from … to …"."""
    if collisions:
        first = min(collisions)
        raise SlotRefused(
            code,
            f"the call with its preparation ({_show(slot.prep_start, tz)} to"  # pragma: no mutate
            f" {_show(slot.blocked_end, tz)}) {what} from"  # pragma: no mutate
            f" {_show(first.start, tz)} to {_show(first.end, tz)}",  # pragma: no mutate
        )


def check_shape(agreement: Agreement, lawyer: LawyerRules, *, now: datetime, start: datetime) -> Slot:
    """The rules of ``check_start`` that need no bookings and no busy time (time, day,
    agreed windows and step): the slot at ``start``, or ``SlotRefused``. A booking asks
    this before it asks the lawyer's calendar servers, so that a start that cannot be
    offered anyway never reaches them; ``check_start`` applies the same rules first."""
    _shape(agreement, lawyer, now, start)
    return _slot(to_utc(start, "start"), agreement)


def _shape(
    agreement: Agreement, lawyer: LawyerRules, now: datetime, start: datetime
) -> tuple[_Rules, date]:
    """Time, day, windows and step (``check_start``'s first rules); the day of ``start``."""
    rules = _Rules.build(agreement, lawyer, now)
    tz = lawyer.timezone
    call_start = to_utc(start, "start")
    refusal = rules.time_refusal(call_start)
    if refusal is not None:
        raise SlotRefused(*refusal)

    day = local_date(call_start, tz)
    if day in lawyer.days_off:
        raise SlotRefused("day_off", f"{day.isoformat()} is the lawyer's day off")

    call_end = call_start + agreement.duration
    containing = [
        window_start
        for window_start, window_end in rules.windows_on(day)
        if window_start <= call_start and call_end <= window_end
    ]
    if not containing:
        raise SlotRefused(
            "outside_windows",
            f"a call from {_show(call_start, tz)} to {_show(call_end, tz)}"  # pragma: no mutate
            " is not inside an agreed window",  # pragma: no mutate
        )
    if all((call_start - window_start) % rules.step for window_start in containing):
        raise SlotRefused(
            "not_on_step",
            f"calls start every {_show_delta(rules.step)} from the window start;"  # pragma: no mutate
            f" {_show(call_start, tz)} is not one of them",  # pragma: no mutate
        )
    return rules, day
