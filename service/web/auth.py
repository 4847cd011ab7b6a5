"""Sign-in to the admin area: the session, CSRF; who is signed in, for whom.

Two kinds of people sign in: a lawyer (their own ``Lawyer`` row, as before firms existed)
and a ``User`` of a firm (an assistant or a firm admin). ``current_lawyer()`` is the
lawyer whose data the admin area shows: the signed-in lawyer, or the lawyer an assistant
acts for (their switcher choice, re-checked against their assignments on every request),
or None for a firm admin who is not a lawyer. ``current_person()`` is who signed in,
with their role (``Person``); role checks use it.

Every signed-in browser, of either kind, is one server-side ``AdminSession`` row: the
session cookie (Flask's signed cookie) carries the person's id, ``session_version`` and
a random session id naming the row. Signing out deletes the row, so a copy of the
cookie replayed afterwards is worthless; "sign out everywhere", a new password and a
deactivation delete every row of the person (``usecases.signin.end_sessions``); a row
expires after ``SESSION_HOURS``. The cookie is HttpOnly, SameSite=Lax, and Secure when
``BASE_URL`` is https. Admin forms are CSRF-protected with Flask-WTF; the public booking
forms are not touched (they carry their own signed tokens and work inside third-party
iframes).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, g, session
from flask_wtf.csrf import CSRFError, CSRFProtect

from service.storage.extensions import db
from service.storage.models import AdminSession, Lawyer, User, token_hash, utcnow
from service.usecases import signin
from service.usecases.audit import Actor
from service.web.errors import error_response

csrf = CSRFProtect()

PASSWORD_MIN = signin.PASSWORD_MIN
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

    @app.before_request
    def who_is_asked_afresh():
        """Who signed in is worked out per request. ``g`` lives as long as the app context,
        and a test's requests share the one the test holds: without this, a second browser
        in a test would pass as whoever the previous request signed in."""
        g.pop("person", None)
        g.pop("lawyer", None)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "csrf_failed", exc.description)


hash_password = signin.hash_password


def authenticate(email: str, password: str) -> Lawyer | None:
    """The active lawyer with this e-mail and password, or None (same work either way)."""
    person = signin.find_person(email)
    lawyer = person if isinstance(person, Lawyer) else None
    ok = signin.check_password(lawyer.password_hash if lawyer is not None else None, password)
    return lawyer if ok else None


def forget_request_cache() -> None:
    """Drop per-request values kept in ``g`` (an app context may outlive one request)."""
    g.pop("lawyer", None)
    g.pop("person", None)
    g.pop("csrf_token", None)  # Flask-WTF's signed token for the current session


def log_in(person: Lawyer | User) -> None:
    """Start a session for ``person`` in this browser (commits its ``AdminSession`` row)."""
    _end_server_session()
    session.clear()  # a fresh session: no fixation, a fresh CSRF secret
    forget_request_cache()
    sid = secrets.token_urlsafe(24)
    now = utcnow()
    db.session.execute(sa.delete(AdminSession).where(AdminSession.expires_at <= now))
    owner = {"lawyer_id": person.id} if isinstance(person, Lawyer) else {"user_id": person.id}
    db.session.add(AdminSession(sid_hash=token_hash(sid), created_at=now,
                                expires_at=now + timedelta(hours=SESSION_HOURS), **owner))
    db.session.commit()
    session["lawyer_id" if isinstance(person, Lawyer) else "user_id"] = person.id
    session["session_version"] = person.session_version
    session["sid"] = sid
    session.permanent = True


log_in_person = log_in


def log_out() -> None:
    """End this browser's session here and on the server (a copied cookie dies with it)."""
    _end_server_session()
    session.clear()
    forget_request_cache()


def _end_server_session() -> None:
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        db.session.execute(sa.delete(AdminSession).where(AdminSession.sid_hash == token_hash(sid)))
        db.session.commit()


def _server_session_alive(person: Lawyer | User) -> bool:
    """Whether this browser's cookie names a live session row of ``person``."""
    sid = session.get("sid")
    if not isinstance(sid, str) or not sid or len(sid) > 64:
        return False
    row = db.session.scalar(sa.select(AdminSession).where(AdminSession.sid_hash == token_hash(sid)))
    if row is None or row.expires_at <= utcnow():
        return False
    if isinstance(person, Lawyer):
        return row.lawyer_id == person.id and row.user_id is None
    return row.user_id == person.id and row.lawyer_id is None


def remember_device(response, cookie_value: str) -> None:
    """Mark this browser as one the lawyer signs in from (``login_throttle``)."""
    from service.web.login_throttle import DEVICE_COOKIE, DEVICE_DAYS

    app = current_app
    response.set_cookie(DEVICE_COOKIE, cookie_value, max_age=DEVICE_DAYS * 86400, path="/admin",
                        httponly=True, secure=app.config["SESSION_COOKIE_SECURE"], samesite="Lax")


def current_lawyer() -> Lawyer | None:
    """The lawyer being acted for: the signed-in lawyer, or the assistant's switcher choice
    among the lawyers assigned to them; None if nobody (or a firm admin only) signed in."""
    if "user_id" in session:
        if "lawyer" not in g:
            person = current_person()
            g.lawyer = _acting_for(person.user) if person is not None and person.user else None
        return g.lawyer
    if "lawyer" not in g:
        lawyer = None
        lawyer_id, version = session.get("lawyer_id"), session.get("session_version")
        if isinstance(lawyer_id, int) and isinstance(version, int):
            found = db.session.get(Lawyer, lawyer_id)
            if (found is not None and found.active and found.session_version == version
                    and found.password_hash and _server_session_alive(found)):
                lawyer = found
        if lawyer is None and "lawyer_id" in session:
            session.clear()
        g.lawyer = lawyer
    return g.lawyer


def change_password(person: Lawyer | User, new_password: str) -> None:
    """Set a new password and end every session of the person (the caller commits)."""
    signin.set_password(person, new_password)


def sign_out_everywhere(person: Lawyer | User) -> None:
    """End every session of ``person`` (the caller commits)."""
    signin.end_sessions(person)


# -- people of a firm: assistants and firm admins ------------------------------------


@dataclass(frozen=True)
class Person:
    """Who signed in: a lawyer (``lawyer``) or a firm's user (``user``), with their role."""

    role: str  # lawyer, assistant, admin
    lawyer: Lawyer | None = None
    user: User | None = None

    @property
    def firm_id(self) -> int | None:
        return self.lawyer.firm_id if self.lawyer is not None else self.user.firm_id

    @property
    def is_firm_admin(self) -> bool:
        return self.role == "admin" or (self.lawyer is not None and self.lawyer.firm_admin)

    @property
    def name(self) -> str:
        row = self.lawyer or self.user
        return row.name or row.email

    @property
    def email(self) -> str:
        return (self.lawyer or self.user).email

    def actor(self) -> Actor:
        """This person as the audit log names them."""
        if self.lawyer is not None:
            return Actor("lawyer", self.lawyer.id, self.lawyer.name)
        return Actor(self.role, self.user.id, self.user.name or self.user.email)


def authenticate_person(email: str, password: str) -> Lawyer | User | None:
    """The active lawyer or firm user with this e-mail and password, or None (same work
    either way)."""
    person = signin.find_person(email)
    ok = signin.check_password(person.password_hash if person is not None else None, password)
    return person if ok else None


def current_person() -> Person | None:
    """Who signed in, with their role; None if nobody (or the session is outdated)."""
    if "person" not in g:
        person = None
        user_id, version = session.get("user_id"), session.get("session_version")
        if "user_id" in session:
            found = db.session.get(User, user_id) if isinstance(user_id, int) else None
            if (found is not None and found.active and isinstance(version, int)
                    and found.session_version == version and found.password_hash
                    and _server_session_alive(found)):
                person = Person(found.role, user=found)
            else:
                session.clear()
        else:
            lawyer = current_lawyer()
            if lawyer is not None:
                person = Person("lawyer", lawyer=lawyer)
        g.person = person
    return g.person


def assigned_lawyers(user: User) -> list[Lawyer]:
    """The lawyers an assistant works for (never outside the assistant's firm)."""
    if user.role != "assistant":
        return []
    return [lawyer for lawyer in user.lawyers if lawyer.firm_id == user.firm_id]


def _acting_for(user: User) -> Lawyer | None:
    lawyers = assigned_lawyers(user)
    chosen = session.get("acting_lawyer_id")
    for lawyer in lawyers:
        if lawyer.id == chosen:
            return lawyer
    return lawyers[0] if lawyers else None


def act_for(lawyer_id: int) -> bool:
    """The assistant's switcher: act for this lawyer from now on, if assigned to them."""
    person = current_person()
    if person is None or person.user is None:
        return False
    if not any(lawyer.id == lawyer_id for lawyer in assigned_lawyers(person.user)):
        return False
    session["acting_lawyer_id"] = lawyer_id
    g.pop("lawyer", None)
    return True
