"""Signed, short-lived, purpose-bound form tokens for the public booking forms.

The booking UI also runs inside an iframe on the lawyer's site, where third-party
cookies may be blocked; so public forms do not rely on a session cookie for CSRF. The
token binds the form to its purpose and to the link it was served for, and expires.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_AGE_SECONDS = 4 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="public-form")


def issue(purpose: str, subject: str) -> str:
    return _serializer().dumps({"p": purpose, "s": subject})


def valid(token: object, purpose: str, subject: str) -> bool:
    if not isinstance(token, str):
        return False
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return False
    return data == {"p": purpose, "s": subject}
