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
from service.storage.models import (
    HOLDING_STATUSES,
    Booking,
    Calendar,
    Client,
    DayOff,
    ExtraWindow,
    Lawyer,
)

# Memoised renderings kept per offer (e.g. the JSON in a few display zones).
_MAX_VIEWS = 8


@dataclasses.dataclass(eq=False)
class Offer:
    """Slots computed once at ``computed_at``; ``span``/``between`` read them for any later
    instant of the same lawyer-local day exactly as ``free_slots`` would answer then."""

    slots: list[Slot]
    starts: list[datetime]
    lawyer_id: int
    timezone: ZoneInfo  # the lawyer's
    notice: timedelta
    horizon: timedelta
    computed_at: datetime
    views: dict[Hashable, list] = dataclasses.field(default_factory=dict, repr=False)

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

    def view(self, key: Hashable, build: Callable[[list[Slot]], list]) -> list:
        """``build(self.slots)`` (one item per slot, e.g. rendered JSON), memoised by key."""
        items = self.views.get(key)
        if items is None:
            items = build(self.slots)
            if len(self.views) >= _MAX_VIEWS:
                self.views.pop(next(iter(self.views)), None)
            self.views[key] = items
        return items


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
    (which every write of busy rows moves); bounded by entries and by intervals held."""

    def __init__(self, max_entries: int = 512, max_intervals: int = 2_000_000) -> None:
        self.max_entries, self.max_intervals = max_entries, max_intervals
        self._entries: OrderedDict[Hashable, BusyList] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, key: Hashable, window: Interval,
            load: Callable[[Interval], list[Interval]]) -> list[Interval]:
        """The busy intervals overlapping ``window``; ``load(span)`` reads and merges the
        rows over a span when the list held does not cover the window."""
        with self._lock:
            held = self._entries.get(key)
            if held is not None:
                self._entries.move_to_end(key)
        if held is None or not held.covers(window):
            # Read a little more than asked, so that "now" moving on stays covered.
            span = Interval(window.start - BUSY_MARGIN, window.end + BUSY_MARGIN)
            if held is not None:
                span = Interval(min(span.start, held.span.start), max(span.end, held.span.end))
            held = BusyList.of(span, load(span))
            self.loads += 1
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

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0


#: How much more than asked a shared busy list reads on each side.
BUSY_MARGIN = timedelta(days=7)


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
    Calendar: ("id", "conflict", "mirror_version"),
}
# After the keyed rows: the freshness of the conflict calendars, outside the key.
_FRESHNESS_COLUMNS = 2
# The row: every client column, every lawyer column, then the aggregates.
_STATUS = list(Client.__table__.c.keys()).index("status")
_TIMEZONE = len(Client.__table__.c) + list(Lawyer.__table__.c.keys()).index("timezone")
_RESERVE = len(Client.__table__.c) + list(Lawyer.__table__.c.keys()).index("reserve_windows")
_SINCE_TYPE = Booking.__table__.c.blocked_end.type


def _literal(text: str) -> sa.ColumnElement:
    """A string constant written into the SQL (the statement's only parameters are
    ``key`` and ``since``)."""
    return sa.literal_column("'" + text.replace("'", "''") + "'", sa.String)


def _joined(*values: sa.ColumnElement) -> sa.ColumnElement:
    """The values as text, joined by "/"."""
    texts = [sa.cast(value, sa.String) for value in values]
    joined = texts[0]
    for text in texts[1:]:
        joined = joined + _literal("/") + text
    return joined


def _rows_as_text(model: type, *where: sa.ColumnElement) -> sa.ScalarSelect:
    """The ``KEYED_ROWS`` values of ``model``'s rows as one string: "a/b,a/b,..."."""
    table = model.__table__
    joined = _joined(*(table.c[name] for name in KEYED_ROWS[model]))
    return sa.select(sa.func.aggregate_strings(joined, ",")).where(*where).scalar_subquery()


def _fingerprint_query(by: str) -> sa.Select:
    """The client's and the lawyer's rows and the aggregates, for ``client.<by> = :key``.

    Each aggregate is a scalar subquery: an index probe or a short index range (SQLite
    answers ``max(id)`` from the index only in this form, not from a joined derived table).
    Parameters: ``key`` and ``since`` (bookings ending before it no longer matter).
    """
    client, lawyer = Client.__table__, Lawyer.__table__
    relevant = (
        Booking.lawyer_id == client.c.lawyer_id,
        Booking.status.in_([_literal(status) for status in HOLDING_STATUSES]),
        Booking.blocked_end > sa.bindparam("since", type_=_SINCE_TYPE),
    )

    conflict_calendars = (Calendar.lawyer_id == client.c.lawyer_id, Calendar.conflict.is_(True))

    def scalar(column: sa.ColumnElement, *where: sa.ColumnElement) -> sa.ScalarSelect:
        return sa.select(column).where(*where).scalar_subquery()

    return (
        sa.select(
            client,
            lawyer,
            scalar(
                _joined(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.max(Booking.id), sa.literal_column("0")),
                    sa.func.coalesce(sa.func.sum(Booking.sequence), sa.literal_column("0")),
                ),
                *relevant,
            ),
            # The keyed rows; the calendars first (``mirror_of``).
            _rows_as_text(Calendar, Calendar.lawyer_id == client.c.lawyer_id),
            _rows_as_text(DayOff, DayOff.lawyer_id == client.c.lawyer_id),
            _rows_as_text(ExtraWindow, ExtraWindow.client_id == client.c.id),
            # Freshness (not key material): "conflict calendars/never synced", oldest sync.
            scalar(_joined(sa.func.count(), sa.func.count() - sa.func.count(Calendar.synced_at)),
                   *conflict_calendars),
            scalar(sa.func.min(Calendar.synced_at), *conflict_calendars),
        )
        .select_from(client.join(lawyer, lawyer.c.id == client.c.lawyer_id))
        .where(client.c[by] == sa.bindparam("key"))
    )


class CompiledQuery:
    """A statement with parameters ``key`` and ``since``, compiled once per dialect and run
    on a DBAPI connection; rows come back as the driver gives them, but for the last
    column (the oldest sync), which is converted to an aware datetime."""

    def __init__(self, statement: sa.Select) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, Callable, Callable]] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None, Callable, Callable]:
        name = f"{dialect.name}+{dialect.driver}"
        compiled = self._compiled.get(name)
        if compiled is None:
            with self._lock:
                # Example values only let the separators of aggregate_strings be rendered.
                example = self.statement.params(key="", since=datetime(2000, 1, 1, tzinfo=UTC))
                sql = example.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
                # A parameter other than these two fails loudly (KeyError, or the driver's).
                order = tuple(sql.positiontup) if sql.positiontup is not None else None
                process = _SINCE_TYPE.bind_processor(dialect) or (lambda value: value)
                synced_type = Calendar.__table__.c.synced_at.type.dialect_impl(dialect)
                synced = synced_type.result_processor(dialect, None) or (lambda value: value)
                compiled = self._compiled[name] = (str(sql), order, process, synced)
        return compiled

    def row(self, connection: sa.Connection, key: object, since: datetime) -> tuple | None:
        """The one row for ``key`` (or None), read on ``connection`` (from a pool).

        The statement runs on a cursor of the pooled DBAPI connection: SQLAlchemy's result
        machinery would cost a cache hit several times the query itself. A driver error
        invalidates the connection (the pool replaces it) and is raised.
        """
        sql, order, process, synced = self._for(connection.dialect)
        values = {"key": key, "since": process(since)}
        params = tuple(values[name] for name in order) if order is not None else values
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            return None if row is None else (*row[:-1], synced(row[-1]))
        except connection.dialect.loaded_dbapi.Error:
            connection.invalidate()
            raise
        finally:
            cursor.close()


def fast_path_engine(engine: sa.Engine) -> sa.Engine:
    """The engine the fast path (a cache hit by link token) reads its one query with.

    On SQLite, the app's own engine. Elsewhere a second, small pool on the same database,
    in autocommit (the read is one statement: no BEGIN/ROLLBACK) and without pre-ping
    (a ping on every checkout would double a hit's round trips). A connection that has
    died fails its read; the pool invalidates it and the caller answers the ordinary way.
    It is disposed with the app's engine.
    """
    if engine.dialect.name == "sqlite":
        return engine
    fast = current_app.extensions.get("slot_cache_engine")
    if fast is None or fast.url != engine.url:
        fast = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=5,
                                max_overflow=10, pool_recycle=3600)
        sa.event.listen(engine, "engine_disposed", lambda *_args: fast.dispose())
        current_app.extensions["slot_cache_engine"] = fast
    return fast


FINGERPRINT_BY_ID = CompiledQuery(_fingerprint_query("id"))
FINGERPRINT_BY_TOKEN_HASH = CompiledQuery(_fingerprint_query("token_hash"))


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
    """The cache key of a fingerprint row at ``now``; None unless the client is active.
    ``reserve_access``: the offer of a callback link, which may book reserved time."""
    if row is None or row[_STATUS] != "active":
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
    """Until when the calendar mirror behind a fingerprint row may be offered from: the
    least recent sync of a conflict calendar plus ``freshness``; ``datetime.min`` when one
    was never synced; None when the lawyer has no conflict calendar."""
    counts, oldest = row[-2], row[-1]
    calendars, never_synced = (int(part) for part in counts.split("/"))
    if calendars == 0:
        return None
    if never_synced:
        return datetime.min.replace(tzinfo=UTC)
    return oldest + freshness
