"""The per-process cache of offered slots, and the one-query fingerprint that keys it.

There is no invalidation hook: every read first runs ONE cheap query (``FINGERPRINT_BY_*``)
over everything a slot computation reads, and the cache key holds its answer, so a hit
is exactly what a fresh computation would return. The key covers:

- the client row (every column: the agreement, the status) and the lawyer row (every
  column: zone and caps), the lawyer's days off and the client's extra windows as values
  (``KEYED_ROWS``);
- the lawyer's confirmed bookings still relevant (``blocked_end`` after ``since``):
  count, max(id), sum(sequence). Booking, cancelling (status) and rescheduling
  (``sequence`` is bumped with every change of time, as iCalendar requires) all move it;
- the calendar mirror: each of the lawyer's calendars with its ``conflict`` flag and
  ``mirror_version``, which every write of its busy rows moves in the same transaction —
  enforced by the session itself (``service.storage.busy_mirror``), whoever writes them;
- "now", as the lawyer-local date (see ``service.usecases.availability`` for why that suffices),
  and, for ordinary links, the next instant a reserve of urgent time is released
  (``booking.reserve.next_release``): what they are offered changes at those instants too.
  Callback links, which may book reserved time, are keyed apart.

Freshness is read by the same query but kept out of the key: a sync that changes nothing
moves ``synced_at`` only, so the cached offer stays valid, while ``trusted_until`` (the
oldest conflict calendar's sync + ``CALENDAR_FRESHNESS_MINUTES``) decides at every read
whether the mirror may be offered from at all.

An offer holds the ranges computed so far (``Offer.pieces``): a miss computes the range
read and the offer grows by the parts a later read lacks. The lawyer's merged busy list
(``BusyLists``) is shared by all the lawyer's clients: the whole busy time as the writers
keep it merged (``MergedBusy``, one small row, when it was merged from the state of the
mirror in the key), else grown the same way as offers, reading only the rows of the
missing parts (``BusyRows``: two index ranges bounded at both ends).

The query runs on every slots read, so it is compiled once per dialect and run as driver
SQL on a pooled connection (``CompiledQuery``; the fast path's pool: ``fast_path_engine``):
the raw values serve as key material only.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from booking.availability import offered_range
from booking.intervals import Interval
from booking.model import Slot, Window
from booking.reserve import next_release
from booking.windows import parse_windows
from service.storage import busy_merged
from service.storage.busy_merged import (
    MIRROR_COLUMNS,
    bulk_instant,
    counted,
    joined,
    merge_sorted,
)
from service.storage.models import (
    LONG_BUSY,
    LONG_BUSY_WHERE,
    Booking,
    BusyBlock,
    BusyMerged,
    Calendar,
    Client,
    DayOff,
    ExtraWindow,
    Lawyer,
    holds_time,
)

# Memoised renderings kept per offer (e.g. the JSON in a few display zones).
_MAX_VIEWS = 8


#: A cached offer reaches this far past the horizon, so it stays complete at the horizon
#: end for the rest of the lawyer's day (a local day lasts at most 25 hours).
HORIZON_SLACK = timedelta(days=2)


@dataclasses.dataclass(eq=False)
class Offer:
    """Slots computed at ``computed_at`` over the ranges ``pieces`` (call starts; sorted,
    disjoint): a miss computes the range asked, not the whole horizon, and the offer grows
    as other ranges are asked (``Offer.wanted`` / ``missing``). ``span``/``between`` read
    it for any later instant of the same lawyer-local day exactly as ``free_slots`` would
    answer then, for a range the pieces cover (``covers``). Never changed once cached: a
    grown offer is a new one (``grown``)."""

    slots: list[Slot]
    starts: list[datetime]
    lawyer_id: int
    timezone: ZoneInfo  # the lawyer's
    notice: timedelta
    horizon: timedelta
    computed_at: datetime
    pieces: tuple[Interval, ...] = ()
    views: dict[Hashable, tuple[Callable, list]] = dataclasses.field(default_factory=dict, repr=False)
    answers: dict[Hashable, bytes] = dataclasses.field(default_factory=dict, repr=False)

    def missing(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> list[Interval]:
        """The call starts a read at ``now`` of ``[start, end)`` needs that no piece covers
        (empty: the offer answers the read). A part reaching the horizon end reaches
        ``HORIZON_SLACK`` past it, so that later instants of the day find it covered."""
        low, high = offered_range(now, self.notice, self.horizon, start, end)
        gaps: list[Interval] = []
        for piece in self.pieces:
            if low >= high or piece.start >= high:
                break
            if piece.end <= low:
                continue
            if piece.start > low:
                gaps.append(Interval(low, piece.start))
            low = max(low, piece.end)
        if low < high:
            gaps.append(Interval(low, high))
        if gaps and gaps[-1].end == now + self.horizon:
            gaps[-1] = Interval(gaps[-1].start, now + self.horizon + HORIZON_SLACK)
        return gaps

    def covers(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> bool:
        return not self.missing(now, start, end)

    def grown(self, parts: list[tuple[Interval, list[Slot]]]) -> Offer:
        """A new offer with the slots of ``parts`` (ranges that no piece overlaps, each with
        its slots) added; the memoised views are extended by building only the new slots."""
        segments: list[tuple[Interval, list[Slot] | None]] = [(p, None) for p in self.pieces]
        segments += [(part, slots) for part, slots in parts]
        segments.sort(key=lambda item: item[0].start)
        held = list(self.views.items())  # a snapshot: another request may add a view
        slots: list[Slot] = []
        views: dict[Hashable, tuple[Callable, list]] = {name: (build, []) for name, (build, _) in held}
        for piece, new in segments:
            if new is None:  # a piece held: its slots as they are
                i, j = bisect_left(self.starts, piece.start), bisect_left(self.starts, piece.end)
                slots += self.slots[i:j]
                for name, (_, items) in held:
                    views[name][1].extend(items[i:j])
            else:
                slots += new
                for build, items in views.values():
                    items.extend(build(new))
        merged: list[Interval] = []
        for piece, _ in segments:
            if merged and piece.start <= merged[-1].end:
                merged[-1] = Interval(merged[-1].start, max(merged[-1].end, piece.end))
            else:
                merged.append(piece)
        return dataclasses.replace(self, slots=slots, starts=[s.start for s in slots],
                                   pieces=tuple(merged), views=views, answers={})

    def span(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> tuple[int, int]:
        """Indexes ``[i, j)`` of the slots starting in ``[start, end)`` offered at ``now``."""
        low, high = offered_range(now, self.notice, self.horizon, start, end)
        if low >= high:
            return 0, 0
        return bisect_left(self.starts, low), bisect_left(self.starts, high)

    def between(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> list[Slot]:
        i, j = self.span(now, start, end)
        return self.slots[i:j]

    def answer(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """A whole answer built from this offer (e.g. the bytes of a JSON body for a range
        of slots), memoised by key (the latest one only): a hit then only sends it."""
        body = self.answers.get(key)
        if body is None:
            body = build()
            # Only the latest: as many bytes as its view's items again, not more.
            self.answers = {key: body}
        return body

    def view(self, key: Hashable, build: Callable[[list[Slot]], list]) -> list:
        """``build(self.slots)`` (one item per slot, e.g. rendered JSON: a grown offer
        builds only its new slots), memoised by key."""
        held = self.views.get(key)
        if held is None:
            held = (build, build(self.slots))
            if len(self.views) >= _MAX_VIEWS:
                self.views.pop(next(iter(self.views)), None)
            self.views[key] = held
        return held[1]


def trusted(stale_after: datetime | None, now: datetime) -> bool:
    """Whether a calendar mirror trusted until ``stale_after`` (None: no calendars) may
    still be offered from at ``now``."""
    return stale_after is None or now < stale_after


class SlotCache:
    """A small thread-safe LRU of offers, bounded by entries and by slots held."""

    def __init__(self, max_entries: int = 256, max_slots: int = 250_000) -> None:
        self.max_entries, self.max_slots = max_entries, max_slots
        self._entries: OrderedDict[Hashable, Offer] = OrderedDict()
        self._slots = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Offer | None:
        with self._lock:
            offer = self._entries.get(key)
            if offer is None:
                self.misses += 1
            else:
                self.hits += 1
                self._entries.move_to_end(key)
            return offer

    def put(self, key: Hashable, offer: Offer) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._slots -= len(old.slots)
            self._entries[key] = offer
            self._slots += len(offer.slots)
            while self._entries and (
                len(self._entries) > self.max_entries or self._slots > self.max_slots
            ):
                _, dropped = self._entries.popitem(last=False)
                self._slots -= len(dropped.slots)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._slots = 0


@dataclasses.dataclass(frozen=True)
class BusyList:
    """A lawyer's merged busy time (sorted, disjoint) over ``span``."""

    span: Interval
    intervals: list[Interval]
    starts: list[datetime]
    ends: list[datetime]

    @classmethod
    def of(cls, span: Interval, merged: list[Interval]) -> BusyList:
        return cls(span, merged, [i.start for i in merged], [i.end for i in merged])

    def covers(self, window: Interval) -> bool:
        return self.span.start <= window.start and window.end <= self.span.end

    def within(self, window: Interval) -> list[Interval]:
        """The merged intervals overlapping ``window`` (not clipped)."""
        return self.intervals[bisect_right(self.ends, window.start):bisect_left(self.starts, window.end)]


class BusyLists:
    """One merged busy list per lawyer and state of their calendar mirror, shared by all of
    the lawyer's clients in this process: a slot computation reads the mirror's rows once
    per change, not once per client. Keyed on the calendars' ``mirror_version`` values
    (which every write of busy rows moves); bounded by entries and by intervals held.

    A list is the lawyer's whole merged busy time if the writers' merged form is of this
    state of the mirror (``whole``, ``MergedBusy``). Otherwise it is built lazily per
    range: it covers one span, and a window beyond it reads only the rows of the parts
    missing, spliced onto the list held (a window apart from it, not touching, replaces
    it)."""

    def __init__(self, max_entries: int = 512, max_intervals: int = 2_000_000) -> None:
        self.max_entries, self.max_intervals = max_entries, max_intervals
        self._entries: OrderedDict[Hashable, BusyList] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, key: Hashable, window: Interval,
            load: Callable[[Interval], list[Interval]],
            whole: Callable[[], list[Interval] | None] = lambda: None) -> list[Interval]:
        """The busy intervals overlapping ``window``. When the list held does not cover the
        window (or there is none), ``whole()`` is the whole merged busy time if known (else
        None), and ``load(span)`` otherwise reads and merges the rows over a span."""
        with self._lock:
            held = self._entries.get(key)
            if held is not None:
                self._entries.move_to_end(key)
        if held is None or not held.covers(window):
            held = self._grow(held, window, load, whole)
            with self._lock:
                old = self._entries.pop(key, None)
                self._held += len(held.intervals) - (len(old.intervals) if old else 0)
                self._entries[key] = held
                while self._entries and (
                    len(self._entries) > self.max_entries or self._held > self.max_intervals
                ):
                    _, dropped = self._entries.popitem(last=False)
                    self._held -= len(dropped.intervals)
        return held.within(window)

    def _grow(self, held: BusyList | None, window: Interval,
              load: Callable[[Interval], list[Interval]],
              whole: Callable[[], list[Interval] | None]) -> BusyList:
        self.loads += 1
        merged = whole()  # a list grown from rows, too, gives way once the merged form is current
        if merged is not None:
            return BusyList.of(ALL_TIME, merged)
        # A day more on each side: the windows of clients with another call length,
        # preparation or buffer (at most 8 h, 8 h, 4 h), or of a later hour, fall inside.
        span = Interval(window.start - BUSY_MARGIN, window.end + BUSY_MARGIN)
        if held is None or span.end < held.span.start or held.span.end < span.start:
            return BusyList.of(span, load(span))
        merged = held.intervals
        if span.start < held.span.start:
            merged = splice(load(Interval(span.start, held.span.start)), merged)
        if held.span.end < span.end:
            merged = splice(merged, load(Interval(held.span.end, span.end)))
        return BusyList.of(
            Interval(min(span.start, held.span.start), max(span.end, held.span.end)), merged
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0


#: How much more than asked a shared busy list reads on each side.
BUSY_MARGIN = timedelta(days=1)
#: The span of a lawyer's whole merged busy time.
ALL_TIME = Interval(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


def splice(before: list[Interval], after: list[Interval]) -> list[Interval]:
    """Two merged lists read over adjacent spans ``[a, b)`` and ``[b, c)``, as one merged
    list over ``[a, c)``: exactly what one read of ``[a, c)`` merges.

    Rows crossing ``b`` are in both lists, inside the last interval of ``before`` and the
    first ones of ``after``; only that junction is merged (touching intervals join, as
    in a read)."""
    if not before or not after:
        return before or after
    start, end = before[-1]
    i = 0
    while i < len(after) and after[i].start <= end:
        end = max(end, after[i].end)
        i += 1
    return [*before[:-1], Interval(start, end), *after[i:]]


def busy_lists() -> BusyLists:
    """This app's shared busy lists (one per process and app)."""
    lists = current_app.extensions.get("busy_lists")
    if lists is None:
        lists = current_app.extensions.setdefault("busy_lists", BusyLists())
    return lists


def mirror_of(key: tuple) -> Hashable:
    """The part of a cache key that names the state of the lawyer's calendar mirror: each
    calendar's id, ``conflict`` and ``mirror_version`` (the key's first keyed rows)."""
    values = key[1]
    return values[-len(KEYED_ROWS)]


def slot_cache() -> SlotCache:
    """This app's cache (one per process and app; tests get a fresh one per app)."""
    cache = current_app.extensions.get("slot_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("slot_cache", SlotCache(
            max_entries=current_app.config["SLOT_CACHE_ENTRIES"],
            max_slots=current_app.config["SLOT_CACHE_SLOTS"],
        ))
    return cache


# --- the fingerprint ----------------------------------------------------------------------

#: Rows of these tables enter the key as the values of these columns (a test checks that
#: every other column is irrelevant to slots, so a new column cannot be forgotten here).
KEYED_ROWS: dict[type, tuple[str, ...]] = {
    DayOff: ("first_day", "last_day"),
    ExtraWindow: ("day", "start", "end"),
    Calendar: MIRROR_COLUMNS,
}
# After the keyed rows: the freshness of the conflict calendars, outside the key.
_FRESHNESS_COLUMNS = 2
# The row: every client column, every lawyer column, then the aggregates.
_STATUS = list(Client.__table__.c.keys()).index("status")
_LAWYER_ACTIVE = len(Client.__table__.c) + list(Lawyer.__table__.c.keys()).index("active")
_TIMEZONE = len(Client.__table__.c) + list(Lawyer.__table__.c.keys()).index("timezone")
_RESERVE = len(Client.__table__.c) + list(Lawyer.__table__.c.keys()).index("reserve_windows")
_SINCE_TYPE = Booking.__table__.c.blocked_end.type


def _rows_as_text(model: type, *where: sa.ColumnElement) -> sa.ScalarSelect:
    """The ``KEYED_ROWS`` values of ``model``'s rows as one string: "a/b,a/b,..."."""
    return busy_merged.rows_as_text(model.__table__, KEYED_ROWS[model], *where)


def _freshness(lawyer_id: sa.ColumnElement) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """The freshness of a lawyer's mirror, as ``trusted_until`` reads it: "conflict
    calendars/never synced" and the oldest sync of a conflict calendar."""
    conflict_calendars = (Calendar.lawyer_id == lawyer_id, Calendar.conflict.is_(True))
    counts = joined(sa.func.count(), sa.func.count() - sa.func.count(Calendar.synced_at))
    return (
        sa.select(counts).where(*conflict_calendars).scalar_subquery(),
        sa.select(sa.func.min(Calendar.synced_at)).where(*conflict_calendars).scalar_subquery(),
    )


def _fingerprint_query(by: str) -> sa.Select:
    """The client's and the lawyer's rows and the aggregates, for ``client.<by> = :key``.

    Each aggregate is a scalar subquery: an index probe or a short index range (SQLite
    answers ``max(id)`` from the index only in this form, not from a joined derived table).
    Parameters: ``key`` and ``since`` (bookings ending before it no longer matter).
    """
    client, lawyer = Client.__table__, Lawyer.__table__
    relevant = (
        Booking.lawyer_id == client.c.lawyer_id,
        holds_time(Booking.status),
        Booking.blocked_end > sa.bindparam("since", type_=_SINCE_TYPE),
    )

    def scalar(column: sa.ColumnElement, *where: sa.ColumnElement) -> sa.ScalarSelect:
        return sa.select(column).where(*where).scalar_subquery()

    return (
        sa.select(
            client,
            lawyer,
            scalar(
                joined(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.max(Booking.id), sa.literal_column("0")),
                    sa.func.coalesce(sa.func.sum(Booking.sequence), sa.literal_column("0")),
                ),
                *relevant,
            ),
            # The keyed rows; the calendars first (``mirror_of``), the state of the mirror
            # as the merged busy time is stamped with it.
            busy_merged.mirror_state(client.c.lawyer_id),
            _rows_as_text(DayOff, DayOff.lawyer_id == client.c.lawyer_id),
            _rows_as_text(ExtraWindow, ExtraWindow.client_id == client.c.id),
            *_freshness(client.c.lawyer_id),  # not key material
        )
        .select_from(client.join(lawyer, lawyer.c.id == client.c.lawyer_id))
        .where(client.c[by] == sa.bindparam("key"))
    )


class CompiledQuery:
    """A statement compiled once per dialect and run on a DBAPI connection's cursor: rows
    come back as the driver gives them. ``statement`` may depend on the dialect's name;
    its parameters named in ``instants`` are aware datetimes, bound as ``UTCDateTime``."""

    def __init__(self, statement: sa.Select | Callable[[str], sa.Select],
                 instants: tuple[str, ...] = ("since",)) -> None:
        self.statement, self.instants = statement, instants
        self._compiled: dict[str, tuple[str, tuple[str, ...], bool, Callable, Callable]] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...], bool, Callable, Callable]:
        name = f"{dialect.name}+{dialect.driver}"
        compiled = self._compiled.get(name)
        if compiled is None:
            with self._lock:
                statement = self.statement
                if callable(statement):
                    statement = statement(dialect.name)
                # Example values only let the separators of aggregate_strings be rendered.
                example = statement.params(
                    key="", **dict.fromkeys(self.instants, datetime(2000, 1, 1, tzinfo=UTC))
                )
                sql = example.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
                # A parameter not given fails loudly (KeyError, or the driver's).
                positional = sql.positiontup is not None
                names = tuple(sql.positiontup) if positional else tuple(
                    name for name in dict.fromkeys(sql.bind_names.values())
                    if f"%({name})s" in str(sql)
                )
                process = _SINCE_TYPE.bind_processor(dialect) or (lambda value: value)
                synced_type = Calendar.__table__.c.synced_at.type.dialect_impl(dialect)
                synced = synced_type.result_processor(dialect, None) or (lambda value: value)
                compiled = self._compiled[name] = (str(sql), names, positional, process, synced)
        return compiled

    def _execute(self, connection: sa.Connection, fetch: Callable, values: dict) -> object:
        """``fetch(cursor)`` after running the statement with ``values`` on a cursor of the
        connection's DBAPI connection: SQLAlchemy's result machinery would cost a cache hit
        several times the query itself. A driver error invalidates the connection (a pool
        replaces it) and is raised."""
        sql, names, positional, process, _ = self._for(connection.dialect)
        for name in self.instants:
            values[name] = process(values[name])
        params = tuple(values[name] for name in names)
        cursor = connection.connection.cursor()
        bound = params if positional else dict(zip(names, params, strict=True))
        # The engine's cursor events still see the statement (tracing, statement counts).
        connection.dispatch.before_cursor_execute(connection, cursor, sql, bound, None, False)
        try:
            cursor.execute(sql, bound)
            return fetch(cursor)
        except connection.dialect.loaded_dbapi.Error:
            connection.invalidate()
            raise
        finally:
            cursor.close()

    def row(self, connection: sa.Connection, key: object, since: datetime | None = None) -> tuple | None:
        """The one row for ``key`` (or None), read on ``connection`` (e.g. from a pool); its
        last column (the oldest sync of ``_freshness``) converted to an aware datetime."""
        row = self._execute(connection, lambda cursor: cursor.fetchone(),
                            {"key": key, "since": since})
        return None if row is None else (*row[:-1], self._for(connection.dialect)[4](row[-1]))

    def rows(self, connection: sa.Connection, **values: object) -> list[tuple]:
        """Every row, as the driver gives them."""
        return self._execute(connection, lambda cursor: cursor.fetchall(), values)

    @staticmethod
    def pragma(connection: sa.Connection, name: str) -> object:
        """SQLite's ``PRAGMA <name>`` on the connection's driver connection (the engine's
        cursor events see it); a driver error invalidates the connection and is raised."""
        statement = f"PRAGMA {name}"
        cursor = connection.connection.cursor()
        connection.dispatch.before_cursor_execute(connection, cursor, statement, (), None, False)
        try:
            cursor.execute(statement)
            return cursor.fetchone()[0]
        except connection.dialect.loaded_dbapi.Error:
            connection.invalidate()
            raise
        finally:
            cursor.close()


def _busy_rows_query(dialect: str) -> sa.CompoundSelect:
    """The start and end of the busy rows of a lawyer's conflict calendars that overlap
    ``[low, high)``, by start, in one statement of two index ranges bounded at both ends:
    the rows starting from ``near`` (= ``low - LONG_BUSY``) on, and the long ones starting
    before it (``models.LONG_BUSY_WHERE``, their partial index)."""
    block = BusyBlock.__table__.c

    def branch(*starts: sa.ColumnElement) -> sa.Select:
        return sa.select(block.start, block.end).where(
            *counted(block, sa.bindparam("key")),
            *starts,
            block.end > sa.bindparam("low"),
        )

    near = branch(block.start >= sa.bindparam("near"), block.start < sa.bindparam("high"))
    long = branch(sa.text(LONG_BUSY_WHERE[dialect]), block.start < sa.bindparam("near"))
    return sa.union_all(long, near).order_by(sa.literal_column("1"))



class BusyRows:
    """A lawyer's busy time over a window, from the mirror's rows, merged as read.

    Two index ranges bounded at both ends (see ``models.LONG_BUSY``), no ORM, raw driver
    values: on SQLite the stored UTC text, which orders as the instants do, so rows are
    merged as text and only the merged ends are parsed (``BulkUTCDateTime``)."""

    def __init__(self) -> None:
        self.query = CompiledQuery(_busy_rows_query, instants=("near", "high", "low"))

    def merged(self, connection: sa.Connection, lawyer_id: int, window: Interval) -> list[Interval]:
        values = {"key": lawyer_id, "low": window.start, "high": window.end,
                  "near": window.start - LONG_BUSY}
        rows = self.query.rows(connection, **values)
        parse = bulk_instant(connection.dialect)
        return [Interval(parse(start), parse(end)) for start, end in merge_sorted(rows)]


BUSY_ROWS = BusyRows()


class MergedBusy:
    """A lawyer's busy time as the writers keep it merged (``storage.busy_merged``): one
    row of a few KB instead of thousands of busy rows, read only if it was merged from
    the state of the mirror the reader keyed on (``mirror_of``); None otherwise."""

    def __init__(self) -> None:
        merged = BusyMerged.__table__.c
        self.query = CompiledQuery(
            sa.select(merged.blocks).where(merged.lawyer_id == sa.bindparam("key"),
                                           merged.stamp == sa.bindparam("stamp")),
            instants=(),
        )

    def whole(self, connection: sa.Connection, lawyer_id: int, mirror: tuple[str, ...]) -> list[Interval] | None:
        rows = self.query.rows(connection, key=lawyer_id, stamp=busy_merged.stamp_of(mirror))
        return busy_merged.decode(rows[0][0]) if rows else None


MERGED_BUSY = MergedBusy()


def fast_path_engine(engine: sa.Engine) -> sa.Engine:
    """The engine the fast path (a cache hit by link token) reads its one query with.

    A second, small pool on the same database, used for nothing else, in autocommit (the
    read is one statement: no BEGIN/ROLLBACK) and without pre-ping (a ping on every
    checkout would double a hit's round trips). A connection that has died fails its
    read; the pool invalidates it and the caller answers the ordinary way. It is
    disposed with the app's engine. On SQLite its connections never write, which lets
    ``fingerprint_by_token`` skip the query while nobody else has written. An in-memory
    SQLite database (one connection) is read on the app's own engine.
    """
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine
    fast = current_app.extensions.get("slot_cache_engine")
    if fast is None or fast.url != engine.url:
        options = {"connect_args": {"timeout": 30}} if engine.dialect.name == "sqlite" else {}
        # Autocommit reads leave no transaction to end: nothing to reset on return.
        fast = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=5,
                                max_overflow=10, pool_recycle=3600, pool_reset_on_return=None,
                                **options)
        sa.event.listen(engine, "engine_disposed", lambda *_args: fast.dispose())
        current_app.extensions["slot_cache_engine"] = fast
    return fast


#: Fingerprint rows one fast-path connection keeps while the database is unchanged.
_REMEMBERED_ROWS = 1024


def fingerprint_by_token(connection: sa.Connection, token_hash: str, since: datetime,
                         afresh: bool = False) -> tuple[tuple | None, bool]:
    """``FINGERPRINT_BY_TOKEN_HASH.row`` on a fast-path connection, and whether it is a row
    read earlier on this connection (``afresh``: read it now in any case).

    On SQLite, ``PRAGMA data_version`` moves whenever another connection — of any
    process — has committed; the fast path's connections never write, so while it stands
    still nothing the fingerprint reads has changed, and the row read before is the row
    the query would give (its only other input, ``since``, matters for the key alone: a
    booking that ends before it was read is one that can no longer change an offer, see
    ``availability``). The pragma reads no table. A remembered row whose key finds no
    offer is read afresh by the caller, as a booking that aged out of the count makes the
    keys of a remembered and a fresh row differ. Elsewhere the query runs every time.
    """
    if connection.dialect.name != "sqlite" or connection.engine is not current_app.extensions.get(
            "slot_cache_engine"):
        return FINGERPRINT_BY_TOKEN_HASH.row(connection, token_hash, since), False
    driver = connection.connection.dbapi_connection
    version = FINGERPRINT_BY_TOKEN_HASH.pragma(connection, "data_version")
    held = connection.info.get("fingerprints")
    if held is None or held[0] is not driver or held[1] != version:
        held = connection.info["fingerprints"] = (driver, version, {})
    rows = held[2]
    if not afresh and token_hash in rows:
        return rows[token_hash], True
    row = FINGERPRINT_BY_TOKEN_HASH.row(connection, token_hash, since)
    if len(rows) >= _REMEMBERED_ROWS:
        rows.clear()
    rows[token_hash] = row
    return row, False


FINGERPRINT_BY_ID = CompiledQuery(_fingerprint_query("id"))
FINGERPRINT_BY_TOKEN_HASH = CompiledQuery(_fingerprint_query("token_hash"))
#: The freshness columns alone, for ``key`` = a lawyer's id (an intake has no client row).
FRESHNESS_BY_LAWYER = CompiledQuery(sa.select(*_freshness(sa.bindparam("key"))))


@functools.lru_cache(maxsize=512)
def reserve_windows(text: str) -> tuple[Window, ...]:
    """A lawyer's reserve windows (stored canonical; empty: none)."""
    return parse_windows(text) if text and text.strip() else ()


def release_delta() -> timedelta:
    return timedelta(hours=current_app.config["RESERVE_RELEASE_HOURS"])


#: (reserve text, zone, release) -> (asked at, the next release after it). The answer holds
#: for every later instant before it: no release lies between (``booking.reserve``).
_NEXT_RELEASE: dict[tuple[str, str, timedelta], tuple[datetime, datetime | None]] = {}


def next_reserve_release(text: str, zone: ZoneInfo, now: datetime, release: timedelta) -> datetime | None:
    """``booking.reserve.next_release`` for a lawyer's stored reserve text, memoised."""
    if not text:
        return None
    memo_key = (text, zone.key, release)
    known = _NEXT_RELEASE.get(memo_key)
    if known is not None and known[0] <= now and (known[1] is None or now < known[1]):
        return known[1]
    answer = next_release(reserve_windows(text), zone, now, release)
    if len(_NEXT_RELEASE) > 4096:
        _NEXT_RELEASE.clear()
    _NEXT_RELEASE[memo_key] = (now, answer)
    return answer


def key(row: tuple | None, now: datetime, exclude_booking_id: int | None,
        reserve_access: bool = False) -> tuple | None:
    """The cache key of a fingerprint row at ``now``; None unless the link takes bookings
    (``Client.takes_bookings``: the client and its lawyer active).
    ``reserve_access``: the offer of a callback link, which may book reserved time."""
    if row is None or row[_STATUS] != "active" or not row[_LAWYER_ACTIVE]:
        return None
    values = tuple(row)[:-_FRESHNESS_COLUMNS]
    # The last ones are the aggregated strings of KEYED_ROWS, in no particular order.
    rows = len(KEYED_ROWS)
    values = values[:-rows] + tuple(
        tuple(sorted(v.split(","))) if v else () for v in values[-rows:]
    )
    zone = ZoneInfo(values[_TIMEZONE])
    local_day = now.astimezone(zone).date()
    if reserve_access:
        reserve = "callback"
    else:
        reserve = next_reserve_release(values[_RESERVE] or "", zone, now, release_delta())
    return exclude_booking_id, values, local_day, reserve


def trusted_until(row: tuple, freshness: timedelta) -> datetime | None:
    """Until when the calendar mirror behind a fingerprint row (or a
    ``FRESHNESS_BY_LAWYER`` row: both end with ``_freshness``) may be offered from: the
    least recent sync of a conflict calendar plus ``freshness``; ``datetime.min`` when one
    was never synced; None when the lawyer has no conflict calendar. The one place of
    this rule."""
    counts, oldest = row[-2], row[-1]
    calendars, never_synced = (int(part) for part in counts.split("/"))
    if calendars == 0:
        return None
    if never_synced:
        return datetime.min.replace(tzinfo=UTC)
    return oldest + freshness
