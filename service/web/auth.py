"""The lawyer's sign-in to the admin area: passwords, the session, CSRF.

The session cookie (Flask's signed cookie) carries the lawyer's id and
``session_version``; changing the password bumps the version, which signs the lawyer
out everywhere. The cookie is HttpOnly, SameSite=Lax, and Secure when ``BASE_URL`` is
https. Admin forms are CSRF-protected with Flask-WTF; the public booking forms are not
touched (they carry their own signed tokens and work inside third-party iframes).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import Flask, g, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash

from service.storage.extensions import db
from service.storage.models import Lawyer
from service.web.errors import error_response

csrf = CSRFProtect()

PASSWORD_MIN = 10
SESSION_HOURS = 12


def init_app(app: Flask) -> None:
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=SESSION_HOURS)
    # CSRF is checked by the admin blueprint itself (``csrf.protect()``), not app-wide.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", SESSION_HOURS * 3600)
    csrf.init_app(app)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "csrf_failed", exc.description)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> Lawyer | None:
    """The lawyer with this e-mail and password, or None (same work either way)."""
    lawyer = db.session.scalar(
        sa.select(Lawyer).where(sa.func.lower(Lawyer.email) == email.strip().lower())
    )
    stored = lawyer.password_hash if lawyer is not None and lawyer.password_hash else None
    ok = check_password_hash(stored or _dummy_hash(), password)
    return lawyer if ok and stored else None


def forget_request_cache() -> None:
    """Drop per-request values kept in ``g`` (an app context may outlive one request)."""
    g.pop("lawyer", None)
    g.pop("csrf_token", None)  # Flask-WTF's signed token for the current session


def log_in(lawyer: Lawyer) -> None:
    session.clear()  # a fresh session: no fixation, a fresh CSRF secret
    forget_request_cache()
    session["lawyer_id"] = lawyer.id
    session["session_version"] = lawyer.session_version
    session.permanent = True


def log_out() -> None:
    session.clear()
    forget_request_cache()


def current_lawyer() -> Lawyer | None:
    """The signed-in lawyer, or None if the session is missing or outdated."""
    if "lawyer" not in g:
        lawyer = None
        lawyer_id, version = session.get("lawyer_id"), session.get("session_version")
        if isinstance(lawyer_id, int) and isinstance(version, int):
            found = db.session.get(Lawyer, lawyer_id)
            if found is not None and found.session_version == version and found.password_hash:
                lawyer = found
        if lawyer is None and "lawyer_id" in session:
            session.clear()
        g.lawyer = lawyer
    return g.lawyer


def change_password(lawyer: Lawyer, new_password: str) -> None:
    """Set a new password and sign out every other session (the caller commits)."""
    lawyer.password_hash = hash_password(new_password)
    lawyer.session_version += 1


def sign_out_everywhere(lawyer: Lawyer) -> None:
    lawyer.session_version += 1
