"""Signing in: anonymous access refused everywhere, throttling, sessions, CSRF, cookies."""

from __future__ import annotations

import re
import time

import pytest

from tests.admin.conftest import PASSWORD, csrf_token, log_in, post
from tests.conftest import app_config


def admin_rules(app):
    """Every admin route but those open signed out: the login and the ways back in
    (forgot password, mailed links: tests/firm/test_sign_in_links.py)."""
    from service.web import admin

    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and rule.endpoint not in admin.PUBLIC_ENDPOINTS:
            yield rule


def test_only_the_login_and_the_ways_back_in_are_open_signed_out():
    from service.web import admin

    assert {"admin.login", "admin.forgot_password", "admin.reset_password",
                                      "admin.request_sign_in_link", "admin.sign_in_link"} == admin.PUBLIC_ENDPOINTS


def test_every_admin_route_refuses_anonymous_access(app, client, lawyer, make_client):
    make_client(lawyer=lawyer)  # so that id 1 exists: refusal must not depend on a 404
    rules = list(admin_rules(app))
    assert len(rules) >= 20
    for rule in rules:
        url = rule.build({arg: 1 for arg in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/admin/login"), (method, url)


def test_login_page_is_open_and_has_the_documented_fields(client):
    page = client.get("/admin/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html and 'name="csrf_token"' in html


def test_admin_root_redirects_to_login_form(client):
    response = client.get("/admin/", follow_redirects=True)
    assert response.status_code == 200 and 'name="password"' in response.get_data(as_text=True)


def test_right_password_signs_in_and_returns_to_next(client, lawyer):
    token = csrf_token(client)
    response = client.post("/admin/login?next=/admin/week?date=2026-03-02",
                           data={"email": lawyer.email.upper(), "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/week?date=2026-03-02"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/admin", "/\\evil.example", "/b/x"])
def test_next_never_leaves_the_admin_area(client, lawyer, target):
    token = csrf_token(client)
    response = client.post(f"/admin/login?next={target}",
                           data={"email": lawyer.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_wrong_password_and_unknown_email_look_the_same(client, lawyer):
    wrong = log_in(client, lawyer.email, "not the password")
    unknown = log_in(client, "nobody@counsel.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "E-mail or password is wrong." in wrong.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_lawyer_without_password_cannot_sign_in(client, make_lawyer):
    lawyer = make_lawyer()
    assert log_in(client, lawyer.email, "").status_code == 400  # empty password: form error
    assert log_in(client, lawyer.email, "anything at all").status_code == 401


# The throttle tests run on the real clock: the memory storage of ``limits`` expires
# entries from a timer thread, which freezegun leaves on real time.


def test_wrong_passwords_are_rate_limited_even_the_right_one_then(client, lawyer, monkeypatch):
    for _ in range(5):
        assert log_in(client, lawyer.email, "guess").status_code == 401
    blocked = log_in(client, lawyer.email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # still signed out
    later = time.time() + 16 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert log_in(client, lawyer.email, PASSWORD).status_code == 302


def test_throttle_is_per_address_too(app, lawyer):
    attacker = app.test_client()
    for n in range(30):
        log_in(attacker, f"guess{n}@counsel.example", "guess", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert log_in(attacker, lawyer.email, PASSWORD, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    # The lawyer, from another address, is not locked out by it.
    assert log_in(app.test_client(), lawyer.email, PASSWORD).status_code == 302


def test_success_forgives_earlier_typos(client, lawyer):
    for _ in range(4):
        log_in(client, lawyer.email, "typo")
    assert log_in(client, lawyer.email, PASSWORD).status_code == 302
    post(client, "/admin/logout")
    for _ in range(4):
        assert log_in(client, lawyer.email, "typo").status_code == 401
    assert log_in(client, lawyer.email, PASSWORD).status_code == 302


def test_logout_ends_the_session(admin):
    assert post(admin, "/admin/logout").status_code == 302
    assert admin.get("/admin/").status_code == 302


def test_old_session_is_invalid_after_password_change_by_cli(admin, runner, lawyer):
    result = runner.invoke(args=["lawyer", "set-password", "--lawyer", str(lawyer.id), "--password", "a new password 1"])
    assert result.exit_code == 0, result.output
    response = admin.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_password_change_in_settings_signs_out_other_sessions_only(app, admin, lawyer):
    other = app.test_client()
    assert log_in(other, lawyer.email).status_code == 302
    response = post(admin, "/admin/settings", {"action": "password", "current": PASSWORD,
                                               "new": "another password 2", "repeat": "another password 2"})
    assert response.status_code == 302
    assert admin.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302
    post(admin, "/admin/logout")
    assert log_in(admin, lawyer.email, "another password 2").status_code == 302


def test_password_change_needs_the_current_password(admin):
    response = post(admin, "/admin/settings", {"action": "password", "current": "wrong",
                                               "new": "another password 2", "repeat": "another password 2"})
    assert response.status_code == 422
    assert "The current password is wrong." in response.get_data(as_text=True)


def test_sign_out_everywhere(app, admin, lawyer):
    other = app.test_client()
    log_in(other, lawyer.email)
    post(admin, "/admin/settings", {"action": "everywhere"})
    assert admin.get("/admin/").status_code == 302
    assert other.get("/admin/").status_code == 302


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_admin_post_without_valid_csrf_token_is_400(admin, lawyer, make_client, token):
    client, _ = make_client(lawyer=lawyer)
    data = {"status": "archived"} | ({"csrf_token": token} if token is not None else {})
    response = admin.post(f"/admin/clients/{client.id}/status", data=data)
    assert response.status_code == 400
    assert client.status == "active"


def test_login_without_csrf_token_is_400(client, lawyer):
    client.get("/admin/login")
    response = client.post("/admin/login", data={"email": lawyer.email, "password": PASSWORD})
    assert response.status_code == 400


def test_csrf_token_of_another_session_is_refused(app, admin, lawyer, make_client):
    client, _ = make_client(lawyer=lawyer)
    stranger_token = csrf_token(app.test_client())
    response = admin.post(f"/admin/clients/{client.id}/status", data={"status": "archived", "csrf_token": stranger_token})
    assert response.status_code == 400


def test_public_booking_form_needs_no_admin_csrf_token(frozen, client, make_client):
    _, token = make_client()
    page = client.get(f"/b/{token}").get_data(as_text=True)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    start = re.search(r'data-slot-start="([^"]+)"', page).group(1)
    response = client.post(f"/b/{token}", data={"form_token": form_token, "start": start, "name": "Boris",
                                                "email": "boris@client.example", "agenda": "Clause 4"})
    assert response.status_code == 303


def test_session_cookie_flags_over_http(client, lawyer):
    response = log_in(client, lawyer.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_when_base_url_is_https(tmp_path, monkeypatch):
    from service import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, BASE_URL="https://counsel.example"))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.test_request_context("/admin/login", base_url="https://counsel.example"):
        from flask import session

        session["x"] = 1
        response = app.make_response("")
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_another_lawyers_client_is_404(admin, make_lawyer, make_client):
    stranger, _ = make_client(lawyer=make_lawyer())
    assert admin.get(f"/admin/clients/{stranger.id}").status_code == 404
    assert post(admin, f"/admin/clients/{stranger.id}/regenerate-link").status_code == 404


def test_admin_pages_are_not_cached(admin):
    assert admin.get("/admin/").headers["Cache-Control"] == "no-store"
