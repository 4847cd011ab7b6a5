"""Secrets: tokens stored hashed, key rotation, nothing secret in logs or JSON."""

from __future__ import annotations

import base64
import logging
import re

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from service.core import crypto
from service.core.logredact import redact
from service.storage import outbox
from service.storage.models import Booking, Calendar, CalendarAccount, Client, OutboxTask, new_token

pytestmark = pytest.mark.db_matrix

WED_14 = "2026-03-04T13:00:00+00:00"
CALDAV_PASSWORD = "caldav-pa55word-of-the-lawyer"


def book(client, token, start=WED_14):
    return client.post("/api/v1/bookings", json={
        "token": token, "start": start, "name": "Boris", "email": "boris@client.example",
        "agenda": "Clause 4"})


def callback_token(runner, token) -> str:
    result = runner.invoke(args=["client", "callback-link", "--token", token])
    assert result.exit_code == 0, result.output
    return result.output.split()[-1].rsplit("/", 1)[-1]


def all_stored_text(db) -> str:
    """Every value of every row of every table, as one string."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_tokens_are_long_random_and_stored_only_hashed(client, runner, db, make_client, frozen):
    _, token = make_client()
    link = callback_token(runner, token)
    manage = book(client, token).get_json()["manage_url"].rsplit("/", 1)[-1]
    for bearer in (token, link, manage):
        assert len(base64.urlsafe_b64decode(bearer + "==")) * 8 >= 128
    stored = all_stored_text(db)
    for bearer in (token, link, manage):
        assert bearer not in stored
    assert len({token, link, manage, new_token(), new_token()}) == 5


def _secret_rows(db, make_client, client):
    lawyer_client, token = make_client()
    manage = book(client, token).get_json()["manage_url"].rsplit("/", 1)[-1]
    account = CalendarAccount(lawyer_id=lawyer_client.lawyer_id, kind="caldav", label="office",
                              config={}, secret_enc=crypto.encrypt_json({"password": CALDAV_PASSWORD}))
    db.session.add(account)
    db.session.commit()
    return token, manage


def _decrypted(db) -> set[str]:
    db.session.rollback()  # a fresh snapshot: the CLI wrote in its own session
    values = {crypto.decrypt(c.token_enc) for c in db.session.scalars(sa.select(Client))}
    values |= {crypto.decrypt(b.manage_token_enc) for b in db.session.scalars(sa.select(Booking))}
    values |= {crypto.decrypt_json(a.secret_enc)["password"]
               for a in db.session.scalars(sa.select(CalendarAccount))}
    return values


def test_rotate_then_drop_the_old_key(app, client, runner, db, make_client, frozen):
    old = app.config["ENCRYPTION_KEY"]
    token, manage = _secret_rows(db, make_client, client)
    new = Fernet.generate_key().decode()

    app.config["ENCRYPTION_KEY"] = new  # without the old key nothing can be read
    with pytest.raises(crypto.ConfigError):
        _decrypted(db)

    app.config["ENCRYPTION_KEY"] = f"{new},{old}"
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 4 secrets" in result.output  # tokens, the password and the agenda
    assert "booking.agenda 1" in result.output
    assert "client.token_enc 1" in result.output and "calendar_account.secret_enc 1" in result.output

    app.config["ENCRYPTION_KEY"] = new
    assert _decrypted(db) == {token, manage, CALDAV_PASSWORD}
    assert client.get(f"/m/{manage}").status_code == 200  # the manage link still works


def test_rotate_refuses_and_changes_nothing_when_a_value_is_unreadable(app, client, runner, db,
                                                                      make_client, frozen):
    _secret_rows(db, make_client, client)
    stranger = Fernet(Fernet.generate_key()).encrypt(b"from another deployment").decode()
    db.session.add(CalendarAccount(lawyer_id=db.session.scalar(sa.select(Client.lawyer_id)),
                                   kind="ics", label="feed", config={}, secret_enc=stranger))
    db.session.commit()
    before = all_stored_text(db)
    app.config["ENCRYPTION_KEY"] = f"{Fernet.generate_key().decode()},{app.config['ENCRYPTION_KEY']}"
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code != 0
    assert "calendar_account.secret_enc of row 2 cannot be decrypted" in result.output
    assert len(result.output.strip().splitlines()) == 1
    db.session.rollback()
    assert all_stored_text(db) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('GET /b/AbC-123_xyzAbC-123_xyzAbC-123_xy HTTP/1.1', "GET /b/[redacted] HTTP/1.1"),
        ("POST /m/tok3n/reschedule", "POST /m/[redacted]/reschedule"),
        ("/embed/m/tok3n?tz=UTC", "/embed/m/[redacted]?tz=UTC"),
        ("/api/v1/slots?from=2026-03-01&token=s3cret&tz=UTC", "/api/v1/slots?from=2026-03-01&token=[redacted]&tz=UTC"),
        ("/admin/google/callback?state=abc&code=4/0xyz", "/admin/google/callback?state=[redacted]&code=[redacted]"),
        ("ConnectionError: https://anna:pw@dav.example/cal/", "ConnectionError: https://[redacted]@dav.example/cal/"),
        ("GET /api/v1/openapi.json HTTP/1.1", "GET /api/v1/openapi.json HTTP/1.1"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_no_secret_in_logs_or_json(app, client, runner, db, make_client, frozen, caplog, monkeypatch):
    """Book through the API and the page, change it, run the worker, fail a task and a page:
    no token, key or password reaches a log line or a JSON answer that is not its owner's."""
    caplog.set_level(logging.DEBUG)
    lawyer_client, token = make_client()
    link = callback_token(runner, token)
    account = CalendarAccount(lawyer_id=lawyer_client.lawyer_id, kind="caldav", label="office",
                              config={}, secret_enc=crypto.encrypt_json({"password": CALDAV_PASSWORD}))
    db.session.add(account)
    db.session.flush()
    db.session.add(Calendar(account_id=account.id, lawyer_id=lawyer_client.lawyer_id,
                            remote_id="/cal/", name="Office", conflict=False, write_to=True))
    db.session.commit()

    answers: list[str] = []

    def keep(response):
        answers.append(response.get_data(as_text=True) if response.is_json else "")
        return response

    created = keep(book(client, token))
    manage = created.get_json()["manage_url"].rsplit("/", 1)[-1]
    for response in (
        client.get(f"/api/v1/slots?token={token}&from=2026-03-01&to=2026-03-10"),
        book(client, token),  # 409
        book(client, link, start="2026-03-09T09:00:00+00:00"),
        book(client, "z" * 32),  # 404
        client.get(f"/api/v1/slots?token={token}&tz=Nowhere/Else"),  # 422
        client.get(f"/b/{token}"), client.get(f"/m/{manage}"), client.get(f"/m/{manage}/invite.ics"),
    ):
        keep(response)

    def broken(*_args, **_kwargs):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("service.usecases.wording.group_by_day", broken)
    assert client.get(f"/b/{token}").status_code == 500
    monkeypatch.undo()

    def calendar_down(payload):
        raise ConnectionError(f"https://anna:{CALDAV_PASSWORD}@dav.example/cal/ refused")

    outbox._HANDLERS["calendar.put"] = calendar_down
    try:
        from service.jobs import worker

        worker.run_once()
    finally:
        outbox._HANDLERS.pop("calendar.put", None)
    last_errors = db.session.scalars(sa.select(OutboxTask.last_error).where(OutboxTask.kind == "calendar.put")).all()
    assert last_errors and all(e and "[redacted]@dav.example" in e for e in last_errors)

    logs = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert "unhandled error on GET /b/[redacted]" in logs
    secrets = {
        "client token": token, "callback token": link, "manage token": manage,
        "SECRET_KEY": app.config["SECRET_KEY"], "ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
        "CalDAV password": CALDAV_PASSWORD,
    }
    for name, value in secrets.items():
        assert value not in logs, f"{name} in the logs"
        assert value not in "\n".join(last_errors), f"{name} in a task error"
    owner_json = answers[0]  # the booking's own answer carries its manage link, by design
    assert manage in owner_json
    for name, value in secrets.items():
        for answer in answers[1:]:
            assert value not in answer, f"{name} in a JSON answer"
    assert not re.search(r"gAAAA[\w-]{20,}", "\n".join(answers)), "a ciphertext in JSON"
