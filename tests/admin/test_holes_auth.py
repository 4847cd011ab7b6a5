"""Sign-in holes of the security review (issue #12): logout on the server, the login
throttle that slows the attacker but not the owner, its keys in the shared namespace."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service.storage.models import AdminSession
from service.web import login_throttle
from tests.admin.conftest import PASSWORD, log_in, post


def test_logout_ends_the_session_server_side_a_replayed_cookie_fails(app, admin, db):
    """A copied cookie replayed after logout still worked for 12 hours."""
    copied = admin.get_cookie("session").value
    assert admin.get("/admin/").status_code == 200
    assert post(admin, "/admin/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    response = replay.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert db.session.scalar(sa.select(sa.func.count(AdminSession.id))) == 0


def test_logout_in_one_browser_leaves_the_others_signed_in(app, admin, lawyer):
    other = app.test_client()
    assert log_in(other, lawyer.email).status_code == 302
    post(admin, "/admin/logout")
    assert other.get("/admin/").status_code == 200


def test_sign_out_everywhere_kills_copied_cookies_too(app, admin, lawyer):
    copied = admin.get_cookie("session").value
    post(admin, "/admin/settings", {"action": "everywhere"})
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/admin/").status_code == 302


def test_expired_server_session_is_refused(app, admin, db):
    row = db.session.scalar(sa.select(AdminSession))
    row.expires_at = row.created_at
    db.session.commit()
    assert admin.get("/admin/").status_code == 302


# The throttle tests run on the real clock (see test_auth.py).


def _spread_attack(app, email: str, addresses: int = 60) -> None:
    for n in range(addresses):
        attacker = app.test_client()
        for _ in range(1):
            log_in(attacker, email, "guess", environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"})


def test_failed_sign_ins_spread_over_addresses_never_lock_the_owner_out(app, lawyer):
    """50 failures from 50 addresses locked the lawyer out of their own account from
    every new address; the owner's own browser (signed in before) still gets in."""
    owner = app.test_client()
    assert log_in(owner, lawyer.email, environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 302
    post(owner, "/admin/logout", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    _spread_attack(app, lawyer.email)
    # The attacker, from yet another address, is slowed down: refused even with the password.
    fresh = app.test_client()
    assert log_in(fresh, lawyer.email, PASSWORD, environ_base={"REMOTE_ADDR": "203.0.113.77"}).status_code == 429
    # The owner, travelling (a new address), signs in.
    response = log_in(owner, lawyer.email, environ_base={"REMOTE_ADDR": "203.0.113.200"})
    assert response.status_code == 302


def test_owner_device_cookie_is_for_one_account_only(app, lawyer, make_lawyer):
    from werkzeug.security import generate_password_hash

    other = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    browser = app.test_client()
    assert log_in(browser, other.email).status_code == 302  # a cookie for the other account
    post(browser, "/admin/logout")
    _spread_attack(app, lawyer.email)
    assert log_in(browser, lawyer.email, environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 429


def test_owner_device_cookie_has_its_own_limit(app, lawyer):
    """A stolen device cookie does not buy unlimited guesses."""
    browser = app.test_client()
    assert log_in(browser, lawyer.email).status_code == 302
    post(browser, "/admin/logout")
    codes = [log_in(browser, lawyer.email, "guess", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
             for n in range(1, 13)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


@pytest.mark.parametrize("cookie", ["", "garbage", "x" * 2000])
def test_forged_device_cookie_counts_as_unknown(app, cookie):
    with app.test_request_context():
        assert login_throttle.known_device(cookie, "a@b.example") is None


def test_login_throttle_keys_live_under_ratelimit_key_prefix(app, client, lawyer):
    """The throttle's counters were stored outside RATELIMIT_KEY_PREFIX, so two
    installations sharing one Redis counted each other's failures."""
    app.config["RATELIMIT_KEY_PREFIX"] = "install-a"
    log_in(client, lawyer.email, "guess")
    backend = login_throttle._limiter().storage
    keys = list(backend.storage.keys()) if hasattr(backend, "storage") else []
    login_keys = [k for k in keys if "login" in k]
    assert login_keys and all("install-a" in k for k in login_keys)
    # Another prefix (another installation on the same storage) starts from zero.
    for _ in range(5):
        log_in(client, lawyer.email, "guess")
    assert log_in(client, lawyer.email).status_code == 429
    app.config["RATELIMIT_KEY_PREFIX"] = "install-b"
    assert log_in(client, lawyer.email).status_code == 302


@pytest.mark.parametrize("name", ["\u200b\u200d", "Anna \u202eKeller", "\u3164\u3164", "\u2067Boris\u2069"])
def test_bidi_override_and_zero_width_client_names_refused_in_the_admin(admin, db, name):
    """The admin's client form took names that show reversed or as nothing at all."""
    from service.storage.models import Client
    from tests.admin.test_clients import form

    response = post(admin, "/admin/clients/new", form(name=name))
    assert response.status_code == 422
    assert "visible letters" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 0
