"""A lawyer's busy time kept merged, stamped with the mirror state it was merged from (#19).

A slot-cache miss with a big calendar spent its time fetching and merging thousands of
busy rows (50,000 events: ~9,000 rows for 14 days, 150 merged intervals). The writers merge
them instead: at the commit of every session transaction that wrote a lawyer's busy rows
or calendars (``busy_mirror`` calls ``refresh``), the rows that count are merged into the
lawyer's one ``busy_merged`` row, with the state of the mirror they were merged from
(``stamp``: each of the lawyer's calendars with its ``conflict`` flag and
``mirror_version``, exactly as the slot cache's key holds them).

A reader uses the row only if its stamp is the state it keyed on, and reads the rows
otherwise. So the row can be stale, never wrong: every write of busy rows moves its
calendar's ``mirror_version`` in the same transaction (``busy_mirror``), a writer that
left the row alone leaves it stamped with a state that is no longer current.

The rules live here once, for the slot cache's reads as for the merged row: which rows
count (``counted``: the lawyer's rows from the lawyer's conflict calendars) and what the
state of a mirror is (``mirror_state``, ``stamp``).

Concurrent writers: ``refresh`` first takes the row's lock (an upsert), then reads the
state, then the rows, so a stamp is never newer than the rows merged under it (PostgreSQL,
read committed: another writer's commit waits for the lock at its own ``refresh``; SQLite
has one writer at a time).
"""

from __future__ import annotations

import functools
import sys
from array import array
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import accumulate, compress, count
from operator import gt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from booking.intervals import Interval
from service.storage.models import BulkUTCDateTime, BusyBlock, BusyMerged, Calendar, literal

_MERGED = BusyMerged.__table__
_BLOCK = BusyBlock.__table__.c

#: The columns of a lawyer's calendars that make up the state of the mirror.
MIRROR_COLUMNS = ("id", "conflict", "mirror_version")


def joined(*values: sa.ColumnElement) -> sa.ColumnElement:
    """The values as text, joined by "/"."""
    texts = [sa.cast(value, sa.String) for value in values]
    text = texts[0]
    for more in texts[1:]:
        text = text + literal("/") + more
    return text


def rows_as_text(table: sa.Table, columns: Iterable[str], *where: sa.ColumnElement) -> sa.ScalarSelect:
    """The values of ``columns`` of ``table``'s rows as one string: "a/b,a/b,..." (rows in
    no particular order)."""
    text = joined(*(table.c[name] for name in columns))
    return sa.select(sa.func.aggregate_strings(text, ",")).where(*where).scalar_subquery()


def mirror_state(lawyer_id: sa.ColumnElement) -> sa.ScalarSelect:
    """The state of a lawyer's mirror as text: "id/conflict/version" per calendar."""
    return rows_as_text(Calendar.__table__, MIRROR_COLUMNS, Calendar.lawyer_id == lawyer_id)


def stamp_of(parts: Iterable[str]) -> str:
    """The canonical form of a mirror state given as its parts ("id/conflict/version")."""
    return ",".join(sorted(parts))


def stamp(text: str | None) -> str:
    """The canonical form of a ``mirror_state`` as read."""
    return stamp_of(text.split(",")) if text else ""


def counted(block: sa.ColumnCollection, lawyer_id: sa.ColumnElement) -> tuple[sa.ColumnElement, ...]:
    """The busy rows that count for a lawyer: the lawyer's, from one of the lawyer's
    conflict calendars (a list looked up per row: cheaper than a join)."""
    conflict = sa.select(Calendar.id).where(Calendar.lawyer_id == lawyer_id, Calendar.conflict.is_(True))
    return (block.lawyer_id == lawyer_id, block.calendar_id.in_(conflict))


def merge_sorted(rows: list[tuple]) -> list[tuple]:
    """Rows ``(start, end)`` sorted by start, merged (overlapping or touching rows join;
    empty results dropped), with the per-row work in C: a row starts a new interval when
    it starts after every earlier row has ended (``reach``, a running maximum)."""
    if not rows:
        return []
    starts, ends = zip(*rows, strict=True)
    reach = list(accumulate(ends, max))
    cuts = list(compress(count(1), map(gt, starts[1:], reach)))
    bounds = [0, *cuts, len(rows)]
    merged = [(starts[a], reach[b - 1]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return [(start, end) for start, end in merged if start < end]


@functools.lru_cache(maxsize=8)
def bulk_instant(dialect: sa.Dialect) -> Callable[[object], datetime]:
    """The driver's value of a busy row's instant as an aware UTC datetime."""
    return BulkUTCDateTime().result_processor(dialect, None) or (lambda value: value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode(merged: Iterable[Interval]) -> bytes:
    """Intervals as little-endian int64 microseconds since the epoch, start and end."""
    values = array("q")
    for start, end in merged:
        values.append((start - _EPOCH) // _MICROSECOND)
        values.append((end - _EPOCH) // _MICROSECOND)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def decode(blob: bytes | memoryview) -> list[Interval]:
    """The intervals ``encode`` wrote."""
    values = array("q")
    values.frombytes(bytes(blob))
    if sys.byteorder == "big":
        values.byteswap()
    instants = [_EPOCH + timedelta(microseconds=value) for value in values]
    return list(map(Interval, instants[::2], instants[1::2]))


@functools.lru_cache(maxsize=4)
def _statements(dialect: str) -> tuple[sa.Insert, sa.Select, sa.Select, sa.Update]:
    """``refresh``'s statements, built once per dialect:

    - the claim: the lawyer's row, locked until commit, inserted if missing (stamp NULL:
      never current) or else updated to itself; returns the stamp held;
    - the state of the lawyer's mirror now;
    - every counted row of the lawyer by start, as the driver gives them;
    - the new stamp and blocks.
    """
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_MERGED)
    lawyer_id = sa.bindparam("lawyer_id")
    claim = (
        insert.values(lawyer_id=lawyer_id, stamp=None, blocks=b"")
        .on_conflict_do_update(index_elements=[_MERGED.c.lawyer_id],
                               set_={"stamp": _MERGED.c.stamp})
        .returning(_MERGED.c.stamp)
    )
    raw = sa.types.NullType()
    rows = (
        sa.select(sa.type_coerce(_BLOCK.start, raw), sa.type_coerce(_BLOCK.end, raw))
        .where(*counted(_BLOCK, lawyer_id))
        .order_by(_BLOCK.start)
    )
    write = (
        sa.update(_MERGED).where(_MERGED.c.lawyer_id == sa.bindparam("of"))
        .values(stamp=sa.bindparam("new_stamp"), blocks=sa.bindparam("new_blocks"))
    )
    return claim, sa.select(mirror_state(lawyer_id)), rows, write


def merged_rows(connection: sa.Connection, lawyer_id: int) -> list[Interval]:
    """Every counted row of the lawyer, merged (as the driver gives them, parsed once
    merged): what the merged row holds."""
    query = _statements(connection.dialect.name)[2]
    rows = connection.execute(query, {"lawyer_id": lawyer_id}).all()
    parse = bulk_instant(connection.dialect)
    return [Interval(parse(start), parse(end)) for start, end in merge_sorted(rows)]


def refresh(connection: sa.Connection, lawyer_ids: Iterable[int]) -> int:
    """Make each lawyer's merged row current, in the connection's transaction: two
    statements when it is, the merge of every counted row when it is not. Returns how
    many were merged anew."""
    merged = 0
    claim, state, _, write = _statements(connection.dialect.name)
    for lawyer_id in sorted(set(lawyer_ids)):  # one order of locks for every writer
        held = connection.execute(claim, {"lawyer_id": lawyer_id}).scalar()
        current = stamp(connection.execute(state, {"lawyer_id": lawyer_id}).scalar())
        if held == current:
            continue
        blocks = encode(merged_rows(connection, lawyer_id))
        connection.execute(write, {"of": lawyer_id, "new_stamp": current, "new_blocks": blocks})
        merged += 1
    return merged
