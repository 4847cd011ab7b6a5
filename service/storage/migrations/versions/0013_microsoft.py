"""microsoft graph: change subscriptions and pending sign-ins

Revision ID: 0013_microsoft
Revises: 0007_outcome
Create Date: 2026-12-01 23:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0013_microsoft"
down_revision = "0007_outcome"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "microsoft_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=200), nullable=False),
        sa.Column("client_state_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendar.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id"),
    )
    with op.batch_alter_table("microsoft_subscription") as batch_op:
        batch_op.create_index(
            "ix_microsoft_subscription_calendar_id", ["calendar_id"], unique=False
        )
    op.create_table(
        "microsoft_auth_flow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("lawyer_id", sa.Integer(), nullable=False),
        sa.Column("flow_enc", sa.Text(), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lawyer_id"], ["lawyer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_hash"),
    )
    with op.batch_alter_table("microsoft_auth_flow") as batch_op:
        batch_op.create_index("ix_microsoft_auth_flow_expires_at", ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("microsoft_auth_flow") as batch_op:
        batch_op.drop_index("ix_microsoft_auth_flow_expires_at")
    op.drop_table("microsoft_auth_flow")
    with op.batch_alter_table("microsoft_subscription") as batch_op:
        batch_op.drop_index("ix_microsoft_subscription_calendar_id")
    op.drop_table("microsoft_subscription")
