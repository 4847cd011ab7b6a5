"""admin area: last status update per client, the lawyer's mail language

Revision ID: 0004_admin
Revises: google_0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_admin"
down_revision = "google_0001"  # linearised after merging main (was "0001")
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_updated_on", sa.Date(), nullable=True))
    with op.batch_alter_table("lawyer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=5), nullable=False, server_default="en")
        )


def downgrade():
    with op.batch_alter_table("lawyer", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("status_updated_on")
