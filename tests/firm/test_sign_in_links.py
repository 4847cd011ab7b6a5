"""Mailed one-time links: "forgot password" for lawyers and firm users, and the sign-in
link that lets the owner in while a spread guessing attack locks the account (#12, #17).
Mail goes through the outbox to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service.jobs import worker
from service.storage import outbox
from service.storage.models import AdminSession, AuditEvent, OutboxTask, SignInLink
from tests.admin.conftest import PASSWORD, csrf_token, log_in, post

RESET = re.compile(r"http://counsel\.test(/admin/reset/[\w-]+)")
SIGNIN = re.compile(r"http://counsel\.test(/admin/signin/[\w-]+)")
NEW_PASSWORD = "a brand new passphrase"


def _ask(http, email: str, path: str = "/admin/forgot", **extra):
    return http.post(path, data={"email": email, "csrf_token": csrf_token(http, "/admin/forgot")}, **extra)


def _mail(smtp, address: str) -> list:
    assert worker.run_once  # importing the worker registers every outbox handler
    assert outbox.run_due()["failed"] == 0
    return smtp.to(address)


def _link(smtp, address: str, pattern=RESET) -> str:
    (message,) = _mail(smtp, address)
    return pattern.search(message.get_body(("plain",)).get_content()).group(1)


def _reset(http, path: str, password: str = NEW_PASSWORD, token_from: str | None = None):
    token = csrf_token(http, token_from or path)
    return http.post(path, data={"new": password, "repeat": password, "csrf_token": token})


@pytest.mark.parametrize("who", ["lawyer_a", "assistant_a", "admin_2"])
def test_forgot_password_mails_a_one_time_link_that_resets_and_ends_other_sessions(app, db, smtp, world, frozen,
                                                                                   who):
    person = getattr(world, who)
    elsewhere = app.test_client()
    assert log_in(elsewhere, person.email).status_code == 302
    http = app.test_client()
    answer = _ask(http, person.email.upper())
    assert answer.status_code == 200 and "data-link-sent" in answer.get_data(as_text=True)
    path = _link(smtp, person.email)
    assert http.get(path).status_code == 200
    done = _reset(http, path)
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/")
    assert http.get("/admin/account", follow_redirects=True).status_code == 200  # signed in here
    assert elsewhere.get("/admin/account").status_code == 302  # every other session ended
    assert db.session.scalar(sa.select(sa.func.count(AdminSession.id))) == 1
    assert log_in(app.test_client(), person.email, PASSWORD).status_code == 401
    assert log_in(app.test_client(), person.email, NEW_PASSWORD).status_code == 302
    # the link works once
    assert app.test_client().get(path).status_code == 404
    assert _reset(app.test_client(), path, "yet another passphrase", token_from="/admin/login").status_code == 404
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"person.reset_link_sent", "person.password_reset"} <= actions


def test_forgot_password_answers_the_same_for_an_unknown_address(app, db, smtp, world, frozen):
    """No account enumeration: the same status and page, whatever the address."""
    known = _ask(app.test_client(), "anna@keller.example").get_data(as_text=True)
    unknown = _ask(app.test_client(), "nobody@keller.example").get_data(as_text=True)
    assert known.replace("anna@", "X@") == unknown.replace("nobody@", "X@")
    assert _mail(smtp, "nobody@keller.example") == []
    assert db.session.scalar(sa.select(sa.func.count(SignInLink.id))) == 1


def test_reset_link_expires_after_an_hour(app, db, smtp, world, frozen):
    _ask(app.test_client(), world.lawyer_a.email)
    path = _link(smtp, world.lawyer_a.email)
    frozen.tick(timedelta(minutes=61))
    http = app.test_client()
    assert http.get(path).status_code == 404
    assert _reset(http, path, token_from="/admin/login").status_code == 404
    assert log_in(app.test_client(), world.lawyer_a.email, PASSWORD).status_code == 302


def test_reset_link_is_stored_hashed_and_queued_encrypted(app, db, smtp, world, frozen):
    _ask(app.test_client(), world.assistant_a.email)
    token = _link(smtp, world.assistant_a.email).rsplit("/", 1)[1]
    payloads = [repr(task.payload) for task in db.session.scalars(sa.select(OutboxTask))]
    assert len(payloads) >= 2 and all(token not in p and world.assistant_a.email not in p for p in payloads)
    row = db.session.scalar(sa.select(SignInLink))
    assert row.token_hash != token and token not in row.token_hash


def _written(db) -> dict:
    return {"links": db.session.scalar(sa.select(sa.func.count(SignInLink.id))),
            "audit": db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
            "tasks": sorted(db.session.scalars(sa.select(OutboxTask.kind).where(OutboxTask.status == "pending")))}


def test_forgot_password_does_the_same_work_for_an_unknown_address(app, db, world, frozen):
    """The request for a known address wrote a link, an audit row and a mail task in the
    request, one for an unknown address nothing: its timing told which addresses sign
    in. Now both queue one request task; the worker does the lookup."""
    before = _written(db)
    _ask(app.test_client(), world.lawyer_a.email)
    known = _written(db)
    _ask(app.test_client(), "nobody@keller.example")
    unknown = _written(db)
    assert known["links"] == unknown["links"] == before["links"] and known["audit"] == unknown["audit"]
    assert known["tasks"] == before["tasks"] + ["signin.link_request"]
    assert unknown["tasks"] == sorted(before["tasks"] + ["signin.link_request"] * 2)


def test_a_newer_reset_link_replaces_the_older_one(app, db, smtp, world, frozen):
    _ask(app.test_client(), world.lawyer_a.email)
    first = _link(smtp, world.lawyer_a.email)
    smtp.messages.clear()
    _ask(app.test_client(), world.lawyer_a.email)
    second = _link(smtp, world.lawyer_a.email)
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


def test_reset_refuses_a_short_password_and_keeps_the_link(app, db, smtp, world, frozen):
    _ask(app.test_client(), world.lawyer_a.email)
    path = _link(smtp, world.lawyer_a.email)
    http = app.test_client()
    assert _reset(http, path, "short").status_code == 422
    assert _reset(http, path).status_code == 303


# The throttle tests run on the real clock (see tests/admin/test_auth.py).


def test_reset_requests_are_limited_per_account_silently(app, db, smtp, world):
    """A stranger cannot flood the owner's mailbox: after three links an hour nothing more
    is mailed, and the page says the same as before."""
    codes = []
    for n in range(1, 7):
        codes.append(_ask(app.test_client(), world.lawyer_a.email,
                          environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code)
        _mail(smtp, world.lawyer_a.email)
    assert codes == [200] * 6
    assert len(smtp.to(world.lawyer_a.email)) == 3


def test_reset_requests_are_limited_per_address(app, db, smtp, world):
    codes = [_ask(app.test_client(), f"someone{n}@example.com").status_code for n in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


@pytest.mark.parametrize("path", ["/admin/reset/nonsense", "/admin/reset/" + "x" * 300, "/admin/signin/nonsense"])
def test_unknown_or_oversized_link_is_a_404_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 404 and "Ask for a new link" in response.get_data(as_text=True)


def test_a_deactivated_persons_link_does_nothing(app, db, smtp, world, frozen):
    _ask(app.test_client(), world.assistant_a.email)
    world.assistant_a.active = False
    db.session.commit()
    assert _mail(smtp, world.assistant_a.email) == []


def _spread_attack(app, email: str, addresses: int = 40) -> None:
    for n in range(addresses):
        log_in(app.test_client(), email, "guess", environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"})


def test_owner_locked_out_by_spread_attack_gets_in_from_a_new_browser_by_mailed_link(app, db, smtp, world):
    """40 failed sign-ins from 40 addresses locked the owner out of a brand-new browser at a
    new address (no device cookie) for an hour; now the locked page offers a one-time link
    to the account's own address, which signs in and marks the browser as known."""
    email = world.lawyer_a.email
    _spread_attack(app, email)
    owner = app.test_client()
    address = {"REMOTE_ADDR": "203.0.113.200"}
    locked = log_in(owner, email, PASSWORD, environ_base=address)
    assert locked.status_code == 429
    page = locked.get_data(as_text=True)
    assert "data-sign-in-link-form" in page
    asked = post(owner, "/admin/signin-link", {"email": email}, token_from="/admin/login", environ_base=address)
    assert asked.status_code == 200 and "data-link-sent" in asked.get_data(as_text=True)
    path = _link(smtp, email, SIGNIN)
    assert owner.get(path, environ_base=address).status_code == 200  # a GET alone does not sign in
    assert owner.get("/admin/", environ_base=address).status_code == 302
    signed = post(owner, path, token_from=path, environ_base=address)
    assert signed.status_code == 303
    assert owner.get("/admin/", environ_base=address).status_code == 200
    # The browser is now a known device: after signing out, the password works again here.
    post(owner, "/admin/logout", environ_base=address)
    assert log_in(owner, email, PASSWORD, environ_base=address).status_code == 302
    # The link worked once; the attacker, from a fresh address and browser, is still locked out.
    assert app.test_client().post(path).status_code in (400, 404)
    attacker = app.test_client()
    assert log_in(attacker, email, PASSWORD, environ_base={"REMOTE_ADDR": "198.51.100.250"}).status_code == 429
    mailed = _mail(smtp, email)
    assert len(mailed) == 1  # the only mail went to the owner's own address
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "person.signed_in_by_link")) == 1


def test_sign_in_link_request_for_an_unknown_address_answers_the_same(app, db, smtp, world):
    known = post(app.test_client(), "/admin/signin-link", {"email": world.lawyer_a.email}, token_from="/admin/login")
    unknown = post(app.test_client(), "/admin/signin-link", {"email": "ghost@keller.example"},
                   token_from="/admin/login")
    assert known.status_code == unknown.status_code == 200
    assert (known.get_data(as_text=True).replace(world.lawyer_a.email, "X")
            == unknown.get_data(as_text=True).replace("ghost@keller.example", "X"))
    assert len(_mail(smtp, world.lawyer_a.email)) == 1


def test_reset_and_sign_in_mails_speak_the_persons_language(app, db, smtp, world, frozen):
    world.lawyer_a.language = "ru"
    db.session.commit()
    _ask(app.test_client(), world.lawyer_a.email)
    (message,) = _mail(smtp, world.lawyer_a.email)
    body = message.get_body(("plain",)).get_content()
    assert "пароль" in body and "password" not in body.lower().replace("/admin/", "")


def test_cli_reset_password_mails_the_link_and_prints_it_last(app, runner, db, smtp, world, frozen):
    result = runner.invoke(args=["user", "reset-password", "--email", world.assistant_b.email])
    assert result.exit_code == 0, result.output
    printed = result.output.split()[-1]
    assert RESET.search(printed)
    assert _link(smtp, world.assistant_b.email) == RESET.search(printed).group(1)


@pytest.mark.parametrize("email", ["ghost@keller.example", "", "x" * 400])
def test_cli_reset_password_refuses_an_unknown_address_in_one_line(runner, db, world, email):
    result = runner.invoke(args=["user", "reset-password", "--email", email])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count(SignInLink.id))) == 0
