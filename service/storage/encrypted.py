"""``EncryptedText``: a column type for privileged free text, encrypted at rest.

Agendas, after-call notes, matters (and status letters, uploaded files' names as other
modules adopt it) are written as Fernet tokens under the newest key of
``ENCRYPTION_KEY`` and read back as plain ``str``; ``flask secrets rotate`` re-encrypts
every column of this type (``service.cli.secrets.encrypted_columns``). To encrypt a new
column, declare it ``mapped_column(EncryptedText)`` instead of ``sa.Text`` and add a
data migration that encrypts the existing rows (``encrypt_rows`` below).

The empty string is stored as the empty string (a query like ``notes != ""`` keeps
working; emptiness is all it tells). Ciphertext is random, so a column of this type
cannot be searched, sorted or compared in SQL, only read back.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.core.crypto import decrypt, encrypt, fernet


class EncryptedText(sa.types.TypeDecorator):
    """Text encrypted with Fernet (``service.core.crypto``) on the way in, decrypted on the way out."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        if not isinstance(value, str):
            raise TypeError("EncryptedText takes str")
        return encrypt(value)

    def process_result_value(self, value, dialect):
        if value is None or value == "":
            return value
        return decrypt(value)


def is_encrypted(column: sa.Column) -> bool:
    return isinstance(column.type, EncryptedText)


def encrypt_rows(connection: sa.Connection, table: str, columns: tuple[str, ...],
                 pk: str = "id", keys: str | None = None, reverse: bool = False) -> int:
    """Encrypt (``reverse``: decrypt) ``columns`` of every row of ``table`` in place.

    For data migrations, which see plain tables (no ``EncryptedText``): the values are
    read and written raw. Returns the number of values changed.
    """
    box = fernet(keys)
    meta = sa.Table(table, sa.MetaData(), sa.Column(pk, sa.Integer, primary_key=True),
                    *(sa.Column(c, sa.Text) for c in columns))
    changed = 0
    for row in connection.execute(sa.select(meta)).mappings():
        values = {}
        for name in columns:
            value = row[name]
            if value:
                values[name] = (box.decrypt(value.encode()) if reverse else box.encrypt(value.encode())).decode()
        if values:
            connection.execute(sa.update(meta).where(meta.c[pk] == row[pk]).values(values))
            changed += len(values)
    return changed
