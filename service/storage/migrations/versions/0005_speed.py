"""indexes for the slot cache's fingerprint query

Revision ID: 0005_speed
Revises: 0004_admin (was 0001; linearised after merging main)
Create Date: 2026-11-27 12:00:00

The fingerprint (``service.usecases.slot_cache``) runs on every slots read:
max(busy_block.id) of a lawyer becomes one index probe instead of a scan of all the
lawyer's busy rows, and the aggregate over the lawyer's relevant confirmed bookings
is answered from the index alone.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005_speed'
down_revision = '0004_admin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('busy_block', schema=None) as batch_op:
        batch_op.create_index('ix_busy_lawyer_id', ['lawyer_id', 'id'], unique=False)
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(
            'ix_booking_lawyer_status_end',
            ['lawyer_id', 'status', 'blocked_end', 'id', 'sequence'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_lawyer_status_end')
    with op.batch_alter_table('busy_block', schema=None) as batch_op:
        batch_op.drop_index('ix_busy_lawyer_id')
