"""Secrets at rest: Fernet with key rotation (``ENCRYPTION_KEY`` = newest key first)."""

from __future__ import annotations

import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from service.core.config import ConfigError


def fernet(keys: str | None = None) -> MultiFernet:
    return _fernet(keys if keys is not None else current_app.config["ENCRYPTION_KEY"])


@functools.lru_cache(maxsize=8)
def _fernet(raw: str) -> MultiFernet:
    """The keys of ``raw`` (newest first), decoded once per value (a rotation is a new
    value): every encrypted column of every row read or written asks."""
    try:
        return MultiFernet([Fernet(k.strip()) for k in raw.split(",") if k.strip()])
    except (ValueError, TypeError, AttributeError):
        raise ConfigError(
            "ENCRYPTION_KEY must be one or more comma-separated Fernet keys"
        ) from None


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ConfigError(
            "a stored secret cannot be decrypted with ENCRYPTION_KEY (wrong or rotated-out key)"
        ) from None


def encrypt_json(value: dict[str, Any]) -> str:
    return encrypt(json.dumps(value))


def decrypt_json(token: str | None) -> dict[str, Any]:
    return json.loads(decrypt(token)) if token else {}


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the newest key."""
    return fernet().rotate(token.encode()).decode()
