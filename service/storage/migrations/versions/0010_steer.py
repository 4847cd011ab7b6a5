"""The lawyer steers calls: who changed a booking last and why, when it moved, who booked
it and whether outside the agreement; clients' requests for a change inside the notice; the client's replaced link

Revision ID: 0010_steer
Revises: 0007_outcome
Create Date: 2026-12-01 23:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_steer'
down_revision = '0011_channel'  # linearised at merge (was 0007_outcome)
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch copy-and-move: that would drop SQLite's no-overlap triggers).
    op.add_column('booking', sa.Column('booked_by', sa.String(length=10), nullable=False, server_default='client'))
    op.add_column('booking', sa.Column('outside_terms', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('booking', sa.Column('changed_by', sa.String(length=10), nullable=True))
    op.add_column('booking', sa.Column('change_reason', sa.Text(), nullable=True))
    op.add_column('booking', sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('client', sa.Column('replaced_token_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_client_replaced_token_hash', 'client', ['replaced_token_hash'], unique=False)
    op.create_table(
        'change_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id']),
        sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('change_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_request_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_request_lawyer_id'), ['lawyer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('change_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_request_lawyer_id'))
        batch_op.drop_index(batch_op.f('ix_change_request_booking_id'))
    op.drop_table('change_request')
    op.drop_index('ix_client_replaced_token_hash', table_name='client')
    op.drop_column('client', 'replaced_token_hash')
    for column in ('moved_at', 'change_reason', 'changed_by', 'outside_terms', 'booked_by'):
        op.drop_column('booking', column)  # SQLite 3.35+: DROP COLUMN in place, triggers kept
