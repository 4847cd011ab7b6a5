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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from service.storage.extensions import db


@functools.cache
def _statement(mapper: sa.orm.Mapper) -> tuple[sa.Insert, tuple[sa.orm.ColumnProperty, ...]]:
    table = mapper.local_table
    (key,) = table.primary_key.columns  # one database-generated key (``id``)
    return sa.insert(table).returning(key), tuple(
        prop for prop in mapper.column_attrs if prop.columns[0] is not key
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
    statement, props = _statement(mapper)
    state = sa.inspect(obj)
    if not state.transient:
        raise ValueError("insert_object takes a new object that is not in a session")
    values = {}
    for prop in props:
        column = prop.columns[0]
        if prop.key not in state.dict:
            setattr(obj, prop.key, _default(column))
        values[column.key] = state.dict[prop.key]
    key = mapper.primary_key[0].key
    given = state.dict.get(key)
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
    groups = [(table, [_complete(table, row) for row in rows]) for table, rows in pending if rows]
    if not groups:
        return
    shape = tuple((table, tuple(rows[0]), len(rows)) for table, rows in groups)
    connection = db.session.connection()
    sql, names, processors = _together_statement(shape, connection.dialect)
    values = [value for _, rows in groups for row in rows for value in row.values()]
    params = {}
    for name, value in zip(names, values, strict=True):
        process = processors.get(name)
        params[name] = process(value) if process is not None else value
    connection.exec_driver_sql(sql, params)


def _complete(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every column of ``table`` but a key not given, in the table's order
    (a missing one's Python-side default, as a flush would fill it in)."""
    return {c.key: row[c.key] if c.key in row else _default(c) for c in table.columns
            if c.key in row or not c.primary_key}


@functools.cache
def _together_statement(shape: tuple[tuple[sa.Table, tuple[str, ...], int], ...],
                        dialect: sa.Dialect) -> tuple[str, list[str], dict[str, Any]]:
    """The SQL of one shape (tables, columns, row counts), compiled once (a multi-row
    ``VALUES`` is not cached compiled by SQLAlchemy: it was compiled on every use), with
    its parameters' names in the order of the rows' values and their bind processors
    (the columns' types: JSON, encrypted text, UTC instants)."""
    names: list[str] = []
    statements = []
    for table, keys, count in shape:
        rows = []
        for _ in range(count):
            row = {}
            for k in keys:
                names.append(f"p{len(names)}")
                row[k] = sa.bindparam(names[-1], type_=table.c[k].type)
            rows.append(row)
        statements.append(sa.insert(table).values(rows))
    *first, last = statements
    compiled = last.add_cte(*(s.cte(f"w{n}") for n, s in enumerate(first))).compile(dialect=dialect)
    return compiled.string, names, dict(compiled._bind_processors)
