"""Availability for a client: gathers the lawyer's data and asks ``booking/``.

Offered slots come from a per-process cache (``service.usecases.slot_cache``) keyed on a
fingerprint of everything they are computed from, read in one query at every read.

A miss computes only the range read (an API ``from``/``to``; the booking page reads the
whole horizon), and a cached offer grows by the parts a later read lacks
(``Offer.missing``): slots of a range depend on the busy time and bookings around it and
on the day's cadence counts alone, so parts computed apart are exactly what one
computation of their union gives (``tests/test_slot_cache_ranges.py``).

"Now" is honoured exactly: a part reaching the horizon end reaches
``slot_cache.HORIZON_SLACK`` past it, and an offer is read with the rules for the current
instant (``Offer.span``): starts before ``now + notice`` and from ``now + horizon`` on are
cut at every read. The only other use of "now" in the engine is the next-working-day
notice, which depends on the lawyer-local date alone, and that date is part of the key
(as is the next release of reserved time, the only other instant ``with_reserve``
reads). Bookings that ended more than ``_COUNTING_MARGIN`` ago are no longer read (nor
fingerprinted): they cannot touch a week or month that still has slots. So moving time never leaves a stale slot offered nor
hides a new one.

Writes (``check``) never use the cache: a booking is checked against fresh data.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from booking import reserve
from booking.availability import CountedSpan, check_start, counted_span, free_slots
from booking.availability import check_shape as check_shape_rules
from booking.intervals import Interval
from booking.model import Agreement, BookedCall, Slot
from service.storage.extensions import db
from service.storage.models import (
    Booking,
    Client,
    Intake,
    holds_time,
    token_hash,
)
from service.usecases import links, slot_cache
from service.usecases.errors import Refused
from service.usecases.links import well_formed_token
from service.usecases.slot_cache import Offer

log = logging.getLogger(__name__)

# Bookings around the range are needed for cadence counting (a week, a month).
_COUNTING_MARGIN = timedelta(days=32)


def _data_window(client: Client | Intake, now: datetime, horizon: timedelta | None = None) -> Interval:
    horizon = timedelta(days=client.horizon_days) if horizon is None else horizon
    return Interval(now - _COUNTING_MARGIN, now + horizon + _COUNTING_MARGIN)


def _booking_rows_query(excluding: bool, client_window: bool = False) -> sa.Select:
    """The lawyer's holding bookings over ``window_start``..``window_end``; with
    ``client_window``, and the client ``client_id``'s over ``client_start``..``client_end``."""
    booking, client = Booking.__table__.c, Client.__table__.c

    def over(start: str, end: str) -> sa.ColumnElement[bool]:
        return sa.and_(booking.blocked_end > sa.bindparam(start, type_=booking.blocked_end.type),
                       booking.blocked_start < sa.bindparam(end, type_=booking.blocked_start.type))

    held = over("window_start", "window_end")
    if client_window:
        held = sa.or_(held, sa.and_(booking.client_id == sa.bindparam("client_id"),
                                    over("client_start", "client_end")))
    query = (
        sa.select(
            booking.id, booking.start, booking.end, booking.blocked_start, booking.blocked_end,
            booking.client_id, booking.status, booking.hold_until, client.intake_id,
        )
        .select_from(Booking.__table__.outerjoin(Client.__table__, client.id == booking.client_id))
        .where(booking.lawyer_id == sa.bindparam("lawyer_id"), holds_time(booking.status), held)
    )
    return query.where(booking.id != sa.bindparam("excluded")) if excluding else query


# Built once (#19: building a statement cost a booking more than running it).
_BOOKING_ROWS = {excluding: _booking_rows_query(excluding) for excluding in (False, True)}
_COUNTED_ROWS = _booking_rows_query(False, client_window=True)


def lawyer_booking_rows(
    lawyer_id: int, window: Interval, exclude_booking_id: int | None = None
) -> list[sa.Row]:
    """The lawyer's bookings that hold time around ``window``, one query: times, client,
    status and hold (a booking's own transaction sees its expired holds here) and the
    intake the client came from (an intake's cadence counts its visitors together)."""
    params = {"lawyer_id": lawyer_id, "window_start": window.start, "window_end": window.end}
    if exclude_booking_id is not None:
        params["excluded"] = exclude_booking_id
    return list(db.session.connection().execute(_BOOKING_ROWS[exclude_booking_id is not None], params))


def held_rows(subject: Client | Intake, now: datetime) -> list[sa.Row]:
    """``lawyer_booking_rows`` over what ``check`` needs for a booking at ``now``."""
    return lawyer_booking_rows(subject.lawyer_id, _data_window(subject, now))


def counted_window(client: Client, start: datetime) -> CountedSpan:
    """The bookings ``check`` weighs for the client's call at ``start``, no more
    (``counted_span``: its blocked time and the period of each cap in force): a lawyer
    with a full horizon of bookings, or many clients, costs a booking no more than one
    with a few (#19)."""
    return counted_span(client.agreement(), client.lawyer.rules(), start)


def counted_rows(client: Client, span: CountedSpan) -> list[sa.Row]:
    """``lawyer_booking_rows`` over ``span`` (``counted_window``): the lawyer's over its
    lawyer's part, the client's own over its client's part, in one query."""
    if span.client is None:
        return lawyer_booking_rows(client.lawyer_id, span.lawyer)
    return list(db.session.connection().execute(_COUNTED_ROWS, {
        "lawyer_id": client.lawyer_id, "window_start": span.lawyer.start, "window_end": span.lawyer.end,
        "client_id": client.id, "client_start": span.client.start, "client_end": span.client.end}))


def lawyer_bookings(
    lawyer_id: int, window: Interval, exclude_booking_id: int | None = None
) -> list[BookedCall]:
    return [
        BookedCall(row.start, row.end, Interval(row.blocked_start, row.blocked_end), row.client_id)
        for row in lawyer_booking_rows(lawyer_id, window, exclude_booking_id)
    ]


def _subject_key(subject: Client | Intake) -> object:
    """The cadence key: a client's id, or one shared key for all of an intake's visitors."""
    return f"intake:{subject.id}" if isinstance(subject, Intake) else subject.id


def _subject_bookings(
    subject: Client | Intake, window: Interval, exclude_booking_id: int | None = None,
    rows: list[sa.Row] | None = None,
) -> list[BookedCall]:
    """Every booking of the lawyer (``rows``: already read by ``lawyer_booking_rows``); an
    intake's bookings all carry the intake's key."""
    if rows is None:
        rows = lawyer_booking_rows(subject.lawyer_id, window, exclude_booking_id)
    intake = subject.id if isinstance(subject, Intake) else None
    key = _subject_key(subject)
    return [
        BookedCall(
            row.start, row.end, Interval(row.blocked_start, row.blocked_end),
            key if intake is not None and row.intake_id == intake else row.client_id,
        )
        for row in rows
    ]


def calendar_busy(lawyer_id: int, window: Interval, mirror: Hashable | None = None) -> list[Interval]:
    """Busy time from the local mirror of the lawyer's conflict calendars, merged.

    With ``mirror`` (``slot_cache.mirror_of`` the client's cache key: the state of the
    lawyer's calendars read in this transaction) the list is shared by every client of
    the lawyer in this process until a calendar's mirror moves, and is the writers' merged
    busy time when that was merged from this very state (``slot_cache.MergedBusy``: one
    small row); without it (writes, and the tests' reference, a booking's read over its
    slot) the rows are read afresh, bounded at both ends of the index either way
    (``slot_cache.BusyRows``).
    """
    if mirror is None:
        return _read_busy(lawyer_id, window)
    return slot_cache.busy_lists().get(
        (lawyer_id, mirror), window, lambda span: _read_busy(lawyer_id, span),
        lambda: slot_cache.MERGED_BUSY.whole(db.session.connection(), lawyer_id, mirror),
    )


def _read_busy(lawyer_id: int, window: Interval) -> list[Interval]:
    """The mirror's rows over ``window``, merged as they are read (in order of start, on
    the session's connection without the ORM: a big calendar has tens of thousands)."""
    return slot_cache.BUSY_ROWS.merged(db.session.connection(), lawyer_id, window)


class AvailabilityUnknown(Refused):
    """The lawyer's calendar could not be read for too long: offer nothing (fail closed)."""

    def __init__(self) -> None:
        super().__init__(
            "availability_unknown",
            "Availability is temporarily unknown because the lawyer's calendar cannot be "
            "read. Please try again later.",
        )


def mirror_trusted_until(lawyer_id: int) -> datetime | None:
    """Until when the lawyer's busy mirror may be trusted (``slot_cache.trusted_until``,
    from the same columns as the fingerprint's), read in the session's transaction."""
    row = slot_cache.FRESHNESS_BY_LAWYER.row(db.session.connection(), lawyer_id)
    return slot_cache.trusted_until(row, _freshness())


def with_reserve(
    subject: Client | Intake, agreement: Agreement, now: datetime, window: Interval, reserve_access: bool
) -> tuple[Agreement, list[Interval]]:
    """The agreement and extra busy time once the lawyer's reserved urgent time is applied.

    Ordinary links see each reserve still held (``booking.reserve.held``) as busy; a
    callback link (``reserve_access``) may book every reserve as if it were an agreed window.
    """
    lawyer = subject.lawyer
    windows = slot_cache.reserve_windows(lawyer.reserve_windows or "")
    if not windows:
        return agreement, []
    if reserve_access:
        extra = reserve.date_windows(windows, lawyer.zone, window.start, window.end)
        return dataclasses.replace(agreement, extra_windows=agreement.extra_windows + extra), []
    instances = reserve.occurrences(windows, lawyer.zone, window.start, window.end)
    return agreement, reserve.held(instances, now, slot_cache.release_delta())


def _compute(
    client: Client, now: datetime, exclude_booking_id: int | None, mirror: Hashable,
    parts: list[Interval], reserve_access: bool = False,
) -> list[tuple[Interval, list[Slot]]]:
    """The client's slots starting in each of ``parts`` (ranges of ``Offer.missing``),
    with the busy rows of those ranges only (the lawyer's shared busy list)."""
    agreement = client.agreement()
    stretched = dataclasses.replace(
        agreement, horizon_days=agreement.horizon_days + slot_cache.HORIZON_SLACK.days
    )
    rules = client.lawyer.rules()
    window = _data_window(client, now, timedelta(days=stretched.horizon_days))
    stretched, held = with_reserve(client, stretched, now, window, reserve_access)
    bookings = _subject_bookings(client, window, exclude_booking_id)
    # The busy time a call starting in the parts may touch: its preparation before, its
    # buffer after (``free_slots`` reads no more).
    reach = Interval(parts[0].start - agreement.prep,
                     parts[-1].end + agreement.duration + agreement.buffer_after)
    busy = calendar_busy(client.lawyer_id, reach, mirror) + held
    return [
        (part, free_slots(stretched, rules, client=_subject_key(client), now=now, busy=busy,
                          bookings=bookings, start=part.start, end=part.end))
        for part in parts
    ]


def _freshness() -> timedelta:
    return timedelta(minutes=current_app.config["CALENDAR_FRESHNESS_MINUTES"])


def _offer_for(
    client: Client, now: datetime, exclude_booking_id: int | None = None, reserve_access: bool = False,
    start: datetime | None = None, end: datetime | None = None,
) -> Offer | None:
    """The offer of an active client, from the cache if current, covering ``[start, end)``
    (None: the whole horizon); None if not active. A miss computes the range asked only;
    a later read of another range adds the slots it lacks. ``AvailabilityUnknown`` when
    the calendar mirror can no longer be trusted."""
    db.session.flush()  # pending changes count; then read in the session's transaction
    row = slot_cache.FINGERPRINT_BY_ID.row(db.session.connection(), client.id, now - _COUNTING_MARGIN)
    key = slot_cache.key(row, now, exclude_booking_id, reserve_access)
    if key is None:
        return None
    if not slot_cache.trusted(slot_cache.trusted_until(row, _freshness()), now):
        raise AvailabilityUnknown()
    cache = slot_cache.slot_cache()
    offer = cache.get(key)
    if offer is None or offer.computed_at > now:
        agreement = client.agreement()
        offer = Offer(slots=[], starts=[], lawyer_id=client.lawyer_id,
                      timezone=client.lawyer.zone, notice=agreement.notice,
                      horizon=timedelta(days=agreement.horizon_days), computed_at=now)
    missing = offer.missing(now, start, end)
    if missing:
        offer = offer.grown(_compute(client, now, exclude_booking_id, slot_cache.mirror_of(key),
                                     missing, reserve_access))
        cache.put(key, offer)
    return offer


def _cached_offer(token: str, now: datetime, days: DayRange) -> Offer | None:
    """The offer behind a client link token if the cache holds it current and covering
    ``days``, else None.

    One query on a pooled connection of ``slot_cache.fast_path_engine``, no ORM (on
    SQLite not even that while the database is unchanged: ``fingerprint_by_token``). It
    answers only for the token of an active client, which ``links.resolve`` resolves to
    that very client; for anything else (a miss, callback links, unknown tokens, paused or
    archived clients, a failed read) the caller resolves the link as usual.
    """
    hashed, since = token_hash(token), now - _COUNTING_MARGIN
    try:
        with slot_cache.fast_path_engine(db.engine).connect() as connection:
            row, remembered = slot_cache.fingerprint_by_token(connection, hashed, since)
            offer = _current_offer(row, now, days)
            if offer is None and remembered and row is not None:
                row, _ = slot_cache.fingerprint_by_token(connection, hashed, since, afresh=True)
                offer = _current_offer(row, now, days)
    except (sa.exc.DBAPIError, db.engine.dialect.loaded_dbapi.Error):
        log.warning("slot cache fast path failed; answering the ordinary way", exc_info=True)
        return None
    return offer


def _current_offer(row: tuple | None, now: datetime, days: DayRange) -> Offer | None:
    """The cached offer of a fingerprint row if it is current and covers ``days``."""
    key = slot_cache.key(row, now, None)
    if key is None or not slot_cache.trusted(slot_cache.trusted_until(row, _freshness()), now):
        return None
    offer = slot_cache.slot_cache().get(key)
    if offer is None or offer.computed_at > now or not offer.covers(now, *days.instants(offer.timezone)):
        return None
    return offer


@dataclasses.dataclass(frozen=True)
class DayRange:
    """Days ``first`` to ``last`` (inclusive; None: open) read in ``zone``, or else in the
    lawyer's zone (which only the offer knows)."""

    first: date | None = None
    last: date | None = None
    zone: ZoneInfo | None = None

    def instants(self, lawyer_zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        zone = self.zone or lawyer_zone
        start = datetime.combine(self.first, time(), zone) if self.first else None
        end = datetime.combine(self.last + timedelta(days=1), time(), zone) if self.last else None
        return start, end


@dataclasses.dataclass(frozen=True)
class LinkOffer:
    """What a booking link offers now: the lawyer behind it and the offer (None while the
    client is paused)."""

    lawyer_id: int
    offer: Offer | None


def offer_for_link(token: str, now: datetime, days: DayRange = DayRange()) -> LinkOffer:
    """The one door to the slots behind a booking link (client or callback link token),
    with an offer covering ``days``.

    A current cached offer is found with one query; anything else resolves the link
    (``Refused`` for unknown or spent links) and reads or computes the client's offer.
    ``AvailabilityUnknown`` when the calendar mirror behind it can no longer be trusted.
    """
    offer = _cached_offer(token, now, days) if well_formed_token(token) else None
    if offer is None:
        link = links.resolve(token, now)
        client = link.client
        start, end = days.instants(client.lawyer.zone)
        offer = _offer_for(client, now, reserve_access=link.callback is not None, start=start, end=end)
        if offer is None:
            return LinkOffer(client.lawyer_id, None)
    return LinkOffer(offer.lawyer_id, offer)


def slots_for(
    client: Client | Intake,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    exclude_booking_id: int | None = None,
    reserve_access: bool = False,
) -> list[Slot]:
    """The slots this client (or intake) may book now, within [start, end) clamped to the
    horizon. A client's come from the cache; an intake's are computed afresh.
    ``reserve_access``: through a callback link, which may book reserved urgent time."""
    if isinstance(client, Intake):
        return fresh_slots_for(client, now, start, end, exclude_booking_id)
    offer = _offer_for(client, now, exclude_booking_id, reserve_access, start, end)
    if offer is None:
        return []
    return offer.between(now, start, end)


def fresh_slots_for(
    client: Client | Intake,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    exclude_booking_id: int | None = None,
    reserve_access: bool = False,
) -> list[Slot]:
    """``slots_for`` computed from scratch, without the cache (also the tests' reference)."""
    if not client.takes_bookings:
        return []
    if not slot_cache.trusted(mirror_trusted_until(client.lawyer_id), now):
        raise AvailabilityUnknown()
    window = _data_window(client, now)
    agreement, held = with_reserve(client, client.agreement(), now, window, reserve_access)
    return free_slots(
        agreement,
        client.lawyer.rules(),
        client=_subject_key(client),
        now=now,
        busy=calendar_busy(client.lawyer_id, window) + held,
        bookings=_subject_bookings(client, window, exclude_booking_id),
        start=start,
        end=end,
    )


def check_shape(
    subject: Client | Intake, now: datetime, start: datetime, reserve_access: bool = False
) -> Slot:
    """The slot at ``start`` if its time, day, window and step are agreed (no bookings, no
    busy time read), or ``SlotRefused``: what a booking asks before it asks the lawyer's
    calendar servers (``booking.availability.check_shape``)."""
    window = _data_window(subject, now)
    agreement, _ = with_reserve(subject, subject.agreement(), now, window, reserve_access)
    return check_shape_rules(agreement, subject.lawyer.rules(), now=now, start=start)


def check(
    client: Client | Intake,
    now: datetime,
    start: datetime,
    exclude_booking_id: int | None = None,
    extra_busy: list[Interval] | None = None,
    reserve_access: bool = False,
    *,
    rows: list[sa.Row] | None = None,
    mirror: bool = True,
) -> Slot:
    """The slot at ``start`` or ``SlotRefused`` saying why it cannot be booked.

    Busy time is only compared with the slot's blocked time (``check_start``), so only
    the mirror's rows over it are read (#19: a 50,000-event calendar costs a booking no
    more than an empty one), and none with ``mirror`` False (the lawyer has no conflict
    calendar). ``rows``: the lawyer's bookings, if the caller has read them
    (``lawyer_booking_rows``) in this transaction."""
    window = _data_window(client, now)
    agreement, held = with_reserve(client, client.agreement(), now, window, reserve_access)
    busy = held + list(extra_busy or ())
    if mirror:
        blocked = Interval(start - agreement.prep, start + agreement.duration + agreement.buffer_after)
        busy = calendar_busy(client.lawyer_id, blocked) + busy
    return check_start(
        agreement,
        client.lawyer.rules(),
        client=_subject_key(client),
        now=now,
        busy=busy,
        bookings=_subject_bookings(client, window, exclude_booking_id, rows),
        start=start,
    )
