"""booking.outcome: how a past call went (held, no_show, late_cancel), as the lawyer marks it

Revision ID: 0007_outcome
Revises: 0006_mirror_version
Create Date: 2026-12-01 23:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_outcome'
down_revision = '0006_mirror_version'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=12), nullable=True))


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('outcome')
