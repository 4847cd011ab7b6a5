"""The firm's pages: the assistant's lawyer switcher, the audit log (and its CSV), the
firm's privacy and retention settings, a client's export and erasure; public: the firm
page ``/f/<slug>`` and the invitation link ``/invite/<token>``. The firm admin's people
pages (invitations, editing, deactivating) are ``service.web.firm_people``, registered on
this blueprint.

Every URL of this module is in this file. The admin pages share the admin area's gate
(``admin.role_gate``): sign-in, CSRF, the role each page needs; anything a role does
not reach answers 404, like a row of another lawyer.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from service.core.zones import zone_names
from service.storage.extensions import db
from service.storage.models import Firm, utcnow
from service.usecases import audit, firms
from service.usecases.errors import Refused
from service.web import admin, auth, error_words, firm_people
from service.web.admin_forms import PasswordForm
from service.web.errors import status_of
from service.web.firm_people import ROLE_WORDS
from service.web.firm_people import firm_admin as _firm_admin
from service.web.firm_people import person as _person

bp = Blueprint("firm", __name__, url_prefix="/admin")
public_bp = Blueprint("firm_public", __name__)


#: Pages about the data of the lawyer being acted for: 404 without one (a firm admin only).
NEEDS_LAWYER = {"firm.client_export", "firm.client_erase"}
#: Pages of the lawyer alone (not their assistants).
LAWYER_ONLY = {"firm.client_erase", "firm.lawyer_privacy"}


@bp.before_request
def gate():
    auth.forget_request_cache()
    refused = admin.role_gate(request.endpoint)
    if refused is not None:
        return refused
    if request.endpoint in NEEDS_LAWYER and auth.current_lawyer() is None:
        abort(404)
    if request.endpoint in LAWYER_ONLY and auth.current_person().role != "lawyer":
        abort(404)
    auth.csrf.protect()
    return None


bp.after_request(admin.no_store)
bp.context_processor(admin.admin_globals)


# -- the assistant's switcher -----------------------------------------------------------


@bp.post("/act-for")
def act_for():
    raw = request.form.get("lawyer_id", "")
    if not raw.isdigit() or not auth.act_for(int(raw)):
        abort(404)
    return redirect(url_for("admin.dashboard"))


# -- the audit log ----------------------------------------------------------------------


FIELD_WORDS = {
    "client_id": lazy_gettext("the client"), "start": lazy_gettext("start"), "status": lazy_gettext("status"),
    "windows": lazy_gettext("windows"), "duration_min": lazy_gettext("duration, min"),
    "prep_min": lazy_gettext("preparation, min"), "buffer_min": lazy_gettext("break after, min"),
    "notice_hours": lazy_gettext("notice, h"), "notice_next_working_day": lazy_gettext("next working day"),
    "horizon_days": lazy_gettext("horizon, days"), "max_per_week": lazy_gettext("per week"),
    "max_per_month": lazy_gettext("per month"), "step_min": lazy_gettext("step, min"),
    "status_day": lazy_gettext("status update day"), "language": lazy_gettext("language"),
    "personal_fields_changed": lazy_gettext("personal data changed"), "role": lazy_gettext("role"),
    "lawyer_id": lazy_gettext("lawyer"), "calls": lazy_gettext("calls"),
    "calendar_agenda": lazy_gettext("agenda in the calendar"), "retention_days": lazy_gettext("retention, days"),
    "consent_required": lazy_gettext("consent required"), "privacy_version": lazy_gettext("notice version"),
    "name": lazy_gettext("name"), "email": lazy_gettext("email"), "matter": lazy_gettext("matter"),
    "note": lazy_gettext("note"),
    "timezone": lazy_gettext("time zone"), "firm_admin": lazy_gettext("firm admin"),
    "active": lazy_gettext("signs in"), "lawyer_ids": lazy_gettext("works for"),
}


def audit_words(values: dict | None) -> str:
    """Before/after of an audit row in the page's language: "field: value; ..."."""
    if not values:
        return ""
    parts = []
    for key, value in values.items():
        if isinstance(value, list):
            value = ", ".join(str(FIELD_WORDS.get(v, v)) for v in value)
        elif isinstance(value, bool):
            value = gettext("yes") if value else gettext("no")
        elif isinstance(value, str) and value in ROLE_WORDS:
            value = ROLE_WORDS[value]
        parts.append(f"{FIELD_WORDS.get(key, key)}: {'—' if value is None else value}")
    return "; ".join(parts)


def _audit_scope() -> dict:
    """The firm's log for its admin (``?scope=firm``), else the lawyer's own; 404 for assistants."""
    person = _person()
    if request.args.get("scope") == "firm" or person.lawyer is None:
        if not person.is_firm_admin:
            abort(404)
        return {"firm_id": person.firm_id}
    return {"lawyer_id": person.lawyer.id}


@bp.get("/audit")
def audit_log():
    scope = _audit_scope()
    return render_template("admin/audit.html", events=audit.rows(**scope), firm_scope="firm_id" in scope,
                           role_words=ROLE_WORDS, audit_words=audit_words)


@bp.get("/audit.csv")
def audit_csv():
    scope = _audit_scope()
    body = audit.to_csv(audit.rows(limit=None, **scope))
    audit.record(None, "audit.exported", audit.Subject("audit_event", None, scope.get("lawyer_id")),
                 after={"scope": "firm" if "firm_id" in scope else "lawyer"}, firm_id=_person().firm_id)
    db.session.commit()
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


# -- public: the firm page, invitations -------------------------------------------------


@public_bp.get("/f/<slug>")
def firm_page(slug: str):
    firm = firms.find_by_slug(slug)
    if firm is None:
        abort(404)
    return render_template("firm.html", firm=firm, listing=firms.public_listing(firm), intake_url=firms.intakes.public_url)


@public_bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token: str):
    now = utcnow()
    invitation = firms.open_invitation(token, now)
    error, status = None, 200
    if request.method == "POST":
        try:
            person = firms.accept(token, request.form.get("name", ""), request.form.get("password", ""),
                                  request.form.get("timezone", ""), now)
        except Refused as exc:
            db.session.rollback()
            error, status = error_words.translate_error(exc), status_of(exc)
        else:
            auth.log_in_person(person)
            return redirect(url_for("admin.dashboard"), 303)
    return render_template("invitation.html", invitation=invitation, firm=invitation.firm, zones=zone_names(),
                           error=error, form=request.form), status


# -- firm settings: privacy notice, consent, retention -----------------------------------


def _retention_preview(firm: Firm):
    from service.usecases import privacy

    return privacy.retention_due(firm, utcnow()) if firm.retention_days else []


@bp.route("/firm/settings", methods=["GET", "POST"])
def settings():
    firm = _firm_admin()
    error, status = None, 200
    if request.method == "POST":
        raw_days = request.form.get("retention_days", "").strip()
        try:
            if raw_days and not raw_days.isdigit():
                raise Refused("invalid_retention", "Retention is a number of days.")
            firms.update_settings(
                firm, name=request.form.get("name", ""), privacy_text_en=request.form.get("privacy_text_en", ""),
                privacy_text_ru=request.form.get("privacy_text_ru", ""),
                privacy_url=request.form.get("privacy_url", ""),
                consent_required=request.form.get("consent_required") == "on",
                retention_days=int(raw_days) if raw_days else None)
        except Refused as exc:
            db.session.rollback()
            error, status = error_words.translate_error(exc), status_of(exc)
            firm = db.session.get(Firm, firm.id)
        else:
            db.session.commit()
            flash(gettext("Settings saved."), "ok")
            return redirect(url_for("firm.settings"))
    return render_template("admin/firm_settings.html", firm=firm, error=error,
                           due=_retention_preview(firm)), status


# -- a client's data: export and erasure; the lawyer's calendar privacy ------------------


@bp.get("/clients/<int:client_id>/export")
def client_export(client_id: int):
    client = admin._own_client(client_id)
    from service.usecases import privacy

    body = privacy.export_client(client, utcnow())
    db.session.commit()
    return Response(body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="client-{client.id}.zip"'})


@bp.route("/clients/<int:client_id>/erase", methods=["GET", "POST"])
def client_erase(client_id: int):
    """Erase with confirmation: the client's name typed again (lawyers only)."""
    client = admin._own_client(client_id)
    if client.erased_at is not None:
        abort(404)
    from service.usecases import privacy

    status = 200
    if request.method == "POST":
        if request.form.get("confirm", "").strip().casefold() == client.name.strip().casefold():
            erased = privacy.erase_client(client, utcnow())
            flash(gettext("The client's personal data is erased (%(calls)d calls kept as anonymous counts).",
                          calls=erased.calls), "ok")
            return redirect(url_for("admin.client_list"), 303)
        flash(gettext("Type the client's name exactly to confirm the erasure."), "error")
        status = 422
    return render_template("admin/erase.html", client=client), status


@bp.route("/privacy", methods=["GET", "POST"])
def lawyer_privacy():
    """What the lawyer's calendar events carry: the agenda, or the title only."""
    person = _person()
    if person.role != "lawyer":
        abort(404)
    lawyer = person.lawyer
    if request.method == "POST":
        wanted = request.form.get("calendar_agenda") == "on"
        if wanted != lawyer.calendar_agenda:
            audit.record(None, "lawyer.calendar_agenda", lawyer, before={"calendar_agenda": lawyer.calendar_agenda},
                         after={"calendar_agenda": wanted})
            lawyer.calendar_agenda = wanted
        db.session.commit()
        flash(gettext("Settings saved."), "ok")
        return redirect(url_for("firm.lawyer_privacy"))
    return render_template("admin/lawyer_privacy.html")


# -- an assistant's or firm admin's own account ------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
def account():
    """An assistant's or firm admin's password (a lawyer's is on the settings page)."""
    person = _person()
    if person.user is None:
        return redirect(url_for("admin.settings"))
    if request.method == "POST" and request.form.get("action") == "everywhere":
        auth.sign_out_everywhere(person.user)
        db.session.commit()
        auth.log_out()
        return redirect(url_for("admin.login"))
    form = PasswordForm() if request.method == "POST" else PasswordForm(formdata=None)
    status = 200
    if request.method == "POST":
        if form.validate():
            if auth.authenticate_person(person.user.email, form.current.data) is None:
                form.current.errors.append(gettext("The current password is wrong."))
            else:
                user = person.user
                auth.change_password(user, form.new.data)
                audit.record(None, "person.password_changed", audit.Subject("app_user", user.id),
                             firm_id=user.firm_id)
                db.session.commit()
                auth.log_in_person(user)  # this browser stays signed in; all others are out
                flash(gettext("Password changed. Every other session is signed out."), "ok")
                return redirect(url_for("firm.account"))
        status = 422
    return render_template("admin/account.html", password_form=form), status


# The firm admin's people pages join this blueprint (their URL table is there).
firm_people.register(bp)
