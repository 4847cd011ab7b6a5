"""Every test gets a database of its own state: migrated to head, empty, ids from 1."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

pytestmark = pytest.mark.db_matrix


def test_database_is_migrated_to_head(app, db):
    migrate = app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    versions = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    assert versions == set(script.get_heads())


@pytest.mark.parametrize("turn", ["first", "second"])
def test_database_starts_empty_with_ids_from_one(db, make_lawyer, make_client, turn):
    """Whichever turn runs second sees nothing of the first (TRUNCATE ... RESTART IDENTITY)."""
    from service.storage.models import Client, Lawyer

    assert db.session.scalar(sa.select(sa.func.count(Lawyer.id))) == 0
    client, _ = make_client()
    assert (client.lawyer_id, client.id) == (1, 1)
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 1


@pytest.mark.postgres
@pytest.mark.postgres_only
def test_emptying_postgres_restarts_used_sequences_and_empties_guarded_tables(db_url, app, db, make_client):
    """tests/pg.truncate_all DELETEs only the tables with rows (triggers off, like TRUNCATE) and
    restarts only the sequences that were used, also by an insert that was rolled back."""
    from service.storage.models import AuditEvent, Lawyer
    from tests import pg

    make_client()
    db.session.add(AuditEvent(actor_kind="system", action="test.kept"))  # DELETE is refused
    db.session.commit()
    db.session.add(Lawyer(name="Rolled back", email="gone@counsel.example", timezone="UTC"))
    db.session.flush()
    db.session.rollback()
    db.session.remove()
    with db.engine.begin() as connection:
        pg.truncate_all(connection)
    counts = [db.session.scalar(sa.text(f'SELECT count(*) FROM "{t.name}"'))
              for t in db.metadata.sorted_tables]
    assert sum(counts) == 0
    client, _ = make_client()
    assert (client.lawyer_id, client.id) == (1, 1)
