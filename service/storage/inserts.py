"""New rows written with one Core ``INSERT`` each, from a statement compiled once (#19).

The ORM's unit of work (``session.add`` and a flush) cost a booking three times what the
``INSERT`` it sends costs; building a Core statement anew each time cost as much again.
``insert_object`` writes a new mapped object at once with the table's one prepared
statement and leaves it in the session as if it had been loaded: later reads of its
attributes need no ``SELECT``, and changes made to it afterwards are flushed as usual.

``together()``: on PostgreSQL the rows written inside the block (``insert_object`` of an
object whose key is given, ``insert_rows``) are sent at its end as one statement, the
INSERTs but the last in ``WITH`` (a booking, its audit row and its outbox tasks: one
round trip instead of three, #19). Nothing inside the block may read them back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from service.storage.extensions import db


@functools.cache
def _statement(mapper: sa.orm.Mapper) -> tuple[sa.Insert, tuple[tuple[str, str, sa.Column], ...]]:
    """The table's INSERT, and per column but the key: its attribute's key, its own, it."""
    table = mapper.local_table
    (key,) = table.primary_key.columns  # one database-generated key (``id``)
    return sa.insert(table).returning(key), tuple(
        (prop.key, prop.columns[0].key, prop.columns[0]) for prop in mapper.column_attrs
        if prop.columns[0] is not key
    )


def insert_object(obj: Any) -> None:
    """``INSERT`` the new (transient) ``obj`` now and make it persistent in the session
    (inside ``together()``, with its key given: at the block's end).

    Every mapped column is written: what ``obj`` holds, else the column's Python-side
    default (as a flush would fill it in, onto ``obj`` too), else NULL. Relationships are
    not cascaded, so set foreign keys as columns (``client_id=...``, not only
    ``client=...``); objects ``obj`` refers to stay as they are. The database's own
    defaults (``server_default``) are not read: every column here has a Python default
    or a value.
    """
    mapper = sa.inspect(type(obj))
    statement, columns = _statement(mapper)
    state = sa.inspect(obj)
    if not state.transient:
        raise ValueError("insert_object takes a new object that is not in a session")
    loaded = state.dict
    values = {}
    for attribute, name, column in columns:
        if attribute not in loaded:
            setattr(obj, attribute, _default(column))
        values[name] = loaded[attribute]
    key = mapper.primary_key[0].key
    given = loaded.get(key)
    if given is not None:  # written as given (inside ``together()``: at the block's end)
        insert_rows(mapper.local_table, [{key: given, **values}])
    else:
        setattr(obj, key, db.session.connection().execute(statement, values).scalar_one())
    make_transient_to_detached(obj)  # loaded as it is: no history, nothing expired
    db.session.add(obj)


def _default(column: sa.Column) -> Any:
    default = column.default
    if default is None:
        if column.server_default is not None:
            raise ValueError(f"insert_object: give {column.key!r} a value (its default is the database's)")
        return None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps it to take an execution context
    raise ValueError(f"insert_object: {column.key!r} has a SQL default; give it a value")


@functools.cache
def _rows_statement(table: sa.Table) -> sa.Insert:
    # RETURNING makes a list of rows one ``INSERT ... VALUES`` ("insertmanyvalues").
    (key,) = table.primary_key.columns
    return sa.insert(table).returning(key)


def insert_rows(table: sa.Table, rows: list[dict[str, Any]]) -> list[int] | None:
    """``INSERT`` ``rows`` (dicts of the same columns) into ``table``: now, in one
    statement, returning their keys, or inside ``together()`` with the block's others
    (None)."""
    pending = _pending.get()
    if pending is not None:
        pending.append((table, rows))
        return None
    if not rows:
        return []
    return list(db.session.connection().execute(_rows_statement(table), rows).scalars())


_pending: ContextVar[list[tuple[sa.Table, list[dict[str, Any]]]] | None] = ContextVar("inserts", default=None)


@contextmanager
def together() -> Iterator[None]:
    """On PostgreSQL, the block's rows are written at its end in one statement (see the
    module doc; nothing is written if the block raises). Elsewhere, and inside another
    ``together()``, the block runs as it is."""
    if _pending.get() is not None or db.engine.dialect.name != "postgresql":
        yield
        return
    pending: list[tuple[sa.Table, list[dict[str, Any]]]] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    groups = [(table, rows) for table, rows in pending if rows]
    if not groups:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    shape, params = [], {}
    for g, (table, rows) in enumerate(groups):
        keys, params[f"p{g}"] = _as_json(table, rows, dialect)
        shape.append((table, keys))
    connection.exec_driver_sql(_together_sql(tuple(shape), dialect), params)


def _as_json(table: sa.Table, rows: list[dict[str, Any]], dialect: sa.Dialect) -> tuple[tuple[str, ...], str]:
    """The rows' columns and the rows as one JSON array: every column of ``table`` but a
    key not given, in the table's order (a missing one's Python-side default, as a flush
    would fill it in), each value as its column's type binds it (encrypted text, UTC
    instants), a JSON column's value nested as it is. The rows give the same columns."""
    given = rows[0].keys()
    plan = [(key, default, processor) for key, primary, default, processor in _plan(table, dialect)
            if key in given or not primary]
    out = []
    for row in rows:
        values = {}
        for key, default, processor in plan:
            value = row[key] if key in row else default()
            values[key] = value if value is None or processor is None else processor(value)
        out.append(values)
    return tuple(key for key, _, _ in plan), json.dumps(out, default=_json_value, separators=(",", ":"))


@functools.cache
def _plan(table: sa.Table, dialect: sa.Dialect) -> tuple[tuple[str, bool, Callable[[], Any], Any], ...]:
    """Per column of ``table``: its key, whether it is the key, its Python-side default
    (``_default``, asked only when a row leaves it out) and its bind processor (None for a
    JSON column, nested as it is)."""
    return tuple(
        (c.key, c.primary_key, functools.partial(_default, c),
         None if isinstance(c.type, sa.JSON) else c.type.bind_processor(dialect))
        for c in table.columns
    )


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("inserts.together: a naive datetime")
        return value.isoformat()
    raise TypeError(f"inserts.together: cannot write {type(value).__name__}")


@functools.cache
def _together_sql(shape: tuple[tuple[sa.Table, tuple[str, ...]], ...], dialect: sa.Dialect) -> str:
    """The one statement of a shape (tables and columns), built once: each table's rows
    from one JSON parameter (``json_populate_recordset``), every INSERT but the last in
    ``WITH``. Few parameters and short: psycopg caches its parsing and prepares it (past
    50 parameters it parsed the statement anew each time: 16 % of a booking's CPU)."""
    quote = dialect.identifier_preparer.quote  # names from the tables' metadata, never input
    inserts = []
    for g, (table, keys) in enumerate(shape):
        columns = ", ".join(quote(table.c[k].name) for k in keys)
        inserts.append(f"INSERT INTO {quote(table.name)} ({columns}) SELECT {columns} "  # noqa: S608
                       f"FROM json_populate_recordset(NULL::{quote(table.name)}, %(p{g})s::json)")
    *first, last = inserts
    if not first:
        return last
    return "WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(first)) + " " + last
