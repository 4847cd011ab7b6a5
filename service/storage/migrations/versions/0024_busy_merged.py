"""busy_merged: each lawyer's busy time merged by the writers, stamped with the mirror state

Revision ID: 0024_busy_merged
Revises: 0021_cache_busy_long
Create Date: 2026-12-02 07:30:00

A slot-cache miss of a lawyer with a big calendar fetched and merged thousands of busy
rows (#19). Every session transaction that writes a lawyer's busy rows or calendars now
merges them at its commit into this one row (``service.storage.busy_merged``), with the
state of the mirror it was merged from (``stamp``); a miss reads it only while that state
is current. The table starts empty: until a lawyer's next sync (any commit that touches
the calendars) a miss reads the rows as before.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024_busy_merged'
down_revision = '0021_cache_busy_long'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'busy_merged',
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.Text(), nullable=True),
        sa.Column('blocks', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('lawyer_id'),
    )


def downgrade():
    op.drop_table('busy_merged')
