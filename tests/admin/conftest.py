"""Admin fixtures: a lawyer with a password, a signed-in test client, CSRF tokens."""

from __future__ import annotations

import re

import pytest

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _session_secret(http) -> str | None:
    """The raw CSRF secret Flask-WTF keeps in the test browser's session (None: none yet)."""
    if http.get_cookie("session") is None:
        return None
    with http.session_transaction() as session:
        return session.get("csrf_token")


def csrf_token(http, path: str = "/admin/login") -> str:
    """A CSRF token for ``http``'s session, read from a page that carries one.

    A token read once is kept while the session's CSRF secret is unchanged (Flask-WTF's
    token is bound to it): loading a page before every POST was a large part of the admin
    tests' time (1,400 dashboard renders in two files)."""
    secret = _session_secret(http)
    kept = getattr(http, "_csrf_kept", {})
    if secret is not None and (path, secret) in kept:
        return kept[(path, secret)]
    page = http.get(path, follow_redirects=True).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    secret = _session_secret(http)
    if secret is not None:
        http._csrf_kept = {(path, secret): match.group(1)}
    return match.group(1)


def log_in(http, email: str, password: str = PASSWORD, **extra):
    token = csrf_token(http, "/admin/login")
    return http.post("/admin/login", data={"email": email, "password": password, "csrf_token": token}, **extra)


#: Flask-WTF checks the Referer of HTTPS form posts.
SAME_SITE = {"Referer": "https://localhost/admin/login"}


def https_browser(app, lawyer=None):
    """A new browser over https (Secure cookies, as with an https ``BASE_URL``), signed in
    as ``lawyer`` if given (the OAuth callbacks' tests)."""
    http = app.test_client()
    http.environ_base["wsgi.url_scheme"] = "https"
    if lawyer is not None:
        assert log_in(http, lawyer.email, headers=SAME_SITE).status_code == 302
    return http


def post(http, path: str, data: dict | None = None, token_from: str = "/admin/", **extra):
    """POST an admin form with a valid CSRF token."""
    return http.post(path, data={"csrf_token": csrf_token(http, token_from), **(data or {})}, **extra)


@pytest.fixture
def lawyer(make_lawyer):
    """A lawyer with a password; a cheap scrypt cost keeps the many sign-ins in tests fast."""
    from werkzeug.security import generate_password_hash

    return make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"), max_per_day=3)


@pytest.fixture
def admin(client, lawyer):
    """A test client signed in as ``lawyer``."""
    response = log_in(client, lawyer.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture(autouse=True)
def _show_unhandled(monkeypatch):
    """Unhandled errors fail loudly in admin tests (the app's log is silenced by Alembic)."""
    import traceback

    from service.web import errors

    def boom(msg, *args, **kwargs):
        traceback.print_exc()
        raise AssertionError("unhandled error: " + msg % args)

    monkeypatch.setattr(errors.log, "exception", boom)
