"""Status letters, the week's commitments, reserved urgent time, the demand line

Lawyer: letter templates (en/ru), minutes per letter, weekly capacity, reserved urgent
windows, whether the booking page shows demand. Booking: after-call notes marked "for the
letter". New tables: status_letter (one text column, ready for encryption at rest) and
urgent_request.

Revision ID: 0012_letters
Revises: 0007_outcome
Create Date: 2026-12-01 23:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_letters'
down_revision = '0009_holes'  # linearised at merge (was 0007_outcome)
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('lawyer', sa.Column('letter_template_en', sa.Text(), nullable=True))
    op.add_column('lawyer', sa.Column('letter_template_ru', sa.Text(), nullable=True))
    op.add_column('lawyer', sa.Column('letter_minutes', sa.Integer(), nullable=False, server_default='20'))
    op.add_column('lawyer', sa.Column('capacity_min', sa.Integer(), nullable=True))
    op.add_column('lawyer', sa.Column('reserve_windows', sa.String(length=1000), nullable=False,
                                      server_default=''))
    op.add_column('lawyer', sa.Column('show_demand', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.add_column('booking', sa.Column('for_letter', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        'status_letter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['client.id']),
        sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_status_letter_client_sent', 'status_letter', ['client_id', 'sent_at'])
    op.create_table(
        'urgent_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('callback_link_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['client.id']),
        sa.ForeignKeyConstraint(['callback_link_id'], ['callback_link.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_urgent_request_client_id', 'urgent_request', ['client_id'])


def downgrade():
    op.drop_index('ix_urgent_request_client_id', table_name='urgent_request')
    op.drop_table('urgent_request')
    op.drop_index('ix_status_letter_client_sent', table_name='status_letter')
    op.drop_table('status_letter')
    # Native DROP COLUMN (SQLite >= 3.35 as well): batch mode would recreate the tables,
    # which the foreign keys to them forbid.
    op.drop_column('booking', 'for_letter')
    for name in ('show_demand', 'reserve_windows', 'capacity_min', 'letter_minutes',
                 'letter_template_ru', 'letter_template_en'):
        op.drop_column('lawyer', name)
