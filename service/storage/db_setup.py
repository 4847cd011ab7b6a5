"""Database behaviour that differs between SQLite and PostgreSQL.

SQLite: WAL so readers never wait for the writer, a busy timeout instead of "database is
locked", and explicit transaction control so a booking can take the write lock up front
(``BEGIN IMMEDIATE``). PostgreSQL: row locks (see ``service.usecases.bookings``).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from service.storage import busy_mirror
from service.storage.extensions import db

_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("immediate", default=False)


#: A pooled connection idle this long is pinged before it is lent (PostgreSQL).
PING_AFTER_IDLE_SECONDS = 1.0


def init_app(app: Flask) -> None:
    busy_mirror.install()
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            _configure_sqlite(db.engine)
        else:
            ping_after_idle(db.engine)


def ping_after_idle(engine: sa.Engine) -> None:
    """Ping a pooled connection before lending it only when it has been idle for
    ``PING_AFTER_IDLE_SECONDS`` (or is new); a dead one is replaced, as ``pool_pre_ping``
    does. That pinged on every checkout: one round trip per request, 7 % of a booking's
    CPU (#19). A connection used within the second is not asked: if the server went
    away meanwhile, its request fails as the requests in flight then do (503), and the
    pool drops every connection older than the failure."""

    @sa.event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")  # freed space is zeroed (client erasure)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def database_away(exc: BaseException) -> bool:
    """The database cannot be reached (a dropped or refused connection), as opposed to a
    statement it refused: the web answers 503 while it lasts, the worker backs off and
    tries again; a refused statement is a bug."""
    return isinstance(exc, sa.exc.DBAPIError) and (
        bool(exc.connection_invalidated) or isinstance(exc, sa.exc.OperationalError)
    )


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(*, keep_loaded: bool = False, continue_read: bool = False) -> Iterator[None]:
    """Run the block in one transaction that serialises writers for the lawyer.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time,
    others wait on the busy timeout). On PostgreSQL callers lock the rows they decide on
    (``SELECT ... FOR UPDATE``). Commits on success, rolls back on any exception.

    ``keep_loaded``: the objects the session holds stay loaded across the start and the
    commit (no re-SELECT of what was just read or written; a booking re-reads under its
    lock only what it decides on). The read transaction before it is ended as by
    ``end_read_transaction``; with pending changes it is rolled back as usual.

    ``continue_read`` (with ``keep_loaded``): on PostgreSQL the read transaction goes on
    as the write transaction, with no COMMIT, pool check-in, ping and BEGIN between (#19),
    for a caller that has done no network I/O since it began (no transaction is held
    open across a call to another server); its statements see fresh rows anyway (READ
    COMMITTED), and the caller's locks decide. SQLite always starts afresh: its write
    lock comes with ``BEGIN IMMEDIATE``.
    """
    if keep_loaded and continue_read and not is_sqlite() and not _pending():
        pass  # the transaction in progress (or the next one) is the write transaction
    elif keep_loaded and not _pending():
        end_read_transaction()
    else:
        db.session.rollback()  # start from a fresh transaction
    token = _immediate.set(True)
    try:
        db.session.connection()  # begins now, taking the write lock on SQLite
    finally:
        _immediate.reset(token)
    try:
        yield
        if keep_loaded:
            end_read_transaction(commit_changes=True)
        else:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _pending() -> bool:
    session = db.session
    return bool(session.new or session.dirty or session.deleted)


def end_read_transaction(*, commit_changes: bool = False) -> None:
    """End the session's transaction (e.g. before network calls, so none stays open)
    without expiring the objects it loaded: they keep the values read. Only for a
    transaction that wrote nothing, unless ``commit_changes``."""
    session = db.session()  # the request's Session behind the scoped_session
    if not commit_changes and _pending():
        raise RuntimeError("end_read_transaction with unflushed changes")
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous
