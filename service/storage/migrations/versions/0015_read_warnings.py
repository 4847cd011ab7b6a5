"""calendar.read_warnings: the events of a calendar that could not be read exactly

Revision ID: 0015_read_warnings
Revises: 0007_outcome
Create Date: 2026-12-01 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_read_warnings'
down_revision = '0013_microsoft'  # linearised at merge (was 0007_outcome)
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_warnings', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.drop_column('read_warnings')
