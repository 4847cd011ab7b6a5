"""drop microsoft_auth_flow: Microsoft sign-ins use the shared oauth_binding (signed state)

Microsoft's consent is bound to the browser session and spent once through
``oauth_state_use``, as Google's; what the callback needs of MSAL's flow travels in the
signed, encrypted ``state``. Sign-ins in flight when this runs are dropped (the lawyer
presses "Connect" again); a downgrade brings the table back empty.

Revision ID: 0019_msfold
Revises: 0010_steer
Create Date: 2026-12-02 03:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_msfold'
down_revision = '0010_steer'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('microsoft_auth_flow') as batch_op:
        batch_op.drop_index('ix_microsoft_auth_flow_expires_at')
    op.drop_table('microsoft_auth_flow')


def downgrade():
    op.create_table(
        'microsoft_auth_flow',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        sa.Column('flow_enc', sa.Text(), nullable=False),
        sa.Column('binding_hash', sa.String(length=64), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('state_hash'),
    )
    with op.batch_alter_table('microsoft_auth_flow') as batch_op:
        batch_op.create_index('ix_microsoft_auth_flow_expires_at', ['expires_at'], unique=False)
