"""people: server-side sessions for firm users too, one-time sign-in/reset links, lawyers
deactivated by their firm admin

Revision ID: 0017_people_sessions
Revises: 0010_steer
Create Date: 2026-12-02 03:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_people_sessions'
down_revision = '0018_worker_kills'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('admin_session') as batch:
        batch.alter_column('lawyer_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_admin_session_user_id', 'app_user', ['user_id'], ['id'])
        batch.create_index('ix_admin_session_user_id', ['user_id'])
    op.add_column('lawyer', sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        'sign_in_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('lawyer_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id']),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_sign_in_link_expires_at', 'sign_in_link', ['expires_at'])


def downgrade():
    op.drop_index('ix_sign_in_link_expires_at', table_name='sign_in_link')
    op.drop_table('sign_in_link')
    op.drop_column('lawyer', 'active')
    op.execute("DELETE FROM admin_session WHERE lawyer_id IS NULL")
    with op.batch_alter_table('admin_session') as batch:
        batch.drop_index('ix_admin_session_user_id')
        batch.drop_constraint('fk_admin_session_user_id', type_='foreignkey')
        batch.drop_column('user_id')
        batch.alter_column('lawyer_id', existing_type=sa.Integer(), nullable=False)
