"""Every write of busy rows moves its calendar's ``mirror_version`` — in code, not by habit.

The slot cache (``service.usecases.slot_cache``) keys offers on a fingerprint that holds
each calendar's ``mirror_version``; a busy row written without moving it would leave
stale slots offered. So the session does it itself, for every way the ORM session
writes ``BusyBlock`` rows, in the same transaction:

- objects added, changed or deleted (``before_flush``);
- bulk ``insert``/``update``/``delete`` statements run through the session
  (``do_orm_execute``): the calendars they touch are read first with the statement's
  own ``WHERE`` (a delete or update) or from its values (an insert), then bumped.

Busy rows are never written through a raw connection or SQL text.

The same hooks raise the calendar's ``busy_reach_minutes`` (an upper bound of its rows'
length, never lowered) to cover every row added or changed, so a read over one slot can
be bounded at both ends of the (lawyer_id, start) index. A row whose length cannot be
read from the statement sets it to ``UNKNOWN_REACH`` (such a read is then unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from service.storage.models import BusyBlock, Calendar

_BUSY = BusyBlock.__table__
_CALENDAR = Calendar.__table__


def _bump(connection: sa.Connection, calendar_ids: Iterable[Any]) -> None:
    ids = sorted({i for i in calendar_ids if i is not None})
    if ids:
        connection.execute(
            sa.update(_CALENDAR)
            .where(_CALENDAR.c.id.in_(ids))
            .values(mirror_version=_CALENDAR.c.mirror_version + 1)
        )


#: Minutes no busy row reaches (about 190 years): a row's length could not be read.
UNKNOWN_REACH = 10**8


def reach_minutes(start: Any, end: Any) -> int:
    """Whole minutes (rounded up, plus one) covering a row from ``start`` to ``end``."""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return UNKNOWN_REACH
    try:
        return max(0, math.ceil((end - start).total_seconds() / 60)) + 1
    except TypeError:  # naive against aware
        return UNKNOWN_REACH


def _raise_reach(connection: sa.Connection, reaches: dict[Any, int]) -> None:
    for calendar_id, minutes in sorted((k, v) for k, v in reaches.items() if k is not None):
        connection.execute(
            sa.update(_CALENDAR)
            .where(_CALENDAR.c.id == calendar_id, _CALENDAR.c.busy_reach_minutes < minutes)
            .values(busy_reach_minutes=minutes)
        )


def _farthest(rows: Iterable[tuple[Any, int]]) -> dict[Any, int]:
    found: dict[Any, int] = {}
    for calendar_id, minutes in rows:
        found[calendar_id] = max(found.get(calendar_id, 0), minutes)
    return found


def _objects(session: Session, _context: Any, _instances: Any) -> None:
    touched = [
        obj.calendar_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, BusyBlock)
    ]
    written = [
        (obj.calendar_id, reach_minutes(obj.start, obj.end))
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, BusyBlock)
    ]
    # A changed row may have moved to another calendar: both versions move.
    for obj in session.dirty:
        if isinstance(obj, BusyBlock):
            history = sa.inspect(obj).attrs.calendar_id.history
            touched.extend(history.deleted or ())
    if touched:
        _bump(session.connection(), touched)
    if written:
        _raise_reach(session.connection(), _farthest(written))


def _writes_busy_rows(statement: Any) -> bool:
    """Whether ``statement`` inserts, updates or deletes ``busy_block`` rows (an ORM
    statement names an annotated copy of the table, hence the comparison by name)."""
    table = getattr(statement, "table", None)
    return isinstance(table, sa.TableClause) and table.name == _BUSY.name


def _calendars_written(state: ORMExecuteState) -> list[Any]:
    """The calendar ids an insert or update writes: from its execution parameters and
    from the statement's own VALUES/SET (read from the statement, since an ORM-enabled
    statement cannot be compiled on its own to list them)."""
    params = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    ids = [row.get("calendar_id") for row in rows if isinstance(row, dict)]
    values = getattr(state.statement, "_values", None) or {}
    for column, value in values.items():
        if getattr(column, "key", column) == "calendar_id":
            ids.append(getattr(value, "value", value))
    multi = getattr(state.statement, "_multi_values", None) or ()
    for batch in multi:
        for row in batch:
            if isinstance(row, dict):
                ids.extend(v for k, v in row.items() if getattr(k, "key", k) == "calendar_id")
    return ids


def _rows_written(state: ORMExecuteState) -> list[tuple[Any, int]]:
    """(calendar id, reach) of each row an insert writes (``_calendars_written``'s sources)."""
    def value(row: dict, name: str) -> Any:
        for key, item in row.items():
            if getattr(key, "key", key) == name:
                return getattr(item, "value", item)
        return None

    params = state.parameters
    rows = [r for r in (params if isinstance(params, list) else [params or {}]) if isinstance(r, dict) and r]
    values = getattr(state.statement, "_values", None) or {}
    if values:
        rows.append(dict(values))
    for batch in getattr(state.statement, "_multi_values", None) or ():
        rows.extend(r for r in batch if isinstance(r, dict))
    return [(value(r, "calendar_id"), reach_minutes(value(r, "start"), value(r, "end"))) for r in rows]


def _statements(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if not _writes_busy_rows(state.statement):
        return
    connection = state.session.connection()
    if state.is_insert:
        ids = _calendars_written(state)
        if not ids:
            raise RuntimeError("a bulk insert of busy rows must name their calendar_id")
        _bump(connection, ids)
        _raise_reach(connection, _farthest(_rows_written(state)))
        return
    where = state.statement.whereclause
    query = sa.select(_BUSY.c.calendar_id).distinct()
    if where is not None:
        query = query.where(where)
    touched = list(connection.execute(query, state.parameters or {}).scalars())
    _bump(connection, touched)
    if state.is_update:  # rows moved to another calendar move that one too
        moved = _calendars_written(state)
        _bump(connection, moved)
        _raise_reach(connection, dict.fromkeys([*touched, *moved], UNKNOWN_REACH))


def install() -> None:
    """Listen on every ORM session (idempotent; ``db_setup.init_app`` calls it)."""
    for name, listener in (("before_flush", _objects), ("do_orm_execute", _statements)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
