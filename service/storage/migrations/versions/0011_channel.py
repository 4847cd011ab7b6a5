"""Call channels, reminders, readiness: channel per agreement and booking, the lawyer's
office address and no-show threshold, agenda confirmation, attached documents

Revision ID: 0011_channel
Revises: 0007_outcome
Create Date: 2026-12-02 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_channel'
down_revision = '0014_firm'  # linearised at merge (was 0007_outcome)
branch_labels = None
depends_on = None


def _terms(batch_op):
    batch_op.add_column(sa.Column('channels', sa.String(length=40), nullable=False, server_default='video'))
    batch_op.add_column(sa.Column('agenda_confirm_hours', sa.Integer(), nullable=True))


def upgrade():
    with op.batch_alter_table('lawyer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_address', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('no_show_flag_at', sa.Integer(), nullable=True, server_default='2'))
    with op.batch_alter_table('client', schema=None) as batch_op:
        _terms(batch_op)
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
    with op.batch_alter_table('intake', schema=None) as batch_op:
        _terms(batch_op)
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=False, server_default='video'))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('join_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('video_provider', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('client_tz', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('agenda_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'booking_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('mime', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('stored_as', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('booking_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_file_booking_id'), ['booking_id'], unique=False)


_DROPPED = {
    'booking': ('agenda_confirmed_at', 'client_tz', 'video_provider', 'join_url', 'phone', 'channel'),
    'intake': ('agenda_confirm_hours', 'channels'),
    'client': ('phone', 'agenda_confirm_hours', 'channels'),
    'lawyer': ('no_show_flag_at', 'office_address'),
}


def downgrade():
    op.drop_index('ix_booking_file_booking_id', table_name='booking_file')
    op.drop_table('booking_file')
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in _DROPPED.items():
        for column in columns:
            if sqlite:
                # Native DROP COLUMN (SQLite >= 3.35): batch mode would recreate the tables,
                # which foreign keys to them forbid.
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            else:
                op.drop_column(table, column)
