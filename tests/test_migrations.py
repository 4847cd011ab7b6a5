"""Migrations run on SQLite and PostgreSQL, and the database itself refuses overlaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from service.storage.models import Booking, new_token, token_hash

pytestmark = [pytest.mark.db_matrix, pytest.mark.migrations]

T0 = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)


def test_migrations_downgrade_and_upgrade_again(app, db):
    downgrade(revision="base")
    assert "booking" not in sa.inspect(db.engine).get_table_names()
    upgrade()
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"lawyer", "client", "booking", "outbox_task", "alembic_version"} <= names


def _raw_booking(client, start: datetime, minutes: int, **fields) -> Booking:
    values = dict(
        uid=new_token(), lawyer_id=client.lawyer_id, client_id=client.id,
        start=start, end=start + timedelta(minutes=minutes),
        blocked_start=start, blocked_end=start + timedelta(minutes=minutes),
        name="x", email="x@example.com", agenda="a",
        manage_token_hash=token_hash(new_token()), manage_token_enc="-",
    )
    values.update(fields)
    return Booking(**values)


def test_database_refuses_overlapping_bookings_without_the_code(db, make_client):
    """The no-overlap rule is a constraint (PostgreSQL) or trigger (SQLite), not only code."""
    client, _ = make_client()
    db.session.add(_raw_booking(client, T0, 60))
    db.session.commit()
    db.session.add(_raw_booking(client, T0 + timedelta(minutes=59), 30))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Touching ranges ([) semantics), cancelled bookings and other lawyers do not conflict.
    db.session.add(_raw_booking(client, T0 + timedelta(minutes=60), 30))
    db.session.add(_raw_booking(client, T0, 60, status="cancelled"))
    other, _ = make_client()
    db.session.add(_raw_booking(other, T0, 60))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 4


def test_database_refuses_moving_a_booking_onto_another(db, make_client):
    client, _ = make_client()
    first = _raw_booking(client, T0, 60)
    second = _raw_booking(client, T0 + timedelta(hours=2), 60)
    db.session.add_all([first, second])
    db.session.commit()
    second.blocked_start = T0 + timedelta(minutes=30)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_upgrade_in_process_keeps_the_app_loggers_enabled(app):
    """Regression: alembic's fileConfig disabled every existing logger (service.*, werkzeug)."""
    import logging

    import service.storage.outbox  # noqa: F401 - its logger exists before the upgrade

    upgrade()
    assert not logging.getLogger("service.storage.outbox").disabled
    assert not logging.getLogger("service.web.errors").disabled
