"""firms and people, audit log, privacy (consent, erasure, retention), encryption at rest
of privileged free text (agendas, notes, matters)

Revision ID: 0014_firm
Revises: 0007_outcome
Create Date: 2026-12-02 00:00:00

Data steps:
- booking.agenda, booking.notes and client.matter are encrypted in place with the newest
  key of ENCRYPTION_KEY (``service.storage.encrypted``); downgrade decrypts them.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

from service.storage.encrypted import encrypt_rows

revision = '0014_firm'
down_revision = '0012_letters'  # linearised at merge (was 0007_outcome)
branch_labels = None
depends_on = None

ENCRYPTED = (("booking", ("agenda", "notes")), ("client", ("matter",)),
             ("status_letter", ("body",)))  # the letters of 0012_letters (merged before)


def _keys() -> str:
    return current_app.config["ENCRYPTION_KEY"]


APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
)
APPEND_ONLY_POSTGRESQL = (
    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
)


def _audit_upgrade(bind):
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=True),
    sa.Column('lawyer_id', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_lawyer_at', 'audit_event', ['lawyer_id', 'at'])
    op.create_index('ix_audit_firm_at', 'audit_event', ['firm_id', 'at'])
    for statement in APPEND_ONLY_SQLITE if bind.dialect.name == "sqlite" else APPEND_ONLY_POSTGRESQL:
        op.execute(statement)


def _audit_downgrade(bind):
    op.drop_table('audit_event')  # its triggers go with it
    if bind.dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")


def _firm_upgrade(bind):
    op.create_table('firm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('privacy_text_en', sa.Text(), server_default='', nullable=False),
    sa.Column('privacy_text_ru', sa.Text(), server_default='', nullable=False),
    sa.Column('privacy_url', sa.String(length=500), server_default='', nullable=False),
    sa.Column('privacy_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('consent_required', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug'),
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firm.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    )
    op.create_index('ix_app_user_firm_id', 'app_user', ['firm_id'])
    # Plain ADD COLUMN (no table rebuild: on SQLite that would trip the foreign keys of
    # the rows pointing at lawyer and client); SQLite gets lawyer.firm_id without its FK.
    sqlite = bind.dialect.name == "sqlite"
    op.add_column('lawyer', sa.Column('firm_id', sa.Integer(), nullable=True))
    op.add_column('lawyer', sa.Column('firm_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('lawyer', sa.Column('calendar_agenda', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_index('ix_lawyer_firm_id', 'lawyer', ['firm_id'])
    if not sqlite:
        op.create_foreign_key('fk_lawyer_firm', 'lawyer', 'firm', ['firm_id'], ['id'])
    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lawyer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'lawyer_id'),
    )
    op.create_index('ix_assignment_user_id', 'assignment', ['user_id'])
    op.create_index('ix_assignment_lawyer_id', 'assignment', ['lawyer_id'])
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('lawyer_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firm.id'], ),
    sa.ForeignKeyConstraint(['lawyer_id'], ['lawyer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_invitation_firm_id', 'invitation', ['firm_id'])
    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['firm_id'], ['firm.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_consent_client_id', 'consent', ['client_id'])
    op.add_column('client', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    # Existing installations: every lawyer joins one default firm, administered by the
    # first lawyer; each lawyer keeps signing in with their own row, as before.
    first = bind.execute(sa.text("SELECT min(id) FROM lawyer")).scalar()
    if first is not None:
        bind.execute(sa.text(
            "INSERT INTO firm (name, slug, privacy_text_en, privacy_text_ru, privacy_url, privacy_version, "
            "consent_required, created_at) VALUES ('Counsel Hours', 'firm', '', '', '', 0, false, :now)"),
            {"now": datetime.now(UTC) if bind.dialect.name != "sqlite" else datetime.now(UTC).replace(tzinfo=None)})
        firm = bind.execute(sa.text("SELECT min(id) FROM firm")).scalar()
        bind.execute(sa.text("UPDATE lawyer SET firm_id = :firm"), {"firm": firm})
        bind.execute(sa.text("UPDATE lawyer SET firm_admin = true WHERE id = :first"), {"first": first})


def _drop_column(bind, table: str, column: str) -> None:
    if bind.dialect.name == "sqlite":  # ALTER TABLE DROP COLUMN (3.35+), no rebuild
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def _firm_downgrade(bind):
    _drop_column(bind, 'client', 'erased_at')
    op.drop_table('consent')
    op.drop_table('invitation')
    op.drop_table('assignment')
    op.drop_index('ix_lawyer_firm_id', table_name='lawyer')
    if bind.dialect.name != "sqlite":
        op.drop_constraint('fk_lawyer_firm', 'lawyer', type_='foreignkey')
    for column in ('calendar_agenda', 'firm_admin', 'firm_id'):
        _drop_column(bind, 'lawyer', column)
    op.drop_table('app_user')
    op.drop_table('firm')


def upgrade():
    bind = op.get_bind()
    _firm_upgrade(bind)
    _audit_upgrade(bind)
    if bind.dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths
        op.alter_column('client', 'matter', type_=sa.Text(), existing_nullable=False)
    for table, columns in ENCRYPTED:
        encrypt_rows(bind, table, columns, keys=_keys())


def downgrade():
    bind = op.get_bind()
    _audit_downgrade(bind)
    _firm_downgrade(bind)
    for table, columns in ENCRYPTED:
        encrypt_rows(bind, table, columns, keys=_keys(), reverse=True)
    if bind.dialect.name != "sqlite":
        op.alter_column('client', 'matter', type_=sa.String(length=300), existing_nullable=False)
