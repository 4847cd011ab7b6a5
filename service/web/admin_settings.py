"""The practice settings in the admin area (routes registered on the ``admin`` blueprint):

- ``GET|POST /admin/practice``                     profile, limits, days off, embedding sites
- ``GET /admin/intakes``                           public intakes with their embed snippets
- ``GET|POST /admin/intakes/new``, ``/admin/intakes/<id>/edit``   the intake editor
- ``POST /admin/intakes/<id>/active``              pause / publish again
- ``POST /admin/clients/<id>/extra-windows``       a one-off window for a client (add / remove)

Every form reports all its problems at once, in words; the use cases are
``service.usecases.practice`` (the CLI calls the same).
"""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from booking import terms
from booking.terms import AgreementError
from service.storage.extensions import db
from service.storage.models import Client, Intake
from service.usecases import clients, intakes, practice
from service.usecases.errors import Refused
from service.web import auth, params, zonepick
from service.web.admin_forms import ClientForm, agreement_error_text, one_line
from service.web.admin_routes import Routes

bp = Routes()
register = bp.register

_WORDS = {
    "invalid_name": lazy_gettext("Please give your name (one line)."),
    "invalid_timezone": lazy_gettext("Please choose a time zone from the list."),
    "invalid_language": lazy_gettext("Please choose a language from the list."),
    "invalid_max_per_day": lazy_gettext("The daily limit must be a number from 0 to 100 (0: no limit)."),
    "invalid_max_per_week": lazy_gettext("The weekly limit must be a number from 0 to 100 (0: no limit)."),
    "invalid_last_day": lazy_gettext("The last day must be on or after the first, at most a year later."),
    "invalid_note": lazy_gettext("The note must be one line of at most 200 characters."),
    "invalid_origin": lazy_gettext("The site must be an address like https://www.your-firm.example (no path)."),
    "invalid_window": lazy_gettext("The window must end after it starts."),
    "invalid_slug": lazy_gettext("The address name must be 1-64 lowercase letters, digits and hyphens, not taken yet."),
    "invalid_title": lazy_gettext("Please give a title (one line)."),
    "unknown_setting": lazy_gettext("This entry no longer exists."),
}


def words(exc: Refused) -> str:
    return str(_WORDS.get(exc.reason, exc.message))


def _number(raw: str | None, errors: list[str], message: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors.append(message)
        return None


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _practice_page(errors: dict[str, list[str]] | None = None, status: int = 200):
    lawyer = auth.current_lawyer()
    return render_template(
        "admin/practice.html",
        days_off=sorted(lawyer.days_off, key=lambda d: d.first_day),
        form_errors=errors or {},
        values=request.form if request.method == "POST" else {},
    ), status


@bp.route("/practice", methods=["GET", "POST"])
def practice_settings():
    if request.method == "GET":
        return _practice_page()
    lawyer = auth.current_lawyer()
    action = request.form.get("action", "")
    errors: list[str] = []
    form = request.form
    try:
        if action == "profile":
            zone = zonepick.chosen("timezone")
            if zone is None:  # the search found no zone, or several: the list shows them
                errors.append(zonepick.state("timezone").message or gettext("Please choose a time zone."))
            # the other fields are checked too (every error at once); nothing is kept on errors
            practice.set_profile(lawyer, form.get("name"), zone or lawyer.timezone, form.get("language"))
        elif action == "caps":
            per_day = _number(form.get("max_per_day"), errors, str(_WORDS["invalid_max_per_day"]))
            per_week = _number(form.get("max_per_week"), errors, str(_WORDS["invalid_max_per_week"]))
            if not errors:
                practice.set_caps(lawyer, per_day, per_week)
        elif action == "day_off":
            first, last = _day(form.get("first_day")), _day(form.get("last_day"))
            if first is None:
                errors.append(gettext("Please give the first day, e.g. 2026-08-03."))
            if form.get("last_day") and last is None:
                errors.append(gettext("Please give the last day, e.g. 2026-08-14."))
            if not errors:
                practice.add_day_off(lawyer, first, last, form.get("note", ""))
        elif action == "remove_day_off":
            practice.remove_day_off(lawyer, int(form.get("id", "0") or 0))
        elif action == "embed":
            practice.allow_embed(lawyer, form.get("origin"))
        elif action == "remove_embed":
            practice.remove_embed(lawyer, int(form.get("id", "0") or 0))
        else:
            abort(400)
    except Refused as exc:
        errors.append(words(exc))
    except ValueError:
        abort(400)
    if errors:
        db.session.rollback()
        return _practice_page({action: errors}, 422)
    db.session.commit()
    flash(gettext("Saved."), "ok")
    return redirect(url_for("admin.practice_settings") + f"#{action.removeprefix('remove_')}")


# -- intakes -------------------------------------------------------------------------


class IntakeForm(ClientForm):
    """The client form's agreement, with a title and an address name instead of a person."""

    name = StringField(_l("Title shown to visitors"), validators=[InputRequired(), Length(max=200), one_line])
    email = None
    matter = None
    status_day = None

    TERMS_FIELDS = {k: v for k, v in ClientForm.TERMS_FIELDS.items() if k != "status_day"}

    def fill_choices(self) -> None:
        from service.web.admin_forms import weekday_choices

        for row in self.windows:
            row.form.weekday.choices = weekday_choices(blank="—")


def _own_intake(intake_id: int) -> Intake:
    intake = db.session.get(Intake, intake_id)
    if intake is None or intake.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return intake


@bp.get("/intakes")
def intake_list():
    lawyer = auth.current_lawyer()
    rows = db.session.scalars(sa.select(Intake).where(Intake.lawyer_id == lawyer.id).order_by(Intake.title))
    base = current_app.config["BASE_URL"].rstrip("/")
    return render_template("admin/intakes.html", intakes=[
        (i, intakes.public_url(i.slug), practice.embed_snippet(base, i)) for i in rows
    ])


def _intake_data(intake: Intake) -> dict:
    data = {name: getattr(intake, name) for name in ("language", "note", *clients.AGREEMENT_FIELDS)}
    data["name"] = intake.title
    data["windows"] = [row.__dict__ for row in clients.rows_of(intake.windows)] + [{}]
    data["step_min"] = str(intake.step_min or "")
    return data


def _edit_intake(intake: Intake | None):
    if request.method == "POST":
        form = IntakeForm()
    elif intake is None:
        form = IntakeForm(data={"windows": [{}, {}], "duration_min": 30, "prep_min": 15, "buffer_min": 0,
                                "notice_hours": 24, "horizon_days": 30, "max_per_week": 3})
    else:
        form = IntakeForm(data=_intake_data(intake))
    form.fill_choices()
    slug = request.form.get("slug", intake.slug if intake else "")
    if request.method == "POST" and request.form.get("action") == "add_row":
        form.windows.append_entry()
        form.fill_choices()
        return render_template("admin/intake_form.html", form=form, intake=intake, slug=slug, errors=[])
    errors: list[str] = []
    if request.method == "POST":
        form.validate()
        errors = [f"{form[name].label.text}: {e}" for name, field_errors in form.errors.items()
                  if name != "windows" for e in field_errors]
        try:
            windows = clients.windows_text(clients.WindowRowData(**row) for row in form.windows.data)
        except clients.WindowsError as exc:
            errors.extend(exc.problems)
            windows = None
        if not errors:
            try:
                data = {name: f.data for name, f in form._fields.items() if name != "windows"}
                checked = terms.validate_agreement(
                    windows=windows, duration=data["duration_min"], prep=data["prep_min"],
                    buffer_after=data["buffer_min"], notice=data["notice_hours"],
                    notice_next_working_day=bool(data.get("notice_next_working_day")),
                    horizon_days=data["horizon_days"], max_per_week=data.get("max_per_week"),
                    max_per_month=data.get("max_per_month"), step=data.get("step_min") or None,
                )
                saved = practice.save_intake(auth.current_lawyer(), intake, slug.strip(), data["name"],
                                             data["language"], data.get("note"), checked)
            except AgreementError as exc:
                errors.append(agreement_error_text(exc, str(form[form.TERMS_FIELDS[exc.field]].label.text)))
            except Refused as exc:
                errors.append(words(exc))
            else:
                db.session.commit()
                flash(gettext("Intake %(title)s saved.", title=saved.title), "ok")
                return redirect(url_for("admin.intake_list"))
        db.session.rollback()
    status = 422 if errors else 200
    return render_template("admin/intake_form.html", form=form, intake=intake, slug=slug, errors=errors), status


@bp.route("/intakes/new", methods=["GET", "POST"])
def intake_new():
    return _edit_intake(None)


@bp.route("/intakes/<int:intake_id>/edit", methods=["GET", "POST"])
def intake_edit(intake_id: int):
    return _edit_intake(_own_intake(intake_id))


@bp.post("/intakes/<int:intake_id>/active")
def intake_active(intake_id: int):
    intake = _own_intake(intake_id)
    practice.set_intake_active(intake, request.form.get("active") == "1")
    db.session.commit()
    flash(gettext("Intake %(title)s published.", title=intake.title) if intake.active
          else gettext("Intake %(title)s paused: its page offers no times.", title=intake.title), "ok")
    return redirect(url_for("admin.intake_list"))


# -- one-off windows of a client -----------------------------------------------------


@bp.post("/clients/<int:client_id>/extra-windows")
def client_extra_window(client_id: int):
    client = db.session.get(Client, client_id)
    if client is None or client.lawyer_id != auth.current_lawyer().id:
        abort(404)
    try:
        if request.form.get("remove"):
            practice.remove_extra_window(client, params.parse_id(request.form["remove"]) or 0)
        else:
            day = _day(request.form.get("day"))
            try:
                start = time.fromisoformat(request.form.get("start", ""))
                end = time.fromisoformat(request.form.get("end", ""))
            except ValueError:
                start = end = None
            if day is None or start is None:
                raise Refused("invalid_window", "")
            practice.add_extra_window(client, day, start, end)
    except Refused as exc:
        db.session.rollback()
        flash(words(exc) if exc.message else gettext("Please give the date and both times."), "error")
        return redirect(url_for("admin.client", client_id=client.id) + "#extra")
    except ValueError:
        abort(400)
    db.session.commit()
    flash(gettext("Saved."), "ok")
    return redirect(url_for("admin.client", client_id=client.id) + "#extra")
