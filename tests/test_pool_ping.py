"""The app's pool pings a connection only when it was idle (``db_setup.ping_after_idle``,
#19): ``pool_pre_ping`` cost every request a round trip; a connection the server dropped
while it sat in the pool is still replaced before a request uses it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.storage import db_setup

pytestmark = pytest.mark.postgres_only


def _pings(monkeypatch, engine) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def test_a_connection_used_within_the_second_is_not_pinged(app, db, client, monkeypatch):
    assert client.get("/healthz").status_code == 200
    with db.engine.connect() as conn:  # the pool's connection, now in the pool again
        conn.exec_driver_sql("SELECT 1")
    pings = _pings(monkeypatch, db.engine)
    for _ in range(3):
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert pings == []


def test_a_connection_dropped_while_idle_is_replaced_before_use(app, db, monkeypatch):
    """A restart of the server while the pool sat idle: the next request gets a live
    connection, as with ``pool_pre_ping``."""
    with db.engine.connect() as conn:
        dead = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as admin:
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(dead)})")
    other.dispose()
    monkeypatch.setattr(db_setup, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if a second went by
    pings = _pings(monkeypatch, db.engine)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != dead
    assert pings  # the dead one was pinged, and replaced
