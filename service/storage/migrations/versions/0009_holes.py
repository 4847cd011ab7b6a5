"""security holes: server-side admin sessions, single-use OAuth states, intake holds
(e-mail confirmation, lawyer approval), the no-overlap guard counting every held slot

Revision ID: 0009_holes
Revises: 0007_outcome
Create Date: 2026-12-01 23:55:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_holes'
down_revision = '0015_read_warnings'  # linearised at merge (was 0007_outcome)
branch_labels = None
depends_on = None

_CHECK = (
    "SELECT RAISE(ABORT, 'booking_no_overlap') WHERE EXISTS ("
    "SELECT 1 FROM booking b WHERE b.lawyer_id = NEW.lawyer_id "
    "AND b.status {op} AND b.id IS NOT NEW.id "
    "AND b.blocked_start < NEW.blocked_end AND NEW.blocked_start < b.blocked_end)"
)


def _guard(condition: str) -> None:
    """(Re)create the no-overlap guard for bookings whose status matches ``condition``."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE booking DROP CONSTRAINT IF EXISTS booking_no_overlap")
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
            "(lawyer_id WITH =, tstzrange(blocked_start, blocked_end, '[)') WITH &&) "
            f"WHERE (status {condition})"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_update")
        check = _CHECK.format(op=condition)
        for event in ("insert", "update"):
            op.execute(
                f"CREATE TRIGGER booking_no_overlap_{event} BEFORE {event.upper()} ON booking "
                f"WHEN NEW.status {condition} BEGIN {check}; END"
            )


def upgrade():
    op.add_column('lawyer', sa.Column('approve_new_clients', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column('booking', sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('booking', sa.Column('confirm_token_hash', sa.String(length=64), nullable=True))
    op.create_index('uq_booking_confirm_token_hash', 'booking', ['confirm_token_hash'], unique=True)
    op.create_table(
        'admin_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sid_hash', sa.String(length=64), nullable=False),
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sid_hash'),
    )
    op.create_index('ix_admin_session_lawyer_id', 'admin_session', ['lawyer_id'], unique=False)
    op.create_table(
        'oauth_state_use',
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('state_hash'),
    )
    op.create_index('ix_oauth_state_use_expires_at', 'oauth_state_use', ['expires_at'], unique=False)
    _guard("<> 'cancelled'")


def downgrade():
    _guard("= 'confirmed'")
    op.drop_index('ix_oauth_state_use_expires_at', table_name='oauth_state_use')
    op.drop_table('oauth_state_use')
    op.drop_index('ix_admin_session_lawyer_id', table_name='admin_session')
    op.drop_table('admin_session')
    op.drop_index('uq_booking_confirm_token_hash', table_name='booking')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE booking DROP COLUMN confirm_token_hash")
        op.execute("ALTER TABLE booking DROP COLUMN hold_until")
        op.execute("ALTER TABLE lawyer DROP COLUMN approve_new_clients")
    else:
        op.drop_column('booking', 'confirm_token_hash')
        op.drop_column('booking', 'hold_until')
        op.drop_column('lawyer', 'approve_new_clients')
