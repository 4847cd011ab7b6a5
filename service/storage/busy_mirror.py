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

The lawyers whose mirror may have moved (busy rows written, calendars added, changed or
removed) are noted on the session, and at its commit their merged busy time is made
current in the same transaction (``busy_merged.refresh``: a check of two statements when
nothing moved). Whatever escapes this only leaves the merged form stale, not wrong: it is
stamped with the state of the mirror it was merged from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from service.storage import busy_merged
from service.storage.models import BusyBlock, Calendar

_BUSY = BusyBlock.__table__
_CALENDAR = Calendar.__table__
#: ``session.info`` key: the lawyers whose merged busy time is checked at commit.
_MOVED = "busy_mirror.moved"


def _moved(session: Session, lawyer_ids: Iterable[Any]) -> None:
    session.info.setdefault(_MOVED, set()).update(i for i in lawyer_ids if i is not None)


def _bump(session: Session, calendar_ids: Iterable[Any]) -> None:
    ids = sorted({i for i in calendar_ids if i is not None})
    if ids:
        lawyers = session.connection().execute(
            sa.update(_CALENDAR)
            .where(_CALENDAR.c.id.in_(ids))
            .values(mirror_version=_CALENDAR.c.mirror_version + 1)
            .returning(_CALENDAR.c.lawyer_id)
        ).scalars()
        _moved(session, lawyers)


def _objects(session: Session, _context: Any, _instances: Any) -> None:
    touched = [
        obj.calendar_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, BusyBlock)
    ]
    # A changed row may have moved to another calendar: both versions move.
    for obj in session.dirty:
        if isinstance(obj, BusyBlock):
            history = sa.inspect(obj).attrs.calendar_id.history
            touched.extend(history.deleted or ())
    if touched:
        _bump(session, touched)
    # A calendar added, changed (its conflict flag) or removed moves its lawyer's mirror.
    calendars = [obj for obj in (*session.new, *session.dirty, *session.deleted)
                 if isinstance(obj, Calendar)]
    for calendar in calendars:
        _moved(session, [calendar.lawyer_id, *(sa.inspect(calendar).attrs.lawyer_id.history.deleted or ())])


def _writes(statement: Any, table: sa.Table) -> bool:
    """Whether ``statement`` inserts, updates or deletes rows of ``table`` (an ORM
    statement names an annotated copy of the table, hence the comparison by name)."""
    written = getattr(statement, "table", None)
    return isinstance(written, sa.TableClause) and written.name == table.name


def _written(state: ORMExecuteState, name: str) -> list[Any]:
    """The values of column ``name`` an insert or update writes: from its execution
    parameters and from the statement's own VALUES/SET (read from the statement, since an
    ORM-enabled statement cannot be compiled on its own to list them)."""
    params = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    ids = [row.get(name) for row in rows if isinstance(row, dict)]
    values = getattr(state.statement, "_values", None) or {}
    for column, value in values.items():
        if getattr(column, "key", column) == name:
            ids.append(getattr(value, "value", value))
    multi = getattr(state.statement, "_multi_values", None) or ()
    for batch in multi:
        for row in batch:
            if isinstance(row, dict):
                ids.extend(v for k, v in row.items() if getattr(k, "key", k) == name)
    return ids


def _matched(state: ORMExecuteState, column: sa.Column) -> list[Any]:
    """The distinct values of ``column`` in the rows an update or delete matches (read
    first, with the statement's own ``WHERE``)."""
    where = state.statement.whereclause
    query = sa.select(column).distinct()
    if where is not None:
        query = query.where(where)
    return list(state.session.connection().execute(query, state.parameters or {}).scalars())


def _statements(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    session = state.session
    if _writes(state.statement, _CALENDAR):  # bulk writes of calendars (their lawyers)
        if not state.is_insert:
            _moved(session, _matched(state, _CALENDAR.c.lawyer_id))
        if not state.is_delete:
            _moved(session, _written(state, "lawyer_id"))
        return
    if not _writes(state.statement, _BUSY):
        return
    if state.is_insert:
        ids = _written(state, "calendar_id")
        if not ids:
            raise RuntimeError("a bulk insert of busy rows must name their calendar_id")
        _bump(session, ids)
        return
    _bump(session, _matched(state, _BUSY.c.calendar_id))
    if state.is_update:  # rows moved to another calendar move that one too
        _bump(session, _written(state, "calendar_id"))


def _refresh(session: Session) -> None:
    """Before a commit: the merged busy time of the lawyers noted, made current in the
    transaction (pending changes flushed first, which may note more). A savepoint's
    release leaves it to the commit of the transaction around it, which takes the row
    locks last (``busy_merged``)."""
    if session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    lawyers = session.info.pop(_MOVED, None)
    if lawyers:
        busy_merged.refresh(session.connection(), lawyers)


def _forget(session: Session, transaction: Any) -> None:
    """A transaction rolled back: what it noted is gone with it."""
    if transaction.parent is None:
        session.info.pop(_MOVED, None)


def install() -> None:
    """Listen on every ORM session (idempotent; ``db_setup.init_app`` calls it)."""
    for name, listener in (("before_flush", _objects), ("do_orm_execute", _statements),
                           ("before_commit", _refresh), ("after_transaction_end", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
