"""Every admin page renders for a signed-in lawyer, with demo-like data."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/week", "/admin/week?date=2026-03-29", "/admin/week?date=2026-10-25",
     "/admin/clients", "/admin/clients?show=archived", "/admin/clients/new", "/admin/calendars",
     "/admin/settings"],
)
def test_page_renders(frozen, admin, lawyer, make_client, path):
    make_client(lawyer=lawyer, status_day=0, matter="Lease dispute")
    response = admin.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_client_pages_render(frozen, admin, lawyer, make_client):
    client, _ = make_client(lawyer=lawyer)
    for path in (f"/admin/clients/{client.id}", f"/admin/clients/{client.id}/edit"):
        response = admin.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]


@pytest.mark.db_matrix
@pytest.mark.migrations
def test_migration_0004_downgrades_and_upgrades_again(app, db, make_client):
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    migrate = app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    below = script.get_revision("0004_admin").down_revision  # wherever it sits in the chain
    make_client(status_day=4)
    db.session.remove()
    downgrade(revision=below)
    assert "status_updated_on" not in {c["name"] for c in sa.inspect(db.engine).get_columns("client")}
    assert "language" not in {c["name"] for c in sa.inspect(db.engine).get_columns("lawyer")}
    upgrade()
    assert "status_updated_on" in {c["name"] for c in sa.inspect(db.engine).get_columns("client")}
