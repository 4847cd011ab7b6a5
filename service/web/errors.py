"""Errors: every failure reaches the user as a clear 4xx message, never a traceback.

API routes (``/api/``) answer JSON ``{"error": {"code", "message"}}``; pages answer a
short HTML page in the user's language.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from service.core.logredact import redact
from service.storage.db_setup import database_away
from service.storage.extensions import db
from service.usecases.errors import Refused
from service.web.error_words import page_error

log = logging.getLogger(__name__)

#: The HTTP status of each reason a use case refuses with (the one place that chooses).
STATUS_BY_REASON = {
    "unknown_token": 404,
    "unknown_client": 404,
    "unknown_intake": 404,
    "link_spent": 410,
    "client_inactive": 403,
    "intake_busy": 429,
    "hold_expired": 410,
    "not_requested": 409,
    "already_cancelled": 409,
    "too_late": 409,
    "calendar_unavailable": 503,
    "availability_unknown": 503,
    "unknown_letter": 404,
    "client_archived": 409,
    "already_answered": 409,
    "urgent_pending": 409,
    # firms, people and privacy (service.usecases.firms, .privacy)
    "unknown_invitation": 404,
    "unknown_link": 404,
    "unknown_person": 404,
    "last_admin": 409,
    "not_yourself": 409,
    "unknown_lawyer": 404,
    "unknown_firm": 404,
    "slug_taken": 409,
    "email_taken": 409,
    "already_joined": 409,
    "lawyer_required": 422,
    "consent_required": 422,
    "prep_started": 409,
    "confirm_closed": 409,
    "not_needed": 409,
    "too_many_files": 409,
    "unknown_file": 404,
    "file_too_large": 413,
    "unknown_booking": 404,
    "call_over": 409,
    "call_ahead": 409,
    "change_not_needed": 409,
    "change_asked": 409,
    "link_replaced": 410,
}
#: Families of reasons: every ``slot_<why>`` (a start that cannot be booked) and every
#: ``invalid_<field>`` (malformed input).
STATUS_BY_PREFIX = {"slot_": 409, "invalid_": 422}


class AppError(Refused):
    """A refusal of the web layer itself (request parsing, OAuth callbacks), which knows
    its HTTP status: status, machine code, human message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(code, message)
        self.status = status


def status_of(exc: Refused) -> int:
    """The HTTP status that answers ``exc``."""
    if isinstance(exc, AppError):
        return exc.status
    status = STATUS_BY_REASON.get(exc.reason)
    if status is None:
        status = next((s for prefix, s in STATUS_BY_PREFIX.items() if exc.reason.startswith(prefix)), None)
    if status is None:
        raise LookupError(f"no HTTP status for the reason {exc.reason!r}: add it to STATUS_BY_REASON")
    return status


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/hooks/")


def error_response(status: int, code: str, message: str, *, generic: bool = False):
    """JSON for the API, else a short page in the user's language.

    ``generic``: the message is a library default (Werkzeug's), so the page shows its own
    translated wording for the status instead.
    """
    if _wants_json():
        response = jsonify(error={"code": code, "message": message})
    else:
        response = render_template("error.html", status=status, message=page_error(status, code, message, generic))
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(Refused)
    def refused(exc: Refused):
        return error_response(status_of(exc), exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        generic = not exc.description or exc.description == type(exc).description
        response = make_response(
            error_response(exc.code or 500, code, exc.description or exc.name, generic=generic)
        )
        for name, value in exc.get_headers():  # e.g. Allow on 405, Retry-After on 429
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(sa.exc.DBAPIError)
    def database_error(exc: sa.exc.DBAPIError):
        if not database_away(exc):
            return unexpected(exc)
        log.warning("database unavailable on %s %s: %s", request.method, redact(request.path),
                    type(exc.orig).__name__)
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            db.session.remove()
        response = make_response(error_response(
            503, "database_unavailable",
            "The service is unavailable right now; please try again shortly.", generic=True))
        response.headers["Retry-After"] = "10"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        return error_response(500, "internal_error", InternalServerError.description, generic=True)
