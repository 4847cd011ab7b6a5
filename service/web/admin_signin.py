"""The ways back into the admin area when the password does not work (part of the ``admin``
blueprint; ``service.web.admin`` registers them; this module's URLs are listed here):

- ``GET|POST /admin/forgot``          ask for a password-reset link (mailed, 1 h, once)
- ``GET|POST /admin/reset/<token>``   choose the new password; every other session ends
- ``POST /admin/signin-link``         ask for a one-time sign-in link (offered while the
                                      account is locked by failed sign-ins)
- ``GET|POST /admin/signin/<token>``  a button that signs in (a GET alone never spends the
                                      link: mail scanners open links); the browser becomes a
                                      known device for the login throttle

Asking answers the same page whether or not the address signs in; requests are limited
per address (429) and per account (silently: nothing more is mailed).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from service.storage.extensions import db
from service.storage.models import utcnow
from service.usecases import signin
from service.usecases.errors import Refused
from service.web import auth, error_words, login_throttle
from service.web.admin_forms import LinkRequestForm, NewPasswordForm
from service.web.admin_routes import Routes
from service.web.errors import status_of

bp = Routes()
register = bp.register

#: Endpoints open without signing in.
PUBLIC = {"admin.forgot_password", "admin.reset_password", "admin.request_sign_in_link", "admin.sign_in_link"}


def _ask(purpose: str):
    """Handle a posted ``LinkRequestForm``: the same page whatever the address."""
    form = LinkRequestForm()
    if not form.validate_on_submit():
        return render_template("admin/forgot.html", form=form, sent=False, purpose=purpose), 400
    address = request.remote_addr or "unknown"
    by_address, by_account = login_throttle.link_allowed(form.email.data, address)
    if not by_address:
        message = gettext("Too many requests from your network. Please try again in an hour.")
        return render_template("admin/forgot.html", form=form, sent=False, purpose=purpose, error=message), 429
    if by_account:
        signin.request_link(form.email.data, purpose)
        db.session.commit()
    return render_template("admin/forgot.html", form=form, sent=True, purpose=purpose)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    if request.method == "POST":
        return _ask("reset")
    return render_template("admin/forgot.html", form=LinkRequestForm(), sent=False, purpose="reset")


@bp.post("/signin-link")
def request_sign_in_link():
    return _ask("signin")


def _link_gone(exc: Refused):
    return render_template("admin/link_gone.html", message=error_words.translate_error(exc)), status_of(exc)


def _signed_in(person, email: str):
    """Sign ``person`` in here and mark this browser as a known device for the account."""
    auth.log_in(person)
    response = redirect(url_for("admin.dashboard"), 303)
    device = login_throttle.known_device(request.cookies.get(login_throttle.DEVICE_COOKIE), email)
    login_throttle.succeeded(email, request.remote_addr or "unknown", device)
    auth.remember_device(response, login_throttle.new_device_cookie(email, device))
    return response


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    now = utcnow()
    try:
        signin.open_link(token, "reset", now)
    except Refused as exc:
        return _link_gone(exc)
    form = NewPasswordForm() if request.method == "POST" else NewPasswordForm(formdata=None)
    if request.method == "POST":
        if form.validate():
            try:
                person = signin.reset_password(token, form.new.data, now)
            except Refused as exc:
                db.session.rollback()
                return _link_gone(exc)
            flash(gettext("Password changed. Every other session is signed out."), "ok")
            return _signed_in(person, person.email)
        return render_template("admin/reset.html", form=form), 422
    return render_template("admin/reset.html", form=form)


@bp.route("/signin/<token>", methods=["GET", "POST"])
def sign_in_link(token: str):
    now = utcnow()
    try:
        _link, person = signin.open_link(token, "signin", now)
    except Refused as exc:
        return _link_gone(exc)
    if request.method == "POST":
        try:
            person = signin.sign_in_by_link(token, now)
        except Refused as exc:
            db.session.rollback()
            return _link_gone(exc)
        return _signed_in(person, person.email)
    return render_template("admin/signin_link.html", email=person.email)
