"""The lawyer's area ``/admin``: every URL of it is in this file, but for the calls from the
lawyer's side (``service.web.admin_calls``), the practice settings
(``service.web.admin_settings``) and the password-reset and sign-in links
(``service.web.admin_signin``), which add their routes to this blueprint.

Views are thin: parse, authorize (the signed-in lawyer owns what is asked for), call the
helpers (``clients``, ``weekview``, ``status_updates``, ``calendar_admin``), render.
Every POST carries a CSRF token (checked before any view runs); every page but the login
needs a signed-in lawyer.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from booking import letters as booking_letters
from booking.terms import AgreementError
from booking.walltime import week_start
from service.core import urls
from service.jobs import status_letters
from service.storage import outbox
from service.storage.extensions import db
from service.storage.models import (
    Booking,
    BookingFile,
    Calendar,
    CalendarAccount,
    Client,
    OutboxTask,
    UrgentRequest,
    utcnow,
)
from service.usecases import (
    audit,
    calendar_connect,
    change_requests,
    clients,
    dashboard,
    intake_holds,
    letters,
    load,
    readiness,
    status_updates,
    steer,
    urgent,
    weekview,
    wording,
)
from service.usecases.errors import Refused
from service.web import (
    admin_calls,
    admin_settings,
    admin_signin,
    auth,
    error_words,
    login_throttle,
    oauth_binding,
    params,
)
from service.web.admin_forms import (
    LANGUAGE_CHOICES,
    CalDAVForm,
    CallbackForm,
    ClientForm,
    ICSForm,
    LoginForm,
    NotesForm,
    PasswordForm,
    ProfileForm,
    SettingsForm,
)
from service.web.errors import status_of

bp = Blueprint("admin", __name__, url_prefix="/admin")

PUBLIC_ENDPOINTS = {"admin.login"} | admin_signin.PUBLIC
#: Pages of the lawyer alone: an assistant never sees passwords or calendar secrets.
LAWYER_ONLY = {"admin.settings"}
LAWYER_ONLY_PREFIXES = ("admin.calendar", "admin.connect_", "admin.disconnect", "admin.sync_now")
#: Pages a signed-in person without a lawyer to act for (a firm admin only) may open.
WITHOUT_LAWYER = {"admin.logout"}


def role_gate(endpoint: str | None):
    """Who may open ``endpoint`` (``service.web.firm`` uses it too): a redirect to the login
    page, a 404 for what the person's role does not reach, None when allowed."""
    person = auth.current_person()
    if person is None:
        return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))
    audit.set_actor(person.actor())
    endpoint = endpoint or ""
    if person.role != "lawyer" and (endpoint in LAWYER_ONLY or endpoint.startswith(LAWYER_ONLY_PREFIXES)):
        abort(404)
    if auth.current_lawyer() is None and endpoint not in WITHOUT_LAWYER and endpoint.startswith("admin."):
        if endpoint == "admin.dashboard" and person.is_firm_admin:
            return redirect(url_for("firm.people"))
        abort(404)
    return None


@bp.before_request
def require_login():
    auth.forget_request_cache()
    if request.endpoint not in PUBLIC_ENDPOINTS:
        refused = role_gate(request.endpoint)
        if refused is not None:
            return refused
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
    person = auth.current_person() if request.endpoint not in PUBLIC_ENDPOINTS else None
    return {
        "lawyer": auth.current_lawyer(),
        "person": person,
        "acting_choices": auth.assigned_lawyers(person.user) if person and person.user else [],
        "status_words": {
            "active": gettext("active"), "paused": gettext("paused"), "archived": gettext("archived"),
        },
        "windows_words": wording.windows_words,
        "language_names": dict(LANGUAGE_CHOICES),
    }


def _safe_next(target: str | None) -> str:
    if (target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target
            and len(target) <= 2000 and target.isprintable() and " " not in target):
        return target  # no CR/LF, controls or spaces: the Location header stays one line
    return url_for("admin.dashboard")


# -- signing in ----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if auth.current_person() is not None:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        device = login_throttle.known_device(request.cookies.get(login_throttle.DEVICE_COOKIE), form.email.data)
        wait = login_throttle.blocked(form.email.data, address, device)
        if wait is not None:
            message = gettext("Too many failed sign-ins. Please wait %(minutes)d minutes and try again.",
                              minutes=(wait + 59) // 60)
            # The owner may be locked out by an attack spread over many addresses: a one-time
            # link to the account's own address lets them in (and marks this browser).
            page = render_template("admin/login.html", form=form, error=message, offer_link=True)
            return page, 429, {"Retry-After": str(wait)}
        signed_in = auth.authenticate_person(form.email.data, form.password.data)
        if signed_in is not None:
            login_throttle.succeeded(form.email.data, address, device)
            auth.log_in_person(signed_in)
            response = redirect(_safe_next(request.args.get("next")))
            auth.remember_device(response, login_throttle.new_device_cookie(form.email.data, device))
            return response
        login_throttle.failed(form.email.data, address, device)
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
    lawyer, now = auth.current_lawyer(), utcnow()
    board = dashboard.build(lawyer, now)
    requests = [(b, wording.when(b, lawyer.timezone)) for b in intake_holds.requests_for(lawyer.id)]
    return render_template("admin/dashboard.html", board=board, notes_form=NotesForm,
                           requests=requests,
                           change_requests=change_requests.open_for(lawyer),
                           figures=load.figures(lawyer, now), minutes_words=load.minutes_words,
                           urgent_requests=urgent.pending_for(lawyer), urgent_day=urgent.deadline_day)


@bp.post("/bookings/<int:booking_id>/approve")
def approve_request(booking_id: int):
    """A new client's request (``approve_new_clients``): accept it, the invite goes out."""
    booking = _own_booking(booking_id)
    try:
        intake_holds.approve(booking)
    except Refused:
        abort(409, gettext("This booking is not waiting for approval."))
    db.session.commit()
    flash(gettext("Request accepted; %(name)s gets the invitation.", name=booking.name), "ok")
    return redirect(url_for("admin.dashboard"))


@bp.post("/bookings/<int:booking_id>/decline")
def decline_request(booking_id: int):
    booking = _own_booking(booking_id)
    try:
        intake_holds.decline(booking, utcnow())
    except Refused:
        abort(409, gettext("This booking is not waiting for approval."))
    db.session.commit()
    flash(gettext("Request declined; the time is free again."), "ok")
    return redirect(url_for("admin.dashboard"))


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
    booking.for_letter = bool(form.for_letter.data)
    audit.record(None, "booking.notes_saved", booking)
    db.session.commit()
    flash(gettext("Notes saved."), "ok")
    return redirect(url_for("admin.dashboard") + f"#booking-{booking.id}")


@bp.get("/files/<int:file_id>")
def booking_file(file_id: int):
    """A document a client attached to a call, decrypted, for the call's lawyer only."""
    record = db.session.get(BookingFile, file_id)
    if record is None:
        abort(404)
    _own_booking(record.booking_id)
    response = Response(readiness.read_file(record), mimetype=record.mime)
    response.headers["Content-Disposition"] = content_disposition(record.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(name)}'


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
        figures=load.figures(lawyer, utcnow(), monday),
        minutes_words=load.minutes_words,
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
                warning = load.overcommit(auth.current_lawyer(), data, client)
                if warning is not None and request.form.get("confirm_over") != str(warning.over):
                    # The confirm step: the same form again, with the amount and "save anyway".
                    return render_template("admin/client_form.html", form=form, client=client,
                                           overcommit=load.overcommit_words(warning),
                                           confirm_over=warning.over)
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
        microsoft_available=calendar_connect.microsoft_available(),
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
        url, state = calendar_connect.google_consent(auth.current_lawyer())
    except calendar_connect.ConnectError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.calendars"))
    oauth_binding.start("google", state)  # only this browser may finish the consent
    return redirect(url)


@bp.post("/calendars/microsoft")
def connect_microsoft():
    """Off to Microsoft's sign-in; the answer returns to ``/oauth/microsoft/callback``,
    accepted once and only in this browser session."""
    try:
        url, state = calendar_connect.microsoft_consent(auth.current_lawyer())
    except calendar_connect.ConnectError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.calendars"))
    oauth_binding.start("microsoft", state)  # only this browser may finish the sign-in
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
    conflict = {n for n in map(params.parse_id, request.form.getlist("conflict")) if n is not None}
    calendar_connect.set_choices(account, conflict, params.parse_id(request.form.get("write_to", "")))
    if account.kind == "microsoft":
        tentative_free = {
            n for n in map(params.parse_id, request.form.getlist("tentative_free")) if n is not None
        }
        calendar_connect.set_tentative_free(account, tentative_free)
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
    editing_profile = request.method == "POST" and request.form.get("action") == "profile"
    profile_form = ProfileForm() if editing_profile else ProfileForm(formdata=None, obj=lawyer)
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        if action == "profile" and profile_form.validate():
            lawyer.office_address = " ".join((profile_form.office_address.data or "").split())
            lawyer.no_show_flag_at = profile_form.no_show_flag_at.data
            db.session.commit()
            flash(gettext("Settings saved."), "ok")
            return redirect(url_for("admin.settings"))
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
        if action == "approval":
            lawyer.approve_new_clients = request.form.get("approve_new_clients") == "1"
            db.session.commit()
            flash(gettext("Settings saved."), "ok")
            return redirect(url_for("admin.settings"))
        if action == "everywhere":
            auth.sign_out_everywhere(lawyer)
            db.session.commit()
            auth.log_out()
            return redirect(url_for("admin.login"))
        status = 422
    return render_template("admin/settings.html", settings_form=settings_form,
                           password_form=password_form, profile_form=profile_form), status


# -- status letters (issue #15) ------------------------------------------------------


@bp.route("/clients/<int:client_id>/letter", methods=["GET", "POST"])
def status_letter(client_id: int):
    """The draft of the client's status letter; the lawyer edits it and sends it."""
    client = _own_client(client_id)
    now = utcnow()
    text, error, status = None, None, 200
    if request.method == "POST":
        text = request.form.get("text", "")
        try:
            _letter, mailed = status_letters.send_now(client, text, now)
        except Refused as exc:
            db.session.rollback()
            error, status = error_words.translate_error(exc), status_of(exc)
        else:
            flash(gettext("Status letter sent to %(name)s.", name=client.name) if mailed else
                  gettext("Status letter to %(name)s saved; the e-mail will be retried.", name=client.name),
                  "ok" if mailed else "error")
            return redirect(url_for("admin.dashboard"))
    return render_template(
        "admin/letter.html",
        client=client,
        text=letters.draft(client, now) if text is None else text,
        subject=letters.subject_for(client),
        sent=letters.letters_of(client),
        due_on=letters.due_day(client, now),
        error=error,
    ), status


@bp.route("/letters/template", methods=["GET", "POST"])
def letter_template():
    lawyer = auth.current_lawyer()
    language = request.values.get("language", lawyer.language)
    if language not in dict(LANGUAGE_CHOICES):
        abort(400, gettext("Unknown language."))
    error, status, text = None, 200, None
    if request.method == "POST":
        text = request.form.get("template", "")
        try:
            letters.set_template(lawyer, language, text)
        except Refused as exc:
            error, status = exc.message, 422
        else:
            db.session.commit()
            flash(gettext("Letter template saved."), "ok")
            return redirect(url_for("admin.letter_template", language=language))
    return render_template(
        "admin/letter_template.html",
        language=language,
        template=letters.template_of(lawyer, language) if text is None else text,
        fields=booking_letters.NAMES.get(language, booking_letters.FIELDS),
        error=error,
    ), status


# -- the week's commitments and reserved time (issue #15) ---------------------------


def _minutes_field(name: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise Refused(f"invalid_{name}", gettext("Please give whole minutes."))
    return int(raw)


@bp.route("/load", methods=["GET", "POST"])
def load_settings():
    """The committed load against capacity, and the settings behind it."""
    lawyer = auth.current_lawyer()
    error, status = None, 200
    if request.method == "POST":
        try:
            capacity = _minutes_field("capacity")
            load.apply_settings(
                lawyer, capacity=capacity, clear_capacity=capacity is None,
                letter_minutes=_minutes_field("letter_minutes") or 0,
                reserve_windows=request.form.get("reserve_windows", ""),
                show_demand=request.form.get("show_demand") == "y",
            )
        except Refused as exc:
            db.session.rollback()
            error, status = exc.message, 422
        else:
            db.session.commit()
            flash(gettext("Settings saved."), "ok")
            return redirect(url_for("admin.load_settings"))
    return render_template("admin/load.html", figures=load.figures(lawyer, utcnow()),
                           minutes_words=load.minutes_words, error=error), status


def _own_request(request_id: int) -> UrgentRequest:
    found = db.session.get(UrgentRequest, request_id)
    if found is None or found.client.lawyer_id != auth.current_lawyer().id:
        abort(404)
    return found


@bp.post("/urgent/<int:request_id>/accept")
def urgent_accept(request_id: int):
    """Accept an urgent request: a callback link until its deadline, to send the client."""
    found = _own_request(request_id)
    now = utcnow()
    link, token = urgent.accept(found, now)  # a Refused is a 409 page
    db.session.commit()
    client = found.client
    url = urls.booking_url(token)
    return render_template("admin/callback.html", client=client, url=url,
                           expires=link.expires_at.astimezone(client.lawyer.zone),
                           message=clients.callback_message(client, url, link.expires_at))


@bp.post("/urgent/<int:request_id>/decline")
def urgent_decline(request_id: int):
    found = _own_request(request_id)
    urgent.decline(found)
    db.session.commit()
    flash(gettext("Urgent request from %(name)s declined.", name=found.client.name), "ok")
    return redirect(url_for("admin.dashboard"))


# The routes of the lawyer's calls and settings join this blueprint (their URL tables are there).
admin_calls.register(bp)
admin_settings.register(bp)
admin_signin.register(bp)
