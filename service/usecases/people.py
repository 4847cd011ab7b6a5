"""The firm admin edits the firm's people: lawyers (name, zone, language, firm admin or
not) and firm users (name, language, role, the lawyers an assistant works for), and
deactivates or reactivates them.

Never another firm's people (the caller passes the admin's firm; a person of another
firm is ``unknown_person``), never passwords, e-mail addresses or calendar connections
of others (nothing here touches them). Deactivating ends every session of the person
at once; a deactivated person signs in no more, and a deactivated lawyer's client links
and intake pages offer no times and take no bookings (``Client.takes_bookings``) until
the lawyer is reactivated; calls already booked stay, for an assistant to keep or move.
The firm always keeps one active admin. Each change is audited with before/after.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from service.core.names import name_problem
from service.core.zones import is_zone
from service.storage.extensions import db
from service.storage.models import Assignment, Booking, Firm, Lawyer, User
from service.usecases import audit, signin
from service.usecases.errors import Refused

LANGUAGES = ("en", "ru")
USER_ROLES = ("assistant", "admin")


def _name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name or len(name) > 200 or name_problem(name) is not None:
        raise Refused("invalid_person_name", "The name must be one line of at most 200 visible characters, "
                      "without direction-changing characters.")
    return name


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise Refused("invalid_language", "The language must be English or Russian.")
    return value


def lawyer_of_firm(firm: Firm, lawyer_id: int) -> Lawyer:
    lawyer = db.session.get(Lawyer, lawyer_id)
    if lawyer is None or lawyer.firm_id != firm.id:
        raise Refused("unknown_person", "Nobody with this id works in your firm.")
    return lawyer


def user_of_firm(firm: Firm, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.firm_id != firm.id:
        raise Refused("unknown_person", "Nobody with this id works in your firm.")
    return user


def lawyer_snapshot(lawyer: Lawyer) -> dict:
    return {"name": lawyer.name, "timezone": lawyer.timezone, "language": lawyer.language,
            "firm_admin": lawyer.firm_admin, "active": lawyer.active}


def user_snapshot(user: User) -> dict:
    return {"name": user.name, "language": user.language, "role": user.role, "active": user.active,
            "lawyer_ids": sorted(lawyer.id for lawyer in user.lawyers)}


def _active_admins(firm: Firm) -> int:
    lawyers = db.session.scalar(sa.select(sa.func.count(Lawyer.id)).where(
        Lawyer.firm_id == firm.id, Lawyer.firm_admin.is_(True), Lawyer.active.is_(True)))
    users = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.firm_id == firm.id, User.role == "admin", User.active.is_(True)))
    return lawyers + users


def _keep_an_admin(firm: Firm) -> None:
    db.session.flush()
    if _active_admins(firm) == 0:
        raise Refused("last_admin", "The firm needs at least one active firm admin.")


def _audit_change(action: str, subject: audit.Subject, before: dict, after: dict, firm: Firm) -> None:
    diff = audit.changes(before, after)
    if diff is not None:
        audit.record(None, action, subject, before=diff[0], after=diff[1], firm_id=firm.id)


def edit_lawyer(firm: Firm, lawyer: Lawyer, *, name: str, timezone: str, language: str, firm_admin: bool) -> None:
    """The lawyer's name, zone, language and firm-admin flag (the caller commits)."""
    if lawyer.firm_id != firm.id:
        raise Refused("unknown_person", "Nobody with this id works in your firm.")
    if not is_zone(timezone):
        raise Refused("invalid_timezone", "Choose a time zone from the list.")
    before = lawyer_snapshot(lawyer)
    lawyer.name, lawyer.timezone, lawyer.language = _name(name), timezone, _language(language)
    lawyer.firm_admin = bool(firm_admin)
    _keep_an_admin(firm)
    _audit_change("person.edited", audit.Subject("lawyer", lawyer.id, lawyer.id), before, lawyer_snapshot(lawyer),
                  firm)


def edit_user(firm: Firm, user: User, *, name: str, language: str, role: str, lawyer_ids: Iterable[int]) -> None:
    """A firm user's name, language, role and (assistants) the lawyers they work for."""
    if user.firm_id != firm.id:
        raise Refused("unknown_person", "Nobody with this id works in your firm.")
    if role not in USER_ROLES:
        raise Refused("invalid_role", "The role must be assistant or firm admin.")
    wanted = set(lawyer_ids) if role == "assistant" else set()
    for lawyer_id in wanted:
        lawyer_of_firm(firm, lawyer_id)
    before = user_snapshot(user)
    user.name, user.language, user.role = _name(name), _language(language), role
    current = set(db.session.scalars(sa.select(Assignment.lawyer_id).where(Assignment.user_id == user.id)))
    if current - wanted:
        db.session.execute(sa.delete(Assignment).where(Assignment.user_id == user.id,
                                                       Assignment.lawyer_id.in_(current - wanted)))
    db.session.add_all(Assignment(user_id=user.id, lawyer_id=lawyer_id) for lawyer_id in sorted(wanted - current))
    if role != before["role"]:
        signin.end_sessions(user)  # what the person may open changed: sign in again
    _keep_an_admin(firm)
    db.session.expire(user, ["lawyers"])
    _audit_change("person.edited", audit.Subject("app_user", user.id), before, user_snapshot(user), firm)


def calls_ahead(lawyer: Lawyer, now: datetime) -> int:
    """How many confirmed calls the lawyer still has from ``now`` on (what deactivating
    leaves in place)."""
    return db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
        Booking.lawyer_id == lawyer.id, Booking.status == "confirmed", Booking.end > now)) or 0


def set_active(firm: Firm, person: Lawyer | User, active: bool, me: Lawyer | User | None) -> None:
    """Deactivate (every session ends at once) or reactivate ``person`` (the caller commits)."""
    if person.firm_id != firm.id:
        raise Refused("unknown_person", "Nobody with this id works in your firm.")
    if not active and me is not None and type(me) is type(person) and me.id == person.id:
        raise Refused("not_yourself", "You cannot deactivate yourself.")
    if person.active == active:
        return
    person.active = active
    if not active:
        signin.end_sessions(person)
        _keep_an_admin(firm)
    subject = signin.subject_of(person)
    audit.record(None, "person.reactivated" if active else "person.deactivated", subject,
                 before={"active": not active}, after={"active": active}, firm_id=firm.id)
