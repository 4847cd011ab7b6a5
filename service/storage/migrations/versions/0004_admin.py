"""admin area: last status update per client, the lawyer's mail language

Revision ID: 0004_admin
Revises: 0003_intake
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_admin"
down_revision = "0003_intake"  # linearised after merging main (was "0001")
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
    if op.get_bind().dialect.name == "sqlite":
        # Native DROP COLUMN (SQLite >= 3.35): batch mode would recreate the tables,
        # which foreign keys to them forbid.
        op.execute("ALTER TABLE lawyer DROP COLUMN language")
        op.execute("ALTER TABLE client DROP COLUMN status_updated_on")
        return
    op.drop_column("lawyer", "language")
    op.drop_column("client", "status_updated_on")
