"""busy rows of a window in two index ranges bounded at both ends, read from the indexes alone

Revision ID: 0021_cache_busy_long
Revises: 0010_steer
Create Date: 2026-12-02 03:10:00

A slot computation reads the busy rows overlapping a window. With ``(lawyer_id, start)``
alone that range is bounded at its end only (a row may start any time before the window
and still overlap it), so every earlier row of the lawyer is scanned. Rows starting more
than a day before a window can overlap it only if they last longer than a day: this
partial index holds exactly those, and the read becomes two ranges bounded at both ends
(``service.usecases.slot_cache.BusyRows``; the condition is ``models.LONG_BUSY_WHERE``).
Both indexes carry ``end`` and ``calendar_id``, so the read never visits the table's rows
(which lie in the order of their sync, not of time): ``ix_busy_window`` replaces
``ix_busy_lawyer_start``, of which it is an extension.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_cache_busy_long'
down_revision = '0017_people_sessions'
branch_labels = None
depends_on = None

# As in service.storage.models.LONG_BUSY_WHERE (a migration does not import the models).
LONG = {
    "sqlite": 'julianday("end") - julianday(start) > 1',
    "postgresql": "\"end\" - start > interval '1 day'",
}


COLUMNS = ['lawyer_id', 'start', 'end', 'calendar_id']


def upgrade():
    op.create_index('ix_busy_window', 'busy_block', COLUMNS, unique=False)
    op.drop_index('ix_busy_lawyer_start', table_name='busy_block')
    op.create_index(
        'ix_busy_long', 'busy_block', COLUMNS, unique=False,
        sqlite_where=sa.text(LONG["sqlite"]), postgresql_where=sa.text(LONG["postgresql"]),
    )


def downgrade():
    op.drop_index('ix_busy_long', table_name='busy_block')
    op.create_index('ix_busy_lawyer_start', 'busy_block', ['lawyer_id', 'start'], unique=False)
    op.drop_index('ix_busy_window', table_name='busy_block')
