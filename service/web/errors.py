"""Errors: every failure reaches the user as a clear 4xx message, never a traceback.

API routes (``/api/``) answer JSON ``{"error": {"code", "message"}}``; pages answer a
short HTML page in the user's language.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from service.core.logredact import redact

log = logging.getLogger(__name__)


class AppError(Exception):
    """A refusal worded for the user: HTTP status, machine code, human message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
        from service.usecases.wording import page_error

        response = render_template("error.html", status=status, message=page_error(status, code, message, generic))
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        return error_response(exc.status, exc.code, exc.message)

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

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        return error_response(500, "internal_error", InternalServerError.description, generic=True)
