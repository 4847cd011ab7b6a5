"""Admin fixtures: a lawyer with a password, a signed-in test client, CSRF tokens."""

from __future__ import annotations

import re

import pytest

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(http, path: str = "/admin/login") -> str:
    """A CSRF token for ``http``'s session, read from a page that carries one."""
    page = http.get(path, follow_redirects=True).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
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
