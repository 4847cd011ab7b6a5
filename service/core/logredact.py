"""Keeping bearer secrets out of logs.

Client links carry their token in the path (``/b/<token>``, ``/m/<token>``; so do
invitations, intake confirmations and the mailed password-reset and sign-in links), the slots
API in the query (``?token=``), an OAuth callback its ``code``/``state``; a server's
access log would keep them all. A filter on the access and error loggers (werkzeug's,
gunicorn's) rewrites such lines, and ``redact`` cleans error texts we log or store.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

REDACTED = "[redacted]"

_PATH_TOKEN = re.compile(r"(/(?:[bm]|invite|i/confirm|admin/reset|admin/signin)/)[^/\s?#\"']+")
_QUERY_SECRET = re.compile(
    r"((?:token|code|state|access_token|refresh_token|password|secret|key)=)[^&\s\"'#]+",
    re.IGNORECASE,
)
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)

#: Loggers that write request lines or server errors.
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "flask-limiter")


def redact(text: str) -> str:
    """``text`` with link tokens, secret query values and URL credentials replaced."""
    text = _PATH_TOKEN.sub(rf"\g<1>{REDACTED}", text)
    text = _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", text)
    return _URL_CREDENTIALS.sub(rf"\g<1>{REDACTED}@", text)


class RedactFilter(logging.Filter):
    """Rewrites a record's message when it contains something secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactFilter()


def init_app(app: Flask) -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
