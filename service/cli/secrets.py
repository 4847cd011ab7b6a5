"""``flask secrets rotate``: re-encrypt every secret at rest under the newest key.

Rotation: put a new key first in ``ENCRYPTION_KEY`` ("new,old") and deploy; run
``flask secrets rotate``; then drop the old key. Encrypted columns are found by name
(every mapped column ending in ``_enc``, and every column of type
``service.storage.encrypted.EncryptedText``: agendas, notes, matters...), so a new one
is covered without listing it.
All values are rewritten in one transaction: if any cannot be decrypted with the
configured keys, nothing changes and the command names the row.
"""

from __future__ import annotations

from collections.abc import Iterator

import click
import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask.cli import AppGroup

from service.core.crypto import fernet
from service.storage.db_setup import write_transaction
from service.storage.encrypted import is_encrypted
from service.storage.extensions import db

secrets_cli = AppGroup("secrets", help="Secrets at rest (Fernet, ENCRYPTION_KEY).")

BATCH = 500


def encrypted_columns() -> Iterator[tuple[sa.Table, sa.Column]]:
    """Every encrypted column of every table: the ``*_enc`` naming convention."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_enc") or is_encrypted(column):
                yield table, column


@secrets_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret under the newest key of ENCRYPTION_KEY."""
    keys = fernet()
    counts: dict[str, int] = {}
    with write_transaction():
        for table, column in encrypted_columns():
            (pk,) = table.primary_key.columns
            raw = sa.type_coerce(column, sa.Text)  # the stored token, not the decrypted text
            rows = db.session.execute(
                sa.select(pk, raw).where(column.is_not(None), raw != "")
            ).all()
            updates = []
            for row_id, value in rows:
                try:
                    updates.append({"row_id": row_id, "value": keys.rotate(value.encode()).decode()})
                except InvalidToken:
                    raise click.ClickException(
                        f"{table.name}.{column.name} of row {row_id} cannot be decrypted with any "
                        "key in ENCRYPTION_KEY; nothing was changed"
                    ) from None
            statement = (
                sa.update(table)
                .where(pk == sa.bindparam("row_id"))
                .values({column.name: sa.bindparam("value", type_=sa.Text)})
            )
            for start in range(0, len(updates), BATCH):
                db.session.execute(statement, updates[start : start + BATCH])
            counts[f"{table.name}.{column.name}"] = len(updates)
    detail = ", ".join(f"{name} {n}" for name, n in counts.items())
    click.echo(
        f"Re-encrypted {sum(counts.values())} secrets under the newest key ({detail}). "
        "Old keys can be dropped from ENCRYPTION_KEY once every process uses the new one."
    )
