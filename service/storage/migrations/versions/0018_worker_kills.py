"""outbox_task.kills: how often the worker's supervisor had to kill the process running
the task (a task killed ``outbox.POISON_KILLS`` times is parked as failed)

Revision ID: 0018_worker_kills
Revises: 0010_steer
Create Date: 2026-12-02 03:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_worker_kills'
down_revision = '0019_msfold'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kills', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('outbox_task', schema=None) as batch_op:
        batch_op.drop_column('kills')
