"""Who may sign in, and the ways back in: passwords, the end of sessions, mailed links.

Two kinds of people sign in (``service.web.auth`` has the browser's side): a lawyer
(their ``Lawyer`` row) and a firm's ``User`` (assistant, firm admin). Every signed-in
browser is one ``AdminSession`` row; ending a person's sessions deletes their rows (and
bumps ``session_version``, which outdated cookies carry), so a copied cookie is dead.

Mailed one-time links (``SignInLink``, only the token's hash stored, the token itself in
the outbox task encrypted): ``reset`` lets the owner of the address choose a new
password (ending every session), ``signin`` signs them in once (the way in while failed
attempts spread over many addresses lock the account). Asking for a link answers the
same whether or not the address signs in (``request_link`` returns nothing).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from service.core import urls
from service.core.crypto import encrypt
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import AdminSession, Lawyer, SignInLink, User, new_token, token_hash
from service.usecases import audit
from service.usecases.errors import Refused

PASSWORD_MIN = 10
PURPOSES = ("reset", "signin")
LINK_MINUTES = {"reset": 60, "signin": 30}
ENDPOINTS = {"reset": "admin.reset_password", "signin": "admin.sign_in_link"}
EMAIL_MAX = 320

Person = Lawyer | User


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_password(stored: str | None, password: str) -> bool:
    """``password`` against ``stored`` (the same work when there is no stored hash)."""
    ok = check_password_hash(stored or _dummy_hash(), password or "")
    return bool(ok and stored)


def find_person(email: str) -> Person | None:
    """The active lawyer or active firm user signing in with ``email`` (case-insensitive)."""
    email = (email or "").strip().lower()
    if not email or len(email) > EMAIL_MAX:
        return None
    lawyer = db.session.scalar(sa.select(Lawyer).where(sa.func.lower(Lawyer.email) == email))
    if lawyer is not None:
        return lawyer if lawyer.active else None
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email, User.active.is_(True)))


def subject_of(person: Person) -> audit.Subject:
    if isinstance(person, Lawyer):
        return audit.Subject("lawyer", person.id, person.id)
    return audit.Subject("app_user", person.id)


def firm_of(person: Person) -> int | None:
    return person.firm_id


def actor_of(person: Person) -> audit.Actor:
    if isinstance(person, Lawyer):
        return audit.Actor("lawyer", person.id, person.name)
    return audit.Actor(person.role, person.id, person.name or person.email)


def sessions_of(person: Person):
    """The ``AdminSession`` rows of ``person`` (a where-clause)."""
    if isinstance(person, Lawyer):
        return AdminSession.lawyer_id == person.id
    return AdminSession.user_id == person.id


def end_sessions(person: Person) -> None:
    """End every session of ``person``, wherever signed in (the caller commits)."""
    person.session_version = (person.session_version or 1) + 1
    db.session.execute(sa.delete(AdminSession).where(sessions_of(person)))


def set_password(person: Person, password: str) -> None:
    """A new password; every session of the person ends (the caller commits)."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise Refused("invalid_password", f"The password needs at least {PASSWORD_MIN} characters.")
    if len(password) > 1000:
        raise Refused("invalid_password", "The password is limited to 1000 characters.")
    person.password_hash = hash_password(password)
    end_sessions(person)


# -- mailed one-time links --------------------------------------------------------------


REQUEST_KIND = "signin.link_request"


def request_link(email: str, purpose: str) -> None:
    """Someone asked for a ``purpose`` link to ``email`` on the web (the caller commits).

    The same work whatever the address: one outbox task carrying it encrypted; the
    worker looks the address up and makes the link (``make_link``), so neither the
    answer nor its timing says whether the address signs in."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    address = (email or "").strip().lower()[:EMAIL_MAX]
    outbox.enqueue(REQUEST_KIND, {"email_enc": encrypt(address), "purpose": purpose})


def make_link(email: str, purpose: str, now: datetime) -> str | None:
    """Mail a one-time ``purpose`` link to ``email`` if it signs in (the caller commits)
    and return its URL (the operator's CLI prints it); None otherwise."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    person = find_person(email)
    if person is None or (purpose == "signin" and not person.password_hash):
        return None
    owner = _owner(person)
    db.session.execute(sa.update(SignInLink).where(owner, SignInLink.used_at.is_(None))
                       .values(used_at=now))  # one live link per person: the newest
    token = new_token()
    link = SignInLink(purpose=purpose, token_hash=token_hash(token), expires_at=now + timedelta(
        minutes=LINK_MINUTES[purpose]), created_at=now, **_owner_ids(person))
    db.session.add(link)
    db.session.flush()
    outbox.enqueue("mail.sign_in_link", {"link_id": link.id, "token_enc": encrypt(token)},
                   lawyer_id=person.id if isinstance(person, Lawyer) else None)
    audit.record(None, f"person.{purpose}_link_sent", subject_of(person), firm_id=firm_of(person))
    return link_url(purpose, token)


def link_url(purpose: str, token: str) -> str:
    return urls.public_url(ENDPOINTS[purpose], token=token)


def open_link(token: str, purpose: str, now: datetime) -> tuple[SignInLink, Person]:
    """The live link of ``token`` and its person, or a 404 Refused (used, expired, unknown)."""
    link = None
    if isinstance(token, str) and 0 < len(token) <= 64:
        link = db.session.scalar(sa.select(SignInLink).where(SignInLink.token_hash == token_hash(token)))
    person = _person_of(link) if link is not None else None
    if (link is None or link.purpose != purpose or link.used_at is not None or link.expires_at <= now
            or person is None):
        raise Refused("unknown_link", "This link does not exist, was used or has expired.")
    return link, person


def reset_password(token: str, password: str, now: datetime) -> Person:
    """Use a reset link: the new password, every session ended, the link spent (committed)."""
    link, person = open_link(token, "reset", now)
    set_password(person, password)
    link.used_at = now
    audit.record(actor_of(person), "person.password_reset", subject_of(person), firm_id=firm_of(person))
    db.session.commit()
    return person


def sign_in_by_link(token: str, now: datetime) -> Person:
    """Use a sign-in link: the link is spent, the person returned to be signed in (committed)."""
    link, person = open_link(token, "signin", now)
    link.used_at = now
    audit.record(actor_of(person), "person.signed_in_by_link", subject_of(person), firm_id=firm_of(person))
    db.session.commit()
    return person


def _owner_ids(person: Person) -> dict:
    return {"lawyer_id": person.id} if isinstance(person, Lawyer) else {"user_id": person.id}


def _owner(person: Person):
    if isinstance(person, Lawyer):
        return SignInLink.lawyer_id == person.id
    return SignInLink.user_id == person.id


def _person_of(link: SignInLink) -> Person | None:
    if link.lawyer_id is not None:
        lawyer = db.session.get(Lawyer, link.lawyer_id)
        return lawyer if lawyer is not None and lawyer.active else None
    user = db.session.get(User, link.user_id) if link.user_id is not None else None
    return user if user is not None and user.active else None


def link_person(link: SignInLink) -> Person | None:
    """The person a link was made for (the mail job reads it), if still active."""
    return _person_of(link)
