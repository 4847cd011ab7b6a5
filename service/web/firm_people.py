"""The firm admin's people pages (part of the ``firm`` blueprint: ``service.web.firm``
registers them and gates them like its own; this module's URLs are listed here):

- ``GET /admin/people``                                the firm's lawyers, users, invitations
- ``POST /admin/people/invite``                        invite by e-mail (one-time link)
- ``POST /admin/people/<user_id>/assign``              an assistant works for one more / one less lawyer
- ``GET|POST /admin/people/<user_id>/edit``            a user's name, language, role, lawyers
- ``POST /admin/people/<user_id>/active``              deactivate / reactivate a user
- ``GET|POST /admin/people/lawyers/<lawyer_id>/edit``  a lawyer's name, zone, language, firm admin
- ``POST /admin/people/lawyers/<lawyer_id>/active``    deactivate / reactivate a lawyer

Only the firm admin opens them, only for their own firm's people (anything else: 404).
No page shows or takes another person's password, e-mail address or calendar secrets.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext

from service.core.zones import zone_names
from service.storage.extensions import db
from service.storage.models import Firm, Lawyer, User, utcnow
from service.usecases import firms
from service.usecases import people as staff
from service.usecases.errors import Refused
from service.web import auth, error_words
from service.web.admin_forms import LANGUAGE_CHOICES
from service.web.admin_routes import Routes
from service.web.errors import status_of

bp = Routes()
register = bp.register

ROLE_WORDS = {"lawyer": lazy_gettext("lawyer"), "assistant": lazy_gettext("assistant"),
              "admin": lazy_gettext("firm admin"), "client": lazy_gettext("the client"),
              "system": lazy_gettext("system")}


def person() -> auth.Person:
    return auth.current_person()


def firm_admin() -> Firm:
    """The firm the signed-in person administers; 404 for everyone else."""
    if not person().is_firm_admin:
        abort(404)
    return db.session.get(Firm, person().firm_id)


def _lawyer(firm: Firm, lawyer_id: int) -> Lawyer:
    try:
        return staff.lawyer_of_firm(firm, lawyer_id)
    except Refused:
        abort(404)


def _user(firm: Firm, user_id: int, *, active_only: bool = True) -> User:
    try:
        user = staff.user_of_firm(firm, user_id)
    except Refused:
        abort(404)
    if active_only and not user.active:
        abort(404)
    return user


def _me() -> Lawyer | User:
    return person().lawyer or person().user


def _people_page(firm: Firm, status: int = 200):
    return render_template("admin/people.html", firm=firm, people=firms.people(firm.id, utcnow()),
                           roles=firms.ROLES, role_words=ROLE_WORDS), status


@bp.get("/people")
def people():
    return _people_page(firm_admin())


@bp.post("/people/invite")
def invite():
    firm = firm_admin()
    raw = request.form.get("lawyer_id", "")
    for_lawyer = _lawyer(firm, int(raw)) if raw.isdigit() else None
    try:
        invited = firms.invite(firm, request.form.get("email", ""), request.form.get("role", ""), for_lawyer,
                               utcnow())
    except Refused as exc:
        db.session.rollback()
        flash(error_words.translate_error(exc), "error")
        return _people_page(firm, status_of(exc))
    db.session.commit()
    if invited.invitation is None:
        flash(gettext("The assistant now works for this lawyer too."), "ok")
    else:
        flash(gettext("Invitation sent to %(email)s.", email=invited.invitation.email), "ok")
    return redirect(url_for("firm.people"))


@bp.post("/people/<int:user_id>/assign")
def assign(user_id: int):
    firm = firm_admin()
    user = _user(firm, user_id)
    raw = request.form.get("lawyer_id", "")
    if not raw.isdigit():
        abort(400, gettext("Choose a lawyer."))
    lawyer = _lawyer(firm, int(raw))
    if request.form.get("action") == "remove":
        firms.unassign(user, lawyer)
    else:
        firms.assign(user, lawyer)
    db.session.commit()
    flash(gettext("Saved."), "ok")
    return redirect(url_for("firm.people"))


def _lawyer_ids(firm: Firm) -> list[int]:
    ids = []
    for raw in request.form.getlist("lawyer_ids"):
        if not raw.isdigit() or len(raw) > 9:
            raise Refused("unknown_lawyer", "This lawyer is not in this firm.")
        ids.append(int(raw))
    return ids


def _edit_page(firm: Firm, target: Lawyer | User, error: str | None = None, status: int = 200):
    lawyers = firms.people(firm.id, utcnow()).lawyers
    return render_template("admin/person_edit.html", firm=firm, target=target,
                           is_lawyer=isinstance(target, Lawyer), lawyers=lawyers, zones=zone_names(),
                           languages=LANGUAGE_CHOICES, role_words=ROLE_WORDS, error=error), status


@bp.route("/people/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):
    firm = firm_admin()
    user = _user(firm, user_id, active_only=False)
    if request.method == "POST":
        try:
            staff.edit_user(firm, user, name=request.form.get("name", ""), language=request.form.get("language", ""),
                             role=request.form.get("role", ""), lawyer_ids=_lawyer_ids(firm))
        except Refused as exc:
            db.session.rollback()
            return _edit_page(firm, db.session.get(User, user_id), error_words.translate_error(exc), status_of(exc))
        db.session.commit()
        flash(gettext("Saved."), "ok")
        return redirect(url_for("firm.people"))
    return _edit_page(firm, user)


@bp.route("/people/lawyers/<int:lawyer_id>/edit", methods=["GET", "POST"])
def edit_lawyer(lawyer_id: int):
    firm = firm_admin()
    lawyer = _lawyer(firm, lawyer_id)
    if request.method == "POST":
        try:
            staff.edit_lawyer(firm, lawyer, name=request.form.get("name", ""),
                               timezone=request.form.get("timezone", ""), language=request.form.get("language", ""),
                               firm_admin=request.form.get("firm_admin") == "on")
        except Refused as exc:
            db.session.rollback()
            return _edit_page(firm, db.session.get(Lawyer, lawyer_id), error_words.translate_error(exc),
                              status_of(exc))
        db.session.commit()
        flash(gettext("Saved."), "ok")
        return redirect(url_for("firm.people"))
    return _edit_page(firm, lawyer)


def _set_active(firm: Firm, target: Lawyer | User):
    action = request.form.get("action")
    if action not in ("deactivate", "reactivate"):
        abort(400, gettext("Choose deactivate or reactivate."))
    try:
        staff.set_active(firm, target, action == "reactivate", _me())
    except Refused as exc:
        db.session.rollback()
        flash(error_words.translate_error(exc), "error")
        return _people_page(firm, status_of(exc))
    db.session.commit()
    if action == "deactivate" and isinstance(target, Lawyer):
        flash(ngettext("%(name)s no longer signs in; every session of theirs has ended. Their clients' "
                       "links and intake pages offer no times until they are reactivated. %(num)d call "
                       "already booked stays as it is.",
                       "%(name)s no longer signs in; every session of theirs has ended. Their clients' "
                       "links and intake pages offer no times until they are reactivated. %(num)d calls "
                       "already booked stay as they are.",
                       staff.calls_ahead(target, utcnow()), name=target.name or target.email), "ok")
    elif action == "deactivate":
        flash(gettext("%(name)s no longer signs in; every session of theirs has ended.",
                      name=target.name or target.email), "ok")
    else:
        flash(gettext("%(name)s signs in again.", name=target.name or target.email), "ok")
    return redirect(url_for("firm.people"))


@bp.post("/people/<int:user_id>/active")
def user_active(user_id: int):
    firm = firm_admin()
    return _set_active(firm, _user(firm, user_id, active_only=False))


@bp.post("/people/lawyers/<int:lawyer_id>/active")
def lawyer_active(lawyer_id: int):
    firm = firm_admin()
    return _set_active(firm, _lawyer(firm, lawyer_id))
