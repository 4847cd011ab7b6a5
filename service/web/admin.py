"""The lawyer's area ``/admin``: every URL of it is in this file, but for the calls from the
lawyer's side (``service.web.admin_calls``) and the practice settings
(``service.web.admin_settings``), which add their routes to this blueprint.

Views are thin: parse, authorize (the signed-in lawyer owns what is asked for), call the
helpers (``clients``, ``weekview``, ``status_updates``, ``calendar_admin``), render.
Every POST carries a CSRF token (checked before any view runs); every page but the login
needs a signed-in lawyer.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from booking.terms import AgreementError
from booking.walltime import week_start
from service.core import urls
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import Booking, Calendar, CalendarAccount, Client, OutboxTask, utcnow
from service.usecases import (
    calendar_connect,
    change_requests,
    clients,
    dashboard,
    status_updates,
    steer,
    weekview,
    wording,
)
from service.web import admin_calls, admin_settings, auth, login_throttle
from service.web.admin_forms import (
    LANGUAGE_CHOICES,
    CalDAVForm,
    CallbackForm,
    ClientForm,
    ICSForm,
    LoginForm,
    NotesForm,
    PasswordForm,
    SettingsForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")

PUBLIC_ENDPOINTS = {"admin.login"}


@bp.before_request
def require_login():
    auth.forget_request_cache()
    if request.endpoint not in PUBLIC_ENDPOINTS and auth.current_lawyer() is None:
        return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))
    auth.csrf.protect()
    g.lawyer_area = True
    return None


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.context_processor
def admin_globals():
    return {
        "lawyer": auth.current_lawyer(),
        "status_words": {
            "active": gettext("active"), "paused": gettext("paused"), "archived": gettext("archived"),
        },
        "windows_words": wording.windows_words,
        "language_names": dict(LANGUAGE_CHOICES),
    }


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")


# -- signing in ----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if auth.current_lawyer() is not None:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        wait = login_throttle.blocked(form.email.data, address)
        if wait is not None:
            message = gettext("Too many failed sign-ins. Please wait %(minutes)d minutes and try again.",
                              minutes=(wait + 59) // 60)
            page = render_template("admin/login.html", form=form, error=message)
            return page, 429, {"Retry-After": str(wait)}
        lawyer = auth.authenticate(form.email.data, form.password.data)
        if lawyer is not None:
            login_throttle.succeeded(form.email.data, address)
            auth.log_in(lawyer)
            return redirect(_safe_next(request.args.get("next")))
        login_throttle.failed(form.email.data, address)
        flash(gettext("E-mail or password is wrong."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("admin/login.html", form=form), status


@bp.post("/logout")
def logout():
    auth.log_out()
    return redirect(url_for("admin.login"))


# -- dashboard -----------------------------------------------------------------------


@bp.get("/", endpoint="dashboard")
def home():
    board = dashboard.build(auth.current_lawyer(), utcnow())
    return render_template("admin/dashboard.html", board=board, notes_form=NotesForm,
                           change_requests=change_requests.open_for(auth.current_lawyer()))


def _own_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return booking


@bp.post("/bookings/<int:booking_id>/notes")
def save_notes(booking_id: int):
    booking = _own_booking(booking_id)
    form = NotesForm()
    if not form.validate():
        abort(400, gettext("The notes are too long."))
    booking.notes = (form.notes.data or "").replace("\r\n", "\n").strip()
    db.session.commit()
    flash(gettext("Notes saved."), "ok")
    return redirect(url_for("admin.dashboard") + f"#booking-{booking.id}")


@bp.post("/clients/<int:client_id>/status-sent")
def status_sent(client_id: int):
    client = _own_client(client_id)
    client.status_updated_on = status_updates.lawyer_today(client.lawyer, utcnow())
    db.session.commit()
    flash(gettext("Status update to %(name)s marked as sent.", name=client.name), "ok")
    if request.form.get("back") == "client":
        return redirect(url_for("admin.client", client_id=client.id))
    return redirect(url_for("admin.dashboard"))


@bp.post("/tasks/<int:task_id>/retry")
def retry_task(task_id: int):
    task = db.session.get(OutboxTask, task_id)
    if task is None or task.lawyer_id != auth.current_lawyer().id or task.status != "dead":
        abort(404)
    outbox.revive([task])
    db.session.commit()
    flash(gettext("The task will be tried again."), "ok")
    return redirect(url_for("admin.dashboard"))


# -- the week picture ----------------------------------------------------------------


@bp.get("/week")
def week():
    lawyer = auth.current_lawyer()
    today = status_updates.lawyer_today(lawyer, utcnow())
    raw = request.args.get("date")
    if raw is None:
        day = today
    else:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is None or not 1900 <= day.year <= 2999:
            abort(400, gettext("The date must look like 2026-03-02."))
    monday = week_start(day)
    return render_template(
        "admin/week.html",
        picture=weekview.week_picture(lawyer, monday),
        prev=(monday - timedelta(days=7)).isoformat(),
        next=(monday + timedelta(days=7)).isoformat(),
        today=today.isoformat(),
        is_this_week=monday == week_start(today),
        today_date=today,
        geo=weekview,
        **admin_calls.week_extras(lawyer, monday),
    )


# -- clients and agreements ----------------------------------------------------------


def _own_client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None or client.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return client


@bp.get("/clients")
def client_list():
    lawyer = auth.current_lawyer()
    archived = request.args.get("show") == "archived"
    query = sa.select(Client).where(Client.lawyer_id == lawyer.id).order_by(Client.name, Client.id)
    query = query.where(Client.status == "archived") if archived else query.where(Client.status != "archived")
    return render_template("admin/clients.html", clients=list(db.session.scalars(query)), archived=archived,
                           outcome_counts=steer.outcome_counts(lawyer.id))


def _edit_client(client: Client | None):
    if request.method == "POST":
        form = ClientForm()
    elif client is None:
        form = ClientForm(data=clients.new_client_defaults(auth.current_lawyer()))
    else:
        form = ClientForm(data=clients.form_data(client))
    if request.method == "POST" and request.form.get("action") == "add_row":
        form.windows.append_entry()
        form.fill_choices()
        return render_template("admin/client_form.html", form=form, client=client)
    form.fill_choices()
    errors: list[str] = []
    if request.method == "POST":
        valid = form.validate()  # marks every field; the windows and the agreement are checked too
        data = {name: f.data for name, f in form._fields.items() if name != "windows"}
        try:
            data["windows"] = clients.windows_text(clients.WindowRowData(**row) for row in form.windows.data)
        except clients.WindowsError as exc:
            errors.extend(exc.problems)
            valid = False
        if valid:
            try:
                data = clients.checked_agreement(data)
            except AgreementError as exc:
                errors.append(form.refuse(exc))
            except ValueError as exc:
                errors.append(str(exc))
            else:
                if client is None:
                    client, _token = clients.new_client(auth.current_lawyer(), data)
                    message = gettext("Client %(name)s created. Send them their booking link.", name=data["name"])
                else:
                    clients.apply_agreement(client, data)
                    message = gettext("Agreement with %(name)s saved.", name=data["name"])
                db.session.commit()
                flash(message, "ok")
                return redirect(url_for("admin.client", client_id=client.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/client_form.html", form=form, client=client, errors=errors), status


@bp.route("/clients/new", methods=["GET", "POST"])
def client_new():
    return _edit_client(None)


@bp.route("/clients/<int:client_id>/edit", methods=["GET", "POST"])
def client_edit(client_id: int):
    return _edit_client(_own_client(client_id))


@bp.get("/clients/<int:client_id>")
def client(client_id: int):
    client = _own_client(client_id)
    history = db.session.scalars(
        sa.select(Booking).where(Booking.client_id == client.id).order_by(Booking.start.desc()).limit(20)
    )
    return render_template(
        "admin/client.html",
        client=client,
        link=clients.booking_url(client),
        terms=dashboard.terms_for_lawyer(client),
        bookings=list(history),
        callback_form=CallbackForm(),
        owed=status_updates.owed_updates(client.lawyer, utcnow()),
        outcome_words=admin_calls.OUTCOME_WORDS,
    )


@bp.post("/clients/<int:client_id>/status")
def client_status(client_id: int):
    client = _own_client(client_id)
    status = request.form.get("status", "")
    if status not in clients.STATUSES:
        abort(400, gettext("Unknown status."))
    clients.set_status(client, status)
    db.session.commit()
    flash({
        "active": gettext("%(name)s is active again.", name=client.name),
        "paused": gettext("%(name)s is paused: the link shows no times until you resume.", name=client.name),
        "archived": gettext("%(name)s is archived: the link no longer works.", name=client.name),
    }[status], "ok")
    return redirect(url_for("admin.client", client_id=client.id))


@bp.post("/clients/<int:client_id>/regenerate-link")
def regenerate_link(client_id: int):
    client = _own_client(client_id)
    if request.form.get("confirm") != "yes":
        return render_template("admin/confirm_new_link.html", client=client)
    clients.regenerate_link(client)
    db.session.commit()
    flash(gettext("New link created; the old link no longer works."), "ok")
    return redirect(url_for("admin.client", client_id=client.id))


@bp.post("/clients/<int:client_id>/callback")
def callback_link(client_id: int):
    client = _own_client(client_id)
    form = CallbackForm()
    if not form.validate():
        abort(400, gettext("Choose how long the link is valid."))
    try:
        link, token = clients.create_callback(client, int(form.hours.data), utcnow())
    except ValueError as exc:
        abort(409, str(exc))
    db.session.commit()
    url = urls.booking_url(token)
    return render_template(
        "admin/callback.html",
        client=client,
        url=url,
        expires=link.expires_at.astimezone(client.lawyer.zone),
        message=clients.callback_message(client, url, link.expires_at),
    )


# -- calendars -----------------------------------------------------------------------


def _own_account(account_id: int) -> CalendarAccount:
    account = db.session.get(CalendarAccount, account_id)
    if account is None or account.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return account


def _calendars_page(status: int = 200, caldav: CalDAVForm | None = None, ics: ICSForm | None = None):
    lawyer = auth.current_lawyer()
    return render_template(
        "admin/calendars.html",
        accounts=calendar_connect.accounts_of(lawyer),
        caldav_form=caldav or CalDAVForm(formdata=None),
        ics_form=ics or ICSForm(formdata=None),
        google_available=calendar_connect.google_available(),
    ), status


@bp.get("/calendars")
def calendars():
    return _calendars_page()


def _connect(form, page: str, kind: str, *address: str):
    """Connect what ``form`` names (one use case for every kind); the form again on error."""
    if not form.validate():
        return _calendars_page(422, **{page: form})
    try:
        connected = calendar_connect.connect(auth.current_lawyer(), kind, *address)
    except calendar_connect.ConnectError as exc:
        flash(str(exc), "error")
        return _calendars_page(422, **{page: form})
    label = connected.account.label
    if connected.repaired:
        flash(gettext("Reconnected %(label)s: the new password is stored and the calendars sync again.",
                      label=label), "ok")
    else:
        flash(gettext("Connected %(label)s.", label=label), "ok")
    if connected.default_destination:
        written = next(c.name for c in connected.calendars if c.write_to)
        flash(gettext("Calls and preparation time are written to %(name)s, the account's only writable calendar.",
                      name=written), "ok")
    elif not calendar_connect.has_destination(auth.current_lawyer()):
        flash(gettext("Calls are not written to any calendar yet: choose below where they go."), "warn")
    return redirect(url_for("admin.calendars"))


@bp.post("/calendars/caldav")
def connect_caldav():
    form = CalDAVForm()
    return _connect(form, "caldav", "caldav", (form.url.data or "").strip(),
                    (form.username.data or "").strip(), form.password.data or "")


@bp.post("/calendars/ics")
def connect_ics():
    form = ICSForm()
    return _connect(form, "ics", "ics", (form.url.data or "").strip())


@bp.post("/calendars/google")
def connect_google():
    """Off to Google's consent screen; Google returns to ``/oauth/google/callback``."""
    try:
        url = calendar_connect.google_consent_url(auth.current_lawyer())
    except calendar_connect.ConnectError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.calendars"))
    return redirect(url)


@bp.post("/calendars/accounts/<int:account_id>/disconnect")
def disconnect(account_id: int):
    account = _own_account(account_id)
    label = account.label
    calendar_connect.disconnect(account)
    db.session.commit()
    flash(gettext("Disconnected %(label)s; its busy time is no longer used.", label=label), "ok")
    return redirect(url_for("admin.calendars"))


@bp.post("/calendars/accounts/<int:account_id>/choices")
def calendar_choices(account_id: int):
    account = _own_account(account_id)
    conflict = {int(v) for v in request.form.getlist("conflict") if v.isdigit()}
    write_to = request.form.get("write_to", "")
    calendar_connect.set_choices(account, conflict, int(write_to) if write_to.isdigit() else None)
    db.session.commit()
    flash(gettext("Calendar choices saved."), "ok")
    return redirect(url_for("admin.calendars"))


@bp.post("/calendars/<int:calendar_id>/sync")
def sync_now(calendar_id: int):
    calendar = db.session.get(Calendar, calendar_id)
    if calendar is None or calendar.lawyer_id != auth.current_lawyer().id:
        abort(404)
    calendar_connect.request_sync(calendar)
    db.session.commit()
    flash(gettext("Sync of %(name)s requested; it runs in the background within a minute.",
                  name=calendar.name), "ok")
    return redirect(url_for("admin.calendars"))


# -- settings ------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    lawyer = auth.current_lawyer()
    settings_form = SettingsForm(obj=lawyer if request.method == "GET" else None)
    password_form = PasswordForm(formdata=None)
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        if action == "language" and settings_form.validate():
            lawyer.language = settings_form.language.data
            db.session.commit()
            flash(gettext("Settings saved."), "ok")
            return redirect(url_for("admin.settings"))
        if action == "password":
            password_form = PasswordForm()
            if password_form.validate():
                if auth.authenticate(lawyer.email, password_form.current.data) is None:
                    password_form.current.errors.append(gettext("The current password is wrong."))
                else:
                    auth.change_password(lawyer, password_form.new.data)
                    db.session.commit()
                    auth.log_in(lawyer)  # this browser stays signed in; all others are out
                    flash(gettext("Password changed. Every other session is signed out."), "ok")
                    return redirect(url_for("admin.settings"))
        if action == "everywhere":
            auth.sign_out_everywhere(lawyer)
            db.session.commit()
            auth.log_out()
            return redirect(url_for("admin.login"))
        status = 422
    return render_template("admin/settings.html", settings_form=settings_form,
                           password_form=password_form), status


# The routes of the lawyer's calls and settings join this blueprint (their URL tables are there).
admin_calls.register(bp)
admin_settings.register(bp)
