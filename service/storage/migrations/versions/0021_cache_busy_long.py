"""a partial index of the long busy rows: a window's busy rows in two bounded index ranges

Revision ID: 0021_cache_busy_long
Revises: 0010_steer
Create Date: 2026-12-02 03:10:00

A slot computation reads the busy rows overlapping a window. With ``(lawyer_id, start)``
alone that range is bounded at its end only (a row may start any time before the window
and still overlap it), so every earlier row of the lawyer is scanned. Rows starting more
than a day before a window can overlap it only if they last longer than a day: this
partial index holds exactly those, and the read becomes two ranges bounded at both ends
(``service.usecases.slot_cache.BusyRows``; the condition is ``models.LONG_BUSY_WHERE``).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_cache_busy_long'
down_revision = '0010_steer'
branch_labels = None
depends_on = None

# As in service.storage.models.LONG_BUSY_WHERE (a migration does not import the models).
LONG = {
    "sqlite": 'julianday("end") - julianday(start) > 1',
    "postgresql": "\"end\" - start > interval '1 day'",
}


def upgrade():
    op.create_index(
        'ix_busy_long', 'busy_block', ['lawyer_id', 'start'], unique=False,
        sqlite_where=sa.text(LONG["sqlite"]), postgresql_where=sa.text(LONG["postgresql"]),
    )


def downgrade():
    op.drop_index('ix_busy_long', table_name='busy_block')
