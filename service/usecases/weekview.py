"""The week picture: the lawyer's week as a server-rendered SVG, in the lawyer's zone.

Columns are Monday to Sunday, rows are wall-clock hours. On the days the clocks change
the rows follow the real day: the hour skipped in spring is shaded on that day, and the
hour repeated in autumn gets a second row (shaded on the other days), so a 23-hour day
has 23 rows, a 25-hour day 25, and every instant lands in exactly one place.

``gather`` reads the lawyer's data for a week; ``layout`` (no database) turns it into
positioned rectangles that ``templates/admin/_week.svg`` draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext, ngettext

from booking import reserve
from booking.intervals import Interval, merge
from booking.walltime import wall_interval, wall_to_utc
from service.storage.extensions import db
from service.storage.models import Booking, Client, DayOff, ExtraWindow, Lawyer
from service.usecases import slot_cache, wording
from service.usecases.availability import calendar_busy

# Okabe-Ito and Tableau hues: distinguishable, also for most colour-blind readers.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
           "#8C564B", "#7F3C8D", "#11A579", "#B2912F")
BUSY_FILL = "#8A94A6"

LEFT, TOP, COL_W, ROW_H, FOOT = 72, 52, 152, 44, 16
WIN_X, WIN_W = 4, 34  # the windows lane inside a day column
EV_X = WIN_X + WIN_W + 6  # the lane for busy time, calls and prep
EV_W = COL_W - EV_X - 4
DEFAULT_HOURS = (8, 19)
QUARTER = timedelta(minutes=15)  # every UTC offset in use is a multiple of it


@dataclass(frozen=True)
class Block:
    kind: str  # window, busy, prep, call, buffer
    interval: Interval
    client_id: int | None = None
    title: str = ""
    label: str = ""
    booking_id: int | None = None  # a call's booking (its page opens from the picture)


@dataclass
class WeekData:
    lawyer: Lawyer
    monday: date
    clients: list[Client]
    blocks: list[Block]
    days_off: set[date]


@dataclass(frozen=True)
class Row:
    hour: int
    fold: int
    label: str


@dataclass(frozen=True)
class Rect:
    kind: str
    x: float
    y: float
    w: float
    h: float
    fill: str = ""
    title: str = ""
    label: str = ""
    sublabel: str = ""
    alert: bool = False  # a call or prep block that overlaps busy time
    booking_id: int | None = None  # a call: its page is a click away


@dataclass
class DayColumn:
    day: date
    x: float
    label: str
    hours: int  # 23, 24 or 25
    calls: int
    over_limit: bool
    summary: str = ""


@dataclass
class WeekPicture:
    monday: date
    width: int
    height: int
    rows: list[tuple[Row, float]]  # row and its y
    days: list[DayColumn]
    rects: list[Rect] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    clock_change: str = ""
    end_label: str = ""  # the hour at the bottom line


def _day_bounds(day: date, zone: ZoneInfo) -> Interval:
    return Interval(wall_to_utc(day, time(0), zone), wall_to_utc(day + timedelta(days=1), time(0), zone))


def _quarters(span: Interval):
    """``span`` cut at every UTC quarter hour (local hours and days change only there)."""
    start = span.start
    mark = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0) + QUARTER
    while start < span.end:
        end = min(mark, span.end)
        yield Interval(start, end)
        start, mark = end, mark + QUARTER


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def gather(lawyer: Lawyer, monday: date) -> WeekData:
    """Windows, busy time, calls and prep blocks of the week starting ``monday``."""
    zone = lawyer.zone
    span = Interval(wall_to_utc(monday, time(0), zone), wall_to_utc(monday + timedelta(days=7), time(0), zone))
    clients = list(db.session.scalars(
        sa.select(Client).where(Client.lawyer_id == lawyer.id, Client.status != "archived").order_by(Client.id)
    ))
    blocks: list[Block] = []
    active = [c for c in clients if c.status == "active"]
    for client in active:
        for offset in range(7):
            day = monday + timedelta(days=offset)
            for w in client.agreement().windows:
                if w.weekday == day.weekday() and (shown := wall_interval(day, w.start, w.end, zone)):
                    blocks.append(Block("window", shown, client.id))
    extra = db.session.scalars(
        sa.select(ExtraWindow).where(
            ExtraWindow.client_id.in_([c.id for c in active]),
            ExtraWindow.day >= monday, ExtraWindow.day < monday + timedelta(days=7),
        )
    )
    for w in extra:
        if shown := wall_interval(w.day, w.start, w.end, zone):
            blocks.append(Block("window", shown, w.client_id))
    release = slot_cache.release_delta()
    for held in reserve.occurrences(slot_cache.reserve_windows(lawyer.reserve_windows or ""), zone,
                                    span.start, span.end):
        opens = wording.format_datetime((held.start - release).astimezone(zone), "EEE d MMM")
        blocks.append(Block("reserve", held, title=gettext("Reserved for urgent calls; released to every link %(when)s",
                                                          when=opens), label=gettext("reserve")))
    for busy in merge(calendar_busy(lawyer.id, span)):
        blocks.append(Block("busy", busy, title=gettext("Busy in your calendar")))
    bookings = db.session.scalars(
        sa.select(Booking).where(
            Booking.lawyer_id == lawyer.id, Booking.status == "confirmed",
            Booking.blocked_end > span.start, Booking.blocked_start < span.end,
        ).order_by(Booking.start)
    )
    for b in bookings:
        name = b.client.name
        agenda = b.agenda if len(b.agenda) <= 300 else b.agenda[:299] + "…"
        blocks.append(Block("call", Interval(b.start, b.end), b.client_id,
                            title=f"{name}: {agenda}", label=name, booking_id=b.id))
        if b.blocked_start < b.start:
            blocks.append(Block("prep", Interval(b.blocked_start, b.start), b.client_id,
                                title=gettext("Preparation for the call with %(name)s", name=name),
                                label=gettext("prep")))
        if b.end < b.blocked_end:
            blocks.append(Block("buffer", Interval(b.end, b.blocked_end), b.client_id,
                                title=gettext("Buffer after the call")))
    days_off = set()
    for period in db.session.scalars(
        sa.select(DayOff).where(DayOff.lawyer_id == lawyer.id, DayOff.last_day >= monday,
                                DayOff.first_day < monday + timedelta(days=7))
    ):
        day = max(period.first_day, monday)
        while day <= period.last_day and day < monday + timedelta(days=7):
            days_off.add(day)
            day += timedelta(days=1)
    return WeekData(lawyer, monday, clients, blocks, days_off)


def _hour_range(data: WeekData, zone: ZoneInfo) -> tuple[int, int]:
    first, last = DEFAULT_HOURS
    for block in data.blocks:
        if block.kind == "busy":
            continue  # all-day busy time must not stretch the picture to 24 hours
        start, end = block.interval.start.astimezone(zone), block.interval.end.astimezone(zone)
        first = min(first, start.hour)
        end_hour = end.hour + (1 if end.minute or end.second else 0)
        if end.date() > start.date():
            end_hour = 24
        last = max(last, end_hour)
    return first, max(last, first + 1)


def _fmt_minutes(total: float) -> str:
    minutes = int(round(total / 60))
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return gettext("%(h)d h %(m)d min", h=hours, m=rest)
    if hours:
        return gettext("%(h)d h", h=hours)
    return gettext("%(m)d min", m=rest)


def layout(data: WeekData) -> WeekPicture:
    lawyer, monday = data.lawyer, data.monday
    zone = lawyer.zone
    first_hour, last_hour = _hour_range(data, zone)
    days = [monday + timedelta(days=i) for i in range(7)]

    # The rows: (hour, fold) pairs that occur on some day of the week.
    day_keys: list[set[tuple[int, int]]] = []
    for day in days:
        keys = set()
        for piece in _quarters(_day_bounds(day, zone)):
            local = piece.start.astimezone(zone)
            keys.add((local.hour, local.fold))
        day_keys.append(keys)
    all_keys = sorted(k for k in set().union(*day_keys) if first_hour <= k[0] < last_hour)
    folded = {k[0] for k in all_keys if k[1]}
    rows: list[tuple[Row, float]] = []
    index: dict[tuple[int, int], int] = {}
    for i, (hour, fold) in enumerate(all_keys):
        label = f"{hour:02d}:00"
        if hour in folded:
            sample = next(day for day, keys in zip(days, day_keys, strict=True) if (hour, 1) in keys)
            label += " " + datetime.combine(sample, time(hour), zone).replace(fold=fold).tzname()
        rows.append((Row(hour, fold, label), TOP + i * ROW_H))
        index[(hour, fold)] = i

    def y_of(instant: datetime) -> tuple[int, float] | None:
        local = instant.astimezone(zone)
        i = index.get((local.hour, local.fold))
        if i is None:
            return None
        return (local.date() - monday).days, TOP + (i + (local.minute * 60 + local.second) / 3600) * ROW_H

    def runs(span: Interval):
        """Vertical runs (day, y0, y1) covering ``span`` in the visible grid."""
        current = None
        for piece in _quarters(span):
            pos = y_of(piece.start)
            if pos is None or not 0 <= pos[0] < 7:
                if current:
                    yield current
                current = None
                continue
            day, y0 = pos
            y1 = y0 + (piece.end - piece.start).total_seconds() / 3600 * ROW_H
            if current and current[0] == day and abs(current[2] - y0) < 0.01:
                current = (day, current[1], y1)
            else:
                if current:
                    yield current
                current = (day, y0, y1)
        if current:
            yield current

    height = TOP + len(all_keys) * ROW_H + FOOT
    width = LEFT + 7 * COL_W + 8
    colours = {c.id: colour(i) for i, c in enumerate(data.clients)}
    names = {c.id: c.name for c in data.clients}
    picture = WeekPicture(monday, width, height, rows, [], end_label=f"{last_hour:02d}:00")
    rects = picture.rects

    # Cells that do not exist on a day (the skipped hour, or the other days' repeat).
    for d, keys in enumerate(day_keys):
        for key, i in index.items():
            if key not in keys:
                rects.append(Rect("missing", LEFT + d * COL_W, TOP + i * ROW_H, COL_W, ROW_H,
                                  title=gettext("This hour does not exist on this day (the clocks change).")))
        if days[d] in data.days_off:
            rects.append(Rect("dayoff", LEFT + d * COL_W + 1, TOP, COL_W - 2, len(all_keys) * ROW_H,
                              title=gettext("Day off"), label=gettext("Day off")))

    # Windows: lanes side by side where windows of several clients overlap.
    windows = sorted((b for b in data.blocks if b.kind == "window"), key=lambda b: b.interval)
    lanes: list[tuple[int, int, float, float, Block]] = []  # day, lane, y0, y1, block
    for block in windows:
        for day, y0, y1 in runs(block.interval):
            taken = {lane for d, lane, a, b, _ in lanes if d == day and a < y1 and y0 < b}
            lane = next(n for n in range(len(taken) + 1) if n not in taken)
            lanes.append((day, lane, y0, y1, block))
    lane_count = {d: 1 + max((lane for dd, lane, *_ in lanes if dd == d), default=0) for d in range(7)}
    for day, lane, y0, y1, block in lanes:
        w = WIN_W / lane_count[day]
        start = block.interval.start.astimezone(zone)
        end = block.interval.end.astimezone(zone)
        rects.append(Rect("window", LEFT + day * COL_W + WIN_X + lane * w, y0, w, y1 - y0,
                          fill=colours.get(block.client_id, BUSY_FILL),
                          title=gettext("%(name)s: agreed window %(start)s–%(end)s",
                                        name=names.get(block.client_id, ""),
                                        start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))))

    busy = merge(b.interval for b in data.blocks if b.kind == "busy")
    for kind in ("reserve", "busy", "buffer", "prep", "call"):
        for block in (b for b in data.blocks if b.kind == kind):
            start = block.interval.start.astimezone(zone)
            end = block.interval.end.astimezone(zone)
            times = f"{start:%H:%M}–{end:%H:%M}"
            clash = kind in ("call", "prep") and any(block.interval.overlaps(b) for b in busy)
            title = f"{times} {block.title}".strip()
            if clash:
                title += " — " + gettext("overlaps busy time in your calendar")
            for day, y0, y1 in runs(block.interval):
                fill = BUSY_FILL if kind in ("busy", "reserve") else colours.get(block.client_id, BUSY_FILL)
                tall = y1 - y0 >= 24
                rects.append(Rect(kind, LEFT + day * COL_W + EV_X, y0, EV_W, y1 - y0, fill=fill, title=title,
                                  label=block.label if (tall or kind == "call") else "",
                                  sublabel=times if kind == "call" and tall else "", alert=clash,
                                  booking_id=block.booking_id))

    # Day headers and per-day load against the lawyer's own limits.
    calls_by_day = [0] * 7
    call_seconds = prep_seconds = 0.0
    for block in data.blocks:
        seconds = (block.interval.end - block.interval.start).total_seconds()
        if block.kind == "call":
            d = (block.interval.start.astimezone(zone).date() - monday).days
            if 0 <= d < 7:
                calls_by_day[d] += 1
            call_seconds += seconds
        elif block.kind == "prep":
            prep_seconds += seconds
    for d, day in enumerate(days):
        bounds = _day_bounds(day, zone)
        hours = round((bounds.end - bounds.start).total_seconds() / 3600)
        label = wording.format_date(day, "EEE d MMM")
        over = lawyer.max_per_day is not None and calls_by_day[d] >= lawyer.max_per_day
        column = DayColumn(day, LEFT + d * COL_W, label, hours, calls_by_day[d], over)
        column.summary = ngettext("%(num)d call", "%(num)d calls", calls_by_day[d])
        if lawyer.max_per_day is not None:
            column.summary += " / " + str(lawyer.max_per_day)
        picture.days.append(column)
        if hours != 24:
            picture.clock_change = ngettext(
                "The clocks change this week: %(day)s has %(num)d hour.",
                "The clocks change this week: %(day)s has %(num)d hours.",
                hours, day=wording.format_date(day, "EEEE d MMMM"),
            )

    window_union = merge(b.interval for b in data.blocks if b.kind == "window")
    busy_union = busy
    window_seconds = sum((w.end - w.start).total_seconds() for w in window_union)
    busy_in_windows = sum(
        max(0.0, (min(w.end, b.end) - max(w.start, b.start)).total_seconds())
        for w in window_union for b in busy_union
    )
    total_calls = sum(calls_by_day)
    calls_line = ngettext("%(num)d call", "%(num)d calls", total_calls)
    if lawyer.max_per_week is not None:
        calls_line += " " + gettext("(your limit: %(limit)d a week)", limit=lawyer.max_per_week)
    picture.summary = [
        gettext("%(calls)s, %(time)s in total, and %(prep)s of preparation.",
                calls=calls_line, time=_fmt_minutes(call_seconds), prep=_fmt_minutes(prep_seconds)),
        gettext("Agreed windows: %(time)s, of which %(busy)s busy in your calendar.",
                time=_fmt_minutes(window_seconds), busy=_fmt_minutes(busy_in_windows)),
    ]
    clashes = sum(1 for r in rects if r.alert)
    if clashes:
        picture.summary.append(ngettext(
            "%(num)d call or preparation block overlaps busy time in your calendar.",
            "%(num)d calls or preparation blocks overlap busy time in your calendar.", clashes))
    used = {b.client_id for b in data.blocks if b.client_id is not None}
    picture.legend = [(c.name, colours[c.id]) for c in data.clients if c.id in used]
    return picture


def week_picture(lawyer: Lawyer, monday: date) -> WeekPicture:
    return layout(gather(lawyer, monday))
