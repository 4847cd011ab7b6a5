"""calendar.mirror_version: moved by every write of busy rows (the slot cache's key)

Revision ID: 0006_mirror_version
Revises: 0005_speed
Create Date: 2026-12-01 22:30:00

The slot cache's fingerprint used max(busy_block.id) plus the rule "whoever changes
busy rows moves synced_at". ``service.storage.busy_mirror`` now moves
``calendar.mirror_version`` for every write, so the max(id) probe and its index go.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_mirror_version'
down_revision = '0005_speed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mirror_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('busy_block', schema=None) as batch_op:
        batch_op.drop_index('ix_busy_lawyer_id')


def downgrade():
    with op.batch_alter_table('busy_block', schema=None) as batch_op:
        batch_op.create_index('ix_busy_lawyer_id', ['lawyer_id', 'id'], unique=False)
    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.drop_column('mirror_version')
