"""Throwaway PostgreSQL databases for tests: created with a random name, dropped after.

``TEST_POSTGRES_URL`` names the server (default: the local one with trust auth). Under
``CI=true`` an unreachable server fails the run; elsewhere PostgreSQL tests are skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_server() -> None:
    """Skip (locally) or fail (CI) when the PostgreSQL server cannot be reached."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {make_url(ADMIN_URL).render_as_string()} is unreachable: {exc}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def url_of(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def fresh_database(prefix: str = "ch_test") -> Iterator[str]:
    """A new empty database on the test server; yields its URL, drops it afterwards."""
    require_server()
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url_of(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def truncate_all(connection) -> None:
    """Empty every application table (not ``alembic_version``) and restart its sequences,
    on a SQLAlchemy connection in a transaction: ``TRUNCATE ... RESTART IDENTITY``.

    TRUNCATE makes new files for every table it names, 0.3-1 s for the ~30 tables before
    each PostgreSQL test, while most tests leave most tables empty. So, as a superuser (the
    local test server): find the tables that hold rows (one query) and DELETE from those
    with triggers off (``session_replication_role = replica``, as TRUNCATE skips row
    triggers such as the audit trail's append-only guard, and foreign keys, since every
    table is emptied), then restart only the sequences that handed out a value.
    """
    tables = connection.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'"
    ).scalars().all()
    if not tables:
        return
    if connection.exec_driver_sql("SELECT current_setting('is_superuser')").scalar() != "on":
        names = ", ".join(_quoted(t) for t in tables)
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    probe = " UNION ALL ".join(
        f"SELECT {_literal(t)} WHERE EXISTS (SELECT 1 FROM {_quoted(t)})" for t in tables
    )
    full = connection.exec_driver_sql(probe).scalars().all()
    if full:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in full:
            connection.exec_driver_sql(f"DELETE FROM {_quoted(table)}")
        connection.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")
    connection.exec_driver_sql(
        "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass, "
        "start_value, false) "
        "FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def reset_schema(url: str) -> None:
    """Make the database at ``url`` bare again: an empty ``public`` schema, nothing else.

    Cheaper than a new database per test: CREATE and DROP DATABASE each wait for disk
    flushes, which took up to 20 s on a busy machine.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
