"""Firms and their people: lawyers, assistants (for the lawyers assigned to them) and
firm admins; invitations by e-mail with a one-time link.

Lawyers sign in with their own ``Lawyer`` row; assistants and firm admins are ``User``
rows. A login e-mail is unique across both. Every change is in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from service.core import urls
from service.core.crypto import encrypt
from service.core.emails import EmailNotValidError, normalized
from service.core.zones import is_zone
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import (
    Assignment,
    Firm,
    Intake,
    Invitation,
    Lawyer,
    User,
    new_token,
    token_hash,
)
from service.usecases import audit, intakes, signin
from service.usecases.errors import Refused

ROLES = ("lawyer", "assistant", "admin")
INVITATION_DAYS = 7
PASSWORD_MIN = 10


def create_firm(name: str, slug: str) -> Firm:
    """A new firm (the caller commits); ``Refused`` for a bad or taken slug."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ch in name for ch in "\r\n"):
        raise Refused("invalid_name", "The firm's name must be one line of at most 200 characters.")
    if not intakes.valid_slug(slug):
        raise Refused("invalid_slug", "The slug must be 1-64 lowercase letters, digits and inner hyphens.")
    if db.session.scalar(sa.select(Firm.id).where(Firm.slug == slug)) is not None:
        raise Refused("slug_taken", f"The slug {slug!r} is already taken.")
    firm = Firm(name=name, slug=slug)
    db.session.add(firm)
    db.session.flush()
    audit.record(None, "firm.created", firm, after={"name": name, "slug": slug}, firm_id=firm.id)
    return firm


def find_by_slug(slug: str) -> Firm | None:
    if not intakes.valid_slug(slug):
        return None
    return db.session.scalar(sa.select(Firm).where(Firm.slug == slug))


def normalized_email(value: str) -> str:
    if not isinstance(value, str) or any(ch in value for ch in "\r\n\x00"):
        raise Refused("invalid_email", "The e-mail address must be one line.")
    try:
        return normalized(value.strip()).lower()
    except EmailNotValidError as exc:
        raise Refused("invalid_email", f"The e-mail address is not valid: {exc}") from None


def login_taken(email: str) -> bool:
    email = email.lower()
    return bool(
        db.session.scalar(sa.select(Lawyer.id).where(sa.func.lower(Lawyer.email) == email))
        or db.session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email))
    )


@dataclass(frozen=True)
class Invited:
    invitation: Invitation | None  # None: an existing assistant was assigned at once
    url: str | None


def invite(firm: Firm, email: str, role: str, for_lawyer: Lawyer | None, now: datetime) -> Invited:
    """Invite ``email`` to ``firm`` as ``role`` (the caller commits); the link is mailed.

    ``for_lawyer``: for an assistant, the lawyer they will work for (an assistant who is
    already in the firm is assigned at once, without a new invitation); for a lawyer, an
    existing lawyer row (e.g. created with ``flask lawyer create``) the invitee takes over.
    """
    if role not in ROLES:
        raise Refused("invalid_role", "The role must be lawyer, assistant or admin.")
    email = normalized_email(email)
    if for_lawyer is not None and for_lawyer.firm_id != firm.id:
        raise Refused("unknown_lawyer", "This lawyer is not in this firm.")
    if role == "assistant" and for_lawyer is None:
        raise Refused("lawyer_required", "An assistant is invited for a lawyer (--for-lawyer).")
    if role == "assistant":
        existing = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
        if existing is not None and existing.role == "assistant" and existing.firm_id == firm.id:
            assign(existing, for_lawyer)
            return Invited(None, None)
    if role == "lawyer" and for_lawyer is not None:
        if for_lawyer.password_hash:
            raise Refused("already_joined", "This lawyer already signs in.")
        if for_lawyer.email.lower() != email:
            raise Refused("invalid_email", "The invitation goes to the lawyer's own e-mail address.")
    elif login_taken(email):
        raise Refused("email_taken", f"{email} already signs in to Counsel Hours.")
    token = new_token()
    invitation = Invitation(firm_id=firm.id, email=email, role=role,
                            lawyer_id=for_lawyer.id if for_lawyer else None, token_hash=token_hash(token),
                            expires_at=now + timedelta(days=INVITATION_DAYS), created_at=now)
    db.session.add(invitation)
    db.session.flush()
    outbox.enqueue("mail.invitation", {"invitation_id": invitation.id, "token_enc": encrypt(token)})
    audit.record(None, "person.invited", audit.Subject("invitation", invitation.id,
                                                       for_lawyer.id if for_lawyer else None),
                 after={"role": role, "lawyer_id": invitation.lawyer_id}, firm_id=firm.id)
    return Invited(invitation, invitation_url(token))


def invitation_url(token: str) -> str:
    return urls.public_url("firm_public.invitation", token=token)


def open_invitation(token: str, now: datetime) -> Invitation:
    """The unused, unexpired invitation of ``token``, or a 404 Refused."""
    invitation = None
    if isinstance(token, str) and 0 < len(token) <= 64:
        invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise Refused("unknown_invitation", "This invitation does not exist, was used or has expired.")
    return invitation


def accept(token: str, name: str, password: str, timezone: str, now: datetime) -> Lawyer | User:
    """Join the firm with the invitation of ``token`` (committed); who joined."""
    invitation = open_invitation(token, now)
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ch in name for ch in "\r\n"):
        raise Refused("invalid_name", "Please give your name (one line).")
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise Refused("invalid_password", f"The password needs at least {PASSWORD_MIN} characters.")
    hashed = signin.hash_password(password)
    person: Lawyer | User
    if invitation.role == "lawyer":
        if invitation.lawyer_id is not None:
            person = db.session.get(Lawyer, invitation.lawyer_id)
            person.name = name
        else:
            if not is_zone(timezone):
                raise Refused("invalid_timezone", "Choose your time zone.")
            if login_taken(invitation.email):
                raise Refused("email_taken", "This e-mail address already signs in.")
            person = Lawyer(name=name, email=invitation.email, timezone=timezone, firm_id=invitation.firm_id)
            db.session.add(person)
        person.password_hash = hashed
        person.session_version = (person.session_version or 1) + 1
    else:
        if login_taken(invitation.email):
            raise Refused("email_taken", "This e-mail address already signs in.")
        person = User(firm_id=invitation.firm_id, email=invitation.email, name=name, role=invitation.role,
                      password_hash=hashed, created_at=now)
        db.session.add(person)
        db.session.flush()
        if invitation.lawyer_id is not None and invitation.role == "assistant":
            db.session.add(Assignment(user_id=person.id, lawyer_id=invitation.lawyer_id))
    invitation.used_at = now
    db.session.flush()
    actor = (audit.Actor("lawyer", person.id, name) if isinstance(person, Lawyer)
             else audit.Actor(person.role, person.id, name))
    audit.record(actor, "person.joined", audit.Subject(
        "lawyer" if isinstance(person, Lawyer) else "app_user", person.id,
        person.id if isinstance(person, Lawyer) else invitation.lawyer_id),
        after={"role": invitation.role}, firm_id=invitation.firm_id)
    db.session.commit()
    return person


def assign(user: User, lawyer: Lawyer) -> None:
    """The assistant works for ``lawyer`` too (the caller commits)."""
    if user.role != "assistant" or lawyer.firm_id != user.firm_id:
        raise Refused("unknown_lawyer", "This lawyer is not in the assistant's firm.")
    if db.session.scalar(sa.select(Assignment.id).where(Assignment.user_id == user.id,
                                                        Assignment.lawyer_id == lawyer.id)) is None:
        db.session.add(Assignment(user_id=user.id, lawyer_id=lawyer.id))
        audit.record(None, "person.assigned", audit.Subject("app_user", user.id, lawyer.id),
                     after={"lawyer_id": lawyer.id}, firm_id=user.firm_id)
        db.session.expire(user, ["lawyers"])


def unassign(user: User, lawyer: Lawyer) -> None:
    deleted = db.session.execute(sa.delete(Assignment).where(Assignment.user_id == user.id,
                                                             Assignment.lawyer_id == lawyer.id)).rowcount
    if deleted:
        audit.record(None, "person.unassigned", audit.Subject("app_user", user.id, lawyer.id),
                     before={"lawyer_id": lawyer.id}, firm_id=user.firm_id)
        db.session.expire(user, ["lawyers"])


@dataclass(frozen=True)
class People:
    lawyers: list[Lawyer]
    users: list[User]
    invitations: list[Invitation]
    inactive_users: list[User]


def people(firm_id: int, now: datetime) -> People:
    return People(
        lawyers=list(db.session.scalars(sa.select(Lawyer).where(Lawyer.firm_id == firm_id).order_by(Lawyer.name))),
        users=list(db.session.scalars(sa.select(User).where(User.firm_id == firm_id, User.active.is_(True))
                                      .order_by(User.name))),
        invitations=list(db.session.scalars(
            sa.select(Invitation).where(Invitation.firm_id == firm_id, Invitation.used_at.is_(None),
                                        Invitation.expires_at > now).order_by(Invitation.created_at))),
        inactive_users=list(db.session.scalars(sa.select(User).where(User.firm_id == firm_id,
                                                                     User.active.is_(False)).order_by(User.name))),
    )


def public_listing(firm: Firm) -> list[tuple[Lawyer, list[Intake]]]:
    """The firm's active lawyers with their active public intakes, for ``/f/<slug>``."""
    lawyers = db.session.scalars(sa.select(Lawyer).where(Lawyer.firm_id == firm.id, Lawyer.active.is_(True))
                                 .order_by(Lawyer.name))
    listing = []
    for lawyer in lawyers:
        offered = list(db.session.scalars(sa.select(Intake).where(Intake.lawyer_id == lawyer.id,
                                                                  Intake.active.is_(True)).order_by(Intake.title)))
        listing.append((lawyer, offered))
    return listing


PRIVACY_TEXT_MAX = 5000
RETENTION_MAX_DAYS = 36500


def update_settings(firm: Firm, *, name: str, privacy_text_en: str, privacy_text_ru: str, privacy_url: str,
                    consent_required: bool, retention_days: int | None) -> None:
    """The firm's name, privacy notice and retention (the caller commits). A changed notice
    gets a new version: consents are stored with the version and text the client saw."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ch in name for ch in "\r\n"):
        raise Refused("invalid_name", "The firm's name must be one line of at most 200 characters.")
    texts = {"privacy_text_en": (privacy_text_en or "").replace("\r\n", "\n").strip(),
             "privacy_text_ru": (privacy_text_ru or "").replace("\r\n", "\n").strip()}
    if any(len(t) > PRIVACY_TEXT_MAX for t in texts.values()):
        raise Refused("invalid_privacy_text", f"A privacy notice is limited to {PRIVACY_TEXT_MAX} characters.")
    url = (privacy_url or "").strip()
    if url and (not url.startswith(("https://", "http://")) or len(url) > 500 or any(c in url for c in " \r\n\"'<>")):
        raise Refused("invalid_privacy_url", "The privacy notice link must be an http(s) address.")
    if retention_days is not None and not 30 <= retention_days <= RETENTION_MAX_DAYS:
        raise Refused("invalid_retention", "Retention is between 30 days and 100 years (or none).")
    if consent_required and not (texts["privacy_text_en"] or texts["privacy_text_ru"] or url):
        raise Refused("invalid_privacy_text", "Consent needs a privacy notice to consent to.")
    before = settings_snapshot(firm)
    changed_notice = (texts["privacy_text_en"] != firm.privacy_text_en
                      or texts["privacy_text_ru"] != firm.privacy_text_ru or url != firm.privacy_url)
    firm.name = name
    firm.privacy_text_en, firm.privacy_text_ru, firm.privacy_url = texts["privacy_text_en"], texts["privacy_text_ru"], url
    if changed_notice:
        firm.privacy_version += 1
    firm.consent_required = bool(consent_required)
    firm.retention_days = retention_days
    diff = audit.changes(before, settings_snapshot(firm))
    if diff is not None:
        audit.record(None, "firm.settings", firm, before=diff[0], after=diff[1], firm_id=firm.id)


def settings_snapshot(firm: Firm) -> dict:
    return {"name": firm.name, "privacy_version": firm.privacy_version, "privacy_url": firm.privacy_url,
            "consent_required": firm.consent_required, "retention_days": firm.retention_days}
