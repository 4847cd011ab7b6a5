"""Availability for a client: gathers the lawyer's data and asks ``booking/``.

Offered slots are cached per process (``SlotCache``, one per app) without any
invalidation hook: every read first runs ONE cheap query (``_fingerprint``) over
everything the computation reads, and the cache key holds its answer. What the key
covers, and why a hit is exactly what a fresh computation would return:

- the client row (every column: the agreement, the status) and the lawyer row (every
  column: zone and caps), the lawyer's days off and the client's extra windows as values;
- the lawyer's confirmed bookings still relevant (``blocked_end`` after the counting
  margin): count, max(id), sum(sequence). Booking, cancelling (status) and rescheduling
  (``sequence`` is bumped with every change of time, as iCalendar requires) all move it;
- the calendar mirror: max(BusyBlock.id) of the lawyer (a new row always raises it) and,
  over the lawyer's calendars, their count, which are conflict sources and max(synced_at).
  Rows deleted or changed in place are seen through ``synced_at``: whoever writes
  ``BusyBlock`` rows bumps their calendar's ``synced_at`` in the same transaction (the
  sync does);
- "now", as the lawyer-local date. An offer is computed with the horizon stretched by
  ``_HORIZON_SLACK`` and read with the exact rules for the current instant: starts
  before ``now + notice`` and from ``now + horizon`` on are cut at every read. The only
  other use of "now" in the engine is the next-working-day notice, which depends on the
  lawyer-local date alone. So moving time never leaves a stale slot or hides a new one.

Writes (``check``) never use the cache: a booking is checked against fresh data.
"""

from __future__ import annotations

import dataclasses
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from booking.availability import check_start, free_slots
from booking.intervals import Interval
from booking.model import BookedCall, Slot
from service.extensions import db
from service.models import (
    Booking,
    BusyBlock,
    Calendar,
    Client,
    DayOff,
    ExtraWindow,
    Lawyer,
    token_hash,
)

# Bookings around the range are needed for cadence counting (a week, a month).
_COUNTING_MARGIN = timedelta(days=32)
# A cached offer reaches this far past the horizon, so it stays complete at the horizon
# end for the rest of the lawyer's day (a local day lasts at most 25 hours).
_HORIZON_SLACK = timedelta(days=2)
# Memoised renderings kept per offer (e.g. the JSON in a few display zones).
_MAX_VIEWS = 8


def _data_window(client: Client, now: datetime, horizon: timedelta | None = None) -> Interval:
    horizon = timedelta(days=client.horizon_days) if horizon is None else horizon
    return Interval(now - _COUNTING_MARGIN, now + horizon + _COUNTING_MARGIN)


def lawyer_bookings(
    lawyer_id: int, window: Interval, exclude_booking_id: int | None = None
) -> list[BookedCall]:
    booking = Booking.__table__.c
    query = sa.select(
        booking.start, booking.end, booking.blocked_start, booking.blocked_end, booking.client_id
    ).where(
        booking.lawyer_id == lawyer_id,
        booking.status == "confirmed",
        booking.blocked_end > window.start,
        booking.blocked_start < window.end,
    )
    if exclude_booking_id is not None:
        query = query.where(booking.id != exclude_booking_id)
    return [
        BookedCall(start, end, Interval(blocked_start, blocked_end), client_id)
        for start, end, blocked_start, blocked_end, client_id in db.session.execute(query)
    ]


def calendar_busy(lawyer_id: int, window: Interval) -> list[Interval]:
    """Busy time from the local mirror of the lawyer's conflict calendars."""
    rows = db.session.execute(
        sa.select(BusyBlock.start, BusyBlock.end)
        .join(Calendar, Calendar.id == BusyBlock.calendar_id)
        .where(
            BusyBlock.lawyer_id == lawyer_id,
            Calendar.conflict.is_(True),
            BusyBlock.end > window.start,
            BusyBlock.start < window.end,
        )
    )
    return [Interval(start, end) for start, end in rows]


# --- the cache ---------------------------------------------------------------------------


@dataclasses.dataclass(eq=False)
class Offer:
    """Slots computed once at ``computed_at``; ``between`` reads them for any later instant
    of the same lawyer-local day exactly as ``free_slots`` would answer then."""

    slots: list[Slot]
    starts: list[datetime]
    timezone: ZoneInfo  # the lawyer's
    notice: timedelta
    horizon: timedelta
    computed_at: datetime
    views: dict[Hashable, list] = dataclasses.field(default_factory=dict, repr=False)

    def view(self, key: Hashable, build: Callable[[list[Slot]], list]) -> list:
        """``build(self.slots)`` (one item per slot, e.g. rendered JSON), memoised by key."""
        items = self.views.get(key)
        if items is None:
            items = build(self.slots)
            if len(self.views) >= _MAX_VIEWS:
                self.views.pop(next(iter(self.views)))
            self.views[key] = items
        return items

    def span(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> tuple[int, int]:
        """Indexes ``[i, j)`` of the slots starting in ``[start, end)`` offered at ``now``."""
        low = now + max(self.notice, timedelta(0))
        if start is not None and start > low:
            low = start
        high = now + self.horizon
        if end is not None and end < high:
            high = end
        if low >= high:
            return 0, 0
        return bisect_left(self.starts, low), bisect_left(self.starts, high)

    def between(
        self, now: datetime, start: datetime | None = None, end: datetime | None = None
    ) -> list[Slot]:
        i, j = self.span(now, start, end)
        return self.slots[i:j]


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


def slot_cache() -> SlotCache:
    """This app's cache (one per process and app; tests get a fresh one per app)."""
    cache = current_app.extensions.get("slot_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("slot_cache", SlotCache())
    return cache


#: Rows of these tables enter the key as the values of these columns (a test checks that
#: every other column is irrelevant to slots, so a new column cannot be forgotten here).
KEYED_ROWS: dict[type, tuple[str, ...]] = {
    DayOff: ("first_day", "last_day"),
    ExtraWindow: ("day", "start", "end"),
}
# The fingerprint row: every client column, every lawyer column, then the aggregates.
_CLIENT_COLUMNS = list(Client.__table__.c.keys())
_STATUS = _CLIENT_COLUMNS.index("status")
_TIMEZONE = len(_CLIENT_COLUMNS) + list(Lawyer.__table__.c.keys()).index("timezone")


def _rows_as_text(model: type, *where: sa.ColumnElement) -> sa.ScalarSelect:
    """The ``KEYED_ROWS`` values of ``model``'s rows as one string: "a/b,a/b,..."."""
    table = model.__table__
    values = [sa.cast(table.c[name], sa.String) for name in KEYED_ROWS[model]]
    joined = values[0]
    for value in values[1:]:
        joined = joined + "/" + value
    return sa.select(sa.func.aggregate_strings(joined, ",")).where(*where).scalar_subquery()


def _fingerprint_query(by: str) -> sa.Select:
    """The client's and the lawyer's rows and the aggregates, for ``client.<by> = :key``.

    Each aggregate is a scalar subquery: an index probe or a short index range (SQLite
    answers ``max(id)`` from the index only in this form, not from a joined derived table).
    Parameters: ``key`` and ``since`` (bookings ending before it no longer matter).
    """
    client, lawyer = Client.__table__, Lawyer.__table__
    since = sa.bindparam("since", type_=Booking.__table__.c.blocked_end.type)
    relevant = (
        Booking.lawyer_id == client.c.lawyer_id,
        Booking.status == "confirmed",
        Booking.blocked_end > since,
    )
    calendar = Calendar.lawyer_id == client.c.lawyer_id
    sources = sa.case((Calendar.conflict, Calendar.id), else_=-Calendar.id)

    def scalar(column: sa.ColumnElement, *where: sa.ColumnElement) -> sa.ScalarSelect:
        return sa.select(column).where(*where).scalar_subquery()

    return (
        sa.select(
            client,
            lawyer,
            scalar(sa.func.count(), *relevant),
            scalar(sa.func.max(Booking.id), *relevant),
            scalar(sa.func.sum(Booking.sequence), *relevant),
            scalar(sa.func.max(BusyBlock.id), BusyBlock.lawyer_id == client.c.lawyer_id),
            scalar(sa.func.count(Calendar.id), calendar),
            scalar(sa.func.sum(sources), calendar),
            scalar(sa.func.max(Calendar.synced_at), calendar),
            _rows_as_text(DayOff, DayOff.lawyer_id == client.c.lawyer_id),
            _rows_as_text(ExtraWindow, ExtraWindow.client_id == client.c.id),
        )
        .select_from(client.join(lawyer, lawyer.c.id == client.c.lawyer_id))
        .where(client.c[by] == sa.bindparam("key"))
    )


_BY_ID = _fingerprint_query("id")
_BY_TOKEN = _fingerprint_query("token_hash")


def _key(row: sa.Row | None, now: datetime, exclude_booking_id: int | None) -> tuple | None:
    """The cache key of a fingerprint row; None unless the client is active."""
    if row is None or row[_STATUS] != "active":
        return None
    values = tuple(row)
    # The last two are aggregated strings (days off, extra windows), in no particular order.
    values = values[:-2] + tuple(tuple(sorted(v.split(","))) if v else () for v in values[-2:])
    local_day = now.astimezone(ZoneInfo(values[_TIMEZONE])).date()
    return exclude_booking_id, values, local_day


def _compute(client: Client, now: datetime, exclude_booking_id: int | None) -> Offer:
    agreement = client.agreement()
    stretched = dataclasses.replace(
        agreement, horizon_days=agreement.horizon_days + _HORIZON_SLACK.days
    )
    rules = client.lawyer.rules()
    window = _data_window(client, now, timedelta(days=stretched.horizon_days))
    slots = free_slots(
        stretched,
        rules,
        client=client.id,
        now=now,
        busy=calendar_busy(client.lawyer_id, window),
        bookings=lawyer_bookings(client.lawyer_id, window, exclude_booking_id),
    )
    return Offer(
        slots=slots,
        starts=[slot.start for slot in slots],
        timezone=rules.timezone,
        notice=agreement.notice,
        horizon=timedelta(days=agreement.horizon_days),
        computed_at=now,
    )


def offer_for(
    client: Client, now: datetime, exclude_booking_id: int | None = None
) -> Offer | None:
    """The offer of an active client, from the cache if current; None if not active."""
    since = now - _COUNTING_MARGIN
    # Through the session, so that pending changes are flushed first.
    row = db.session.execute(_BY_ID, {"key": client.id, "since": since}).one_or_none()
    key = _key(row, now, exclude_booking_id)
    if key is None:
        return None
    cache = slot_cache()
    offer = cache.get(key)
    if offer is None or offer.computed_at > now:
        offer = _compute(client, now, exclude_booking_id)
        cache.put(key, offer)
    return offer


def cached_offer(token: str, now: datetime) -> Offer | None:
    """The offer behind a client link token if the cache holds it current, else None.

    One query, no ORM: the fast path of ``GET /api/v1/slots``. It answers only for the
    token of an active client, which ``links.resolve`` resolves to that very client; for
    anything else (a miss, callback links, unknown tokens, paused or archived clients)
    the caller resolves the link as usual and asks ``offer_for``.
    """
    params = {"key": token_hash(token), "since": now - _COUNTING_MARGIN}
    row = db.session.connection().execute(_BY_TOKEN, params).one_or_none()
    key = _key(row, now, None)
    if key is None:
        return None
    offer = slot_cache().get(key)
    return offer if offer is not None and offer.computed_at <= now else None


def slots_for(
    client: Client,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """The slots this client may book now, within [start, end) clamped to the horizon."""
    offer = offer_for(client, now, exclude_booking_id)
    return [] if offer is None else offer.between(now, start, end)


def fresh_slots_for(
    client: Client,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """``slots_for`` computed from scratch, without the cache (the reference in tests)."""
    if client.status != "active":
        return []
    window = _data_window(client, now)
    return free_slots(
        client.agreement(),
        client.lawyer.rules(),
        client=client.id,
        now=now,
        busy=calendar_busy(client.lawyer_id, window),
        bookings=lawyer_bookings(client.lawyer_id, window, exclude_booking_id),
        start=start,
        end=end,
    )


def check(
    client: Client,
    now: datetime,
    start: datetime,
    exclude_booking_id: int | None = None,
    extra_busy: list[Interval] | None = None,
) -> Slot:
    """The slot at ``start`` or ``SlotRefused`` saying why it cannot be booked."""
    window = _data_window(client, now)
    return check_start(
        client.agreement(),
        client.lawyer.rules(),
        client=client.id,
        now=now,
        busy=calendar_busy(client.lawyer_id, window) + list(extra_busy or ()),
        bookings=lawyer_bookings(client.lawyer_id, window, exclude_booking_id),
        start=start,
    )
