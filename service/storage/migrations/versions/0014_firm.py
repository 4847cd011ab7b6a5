"""firms and people, audit log, privacy (consent, erasure, retention), encryption at rest
of privileged free text (agendas, notes, matters)

Revision ID: 0014_firm
Revises: 0007_outcome
Create Date: 2026-12-02 00:00:00

Data steps:
- booking.agenda, booking.notes and client.matter are encrypted in place with the newest
  key of ENCRYPTION_KEY (``service.storage.encrypted``); downgrade decrypts them.
"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from service.storage.encrypted import encrypt_rows

revision = '0014_firm'
down_revision = '0007_outcome'
branch_labels = None
depends_on = None

ENCRYPTED = (("booking", ("agenda", "notes")), ("client", ("matter",)))


def _keys() -> str:
    return current_app.config["ENCRYPTION_KEY"]


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths
        op.alter_column('client', 'matter', type_=sa.Text(), existing_nullable=False)
    for table, columns in ENCRYPTED:
        encrypt_rows(bind, table, columns, keys=_keys())


def downgrade():
    bind = op.get_bind()
    for table, columns in ENCRYPTED:
        encrypt_rows(bind, table, columns, keys=_keys(), reverse=True)
    if bind.dialect.name != "sqlite":
        op.alter_column('client', 'matter', type_=sa.String(length=300), existing_nullable=False)
