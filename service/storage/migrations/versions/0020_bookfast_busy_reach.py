"""calendar.busy_reach_minutes: no busy row of the calendar is longer (#19)

Revision ID: 0020_bookfast_busy_reach
Revises: 0010_steer
Create Date: 2026-12-02 03:30:00

A booking reads the mirror's rows over one slot. ``start < slot end AND end > slot
start`` is bounded at one end only: the index on (lawyer_id, start) was scanned from the
calendar's first row. With an upper bound of the rows' length the read is bounded at both
ends (``start >= slot start - reach``). ``service.storage.busy_mirror`` raises it with
every write of busy rows; here it is computed for the rows already stored.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_bookfast_busy_reach'
down_revision = '0010_steer'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.add_column(sa.Column('busy_reach_minutes', sa.Integer(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        minutes = 'CEIL(EXTRACT(EPOCH FROM (b."end" - b.start)) / 60)'
    else:
        minutes = '(julianday(b."end") - julianday(b.start)) * 1440'
    op.execute(
        'UPDATE calendar SET busy_reach_minutes = COALESCE('
        f'(SELECT CAST(MAX({minutes}) AS INTEGER) + 1 FROM busy_block b WHERE b.calendar_id = calendar.id), 0)'
    )


def downgrade():
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.drop_column('busy_reach_minutes')
