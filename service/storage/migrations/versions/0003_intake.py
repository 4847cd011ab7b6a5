"""intake agreements published under a public slug

Revision ID: 0003_intake
Revises: google_0001
Create Date: 2026-11-27 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_intake'
down_revision = 'google_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('intake',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lawyer_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('windows', sa.String(length=1000), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('prep_min', sa.Integer(), nullable=False),
    sa.Column('buffer_min', sa.Integer(), nullable=False),
    sa.Column('notice_hours', sa.Integer(), nullable=False),
    sa.Column('notice_next_working_day', sa.Boolean(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('max_per_week', sa.Integer(), nullable=True),
    sa.Column('max_per_month', sa.Integer(), nullable=True),
    sa.Column('step_min', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_lawyer_id'), ['lawyer_id'], unique=False)

    # The intake a client came from. SQLite cannot ALTER constraints, but it can add a
    # column with an inline REFERENCES clause (and must not copy-and-move ``client``,
    # which bookings reference).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE client ADD COLUMN intake_id INTEGER REFERENCES intake (id)")
    else:
        op.add_column('client', sa.Column('intake_id', sa.Integer(), nullable=True))
        op.create_foreign_key('client_intake_id_fkey', 'client', 'intake', ['intake_id'], ['id'])
    op.create_index('ix_client_intake_id', 'client', ['intake_id'], unique=False)


def downgrade():
    op.drop_index('ix_client_intake_id', table_name='client')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE client DROP COLUMN intake_id")
    else:
        op.drop_constraint('client_intake_id_fkey', 'client', type_='foreignkey')
        op.drop_column('client', 'intake_id')
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_lawyer_id'))
    op.drop_table('intake')
