"""google push channels

Revision ID: google_0001
Revises: 0001
Create Date: 2026-11-27 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "google_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "google_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendar.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id"),
    )
    with op.batch_alter_table("google_channel") as batch_op:
        batch_op.create_index("ix_google_channel_calendar_id", ["calendar_id"], unique=False)


def downgrade():
    with op.batch_alter_table("google_channel") as batch_op:
        batch_op.drop_index("ix_google_channel_calendar_id")
    op.drop_table("google_channel")
