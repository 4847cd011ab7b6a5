"""Microsoft connections in the audit log (#17), exactly as Google's and CalDAV's:
connected, reconnected, disconnected, "Show as" choices, and broken (invalid_grant)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import sqlalchemy as sa

from service.calendars import sync
from service.core.crypto import decrypt_json
from service.storage.models import AuditEvent, Calendar, CalendarAccount, utcnow
from tests.admin.conftest import SAME_SITE, post
from tests.microsoft.conftest import COURT, DEFAULT
from tests.microsoft.test_web import signed_in, start  # noqa: F401 (fixture)


def events(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_sign_in_and_reconnect_are_recorded_as_the_lawyer_without_secrets(client, db, signed_in, fake):  # noqa: F811
    for _ in range(2):
        answer = fake.consent(start(client))
        assert client.get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 303
    (connected,) = events(db, "calendar.connected")
    (reconnected,) = events(db, "calendar.reconnected")
    for event in (connected, reconnected):
        assert (event.actor_kind, event.actor_id, event.lawyer_id) == ("lawyer", signed_in.id, signed_in.id)
        assert event.after["kind"] == "microsoft" and event.after["write_to"] == "Calendar"
    account = db.session.scalar(sa.select(CalendarAccount))
    secret = decrypt_json(account.secret_enc)
    assert secret["cache"] not in str(connected.after) and "refresh" not in json.dumps(connected.after)


def test_cli_token_file_connection_is_recorded_by_the_system(db, lawyer, fake, runner, tmp_path):
    path = tmp_path / "token.json"
    path.write_text(json.dumps({"refresh_token": fake.refresh_token()}))
    result = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(lawyer.id), "--token-file", str(path),
                                 "--calendar", "default", "--calendar", "Court dates"])
    assert result.exit_code == 0, result.output
    (event,) = events(db, "calendar.connected")
    assert (event.actor_kind, event.lawyer_id) == ("system", lawyer.id)
    assert event.after["conflict"] == ["Calendar", "Court dates"]


def test_show_as_choices_are_recorded_from_the_cli_and_the_admin(client, db, signed_in, fake, runner):  # noqa: F811
    answer = fake.consent(start(client))
    assert client.get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 303
    account = db.session.scalar(sa.select(CalendarAccount))
    ids = {c.remote_id: c.id for c in account.calendars}
    result = runner.invoke(args=["calendar", "microsoft-show-as", "--calendar", str(ids[DEFAULT]),
                                 "--free", "tentative", "--free", "oof"])
    assert result.exit_code == 0, result.output
    response = post(client, f"/admin/calendars/accounts/{account.id}/choices",
                    {"conflict": [ids[DEFAULT]], "write_to": ids[DEFAULT], "tentative_free": ids[COURT]},
                    token_from="/admin/calendars", headers=SAME_SITE)
    assert response.status_code == 302
    cli, admin = [e for e in events(db, "calendar.choices") if "free_show_as" in (e.after or {})]
    assert (cli.actor_kind, cli.before, cli.after) == (
        "system", {"free_show_as": {}}, {"free_show_as": {"Calendar": ["oof", "tentative"]}})
    assert (admin.actor_kind, admin.actor_id) == ("lawyer", signed_in.id)
    assert admin.after == {"free_show_as": {"Calendar": ["oof"], "Court dates": ["tentative"]}}
    bad = runner.invoke(args=["calendar", "microsoft-show-as", "--calendar", str(ids[DEFAULT]), "--free", "maybe"])
    assert bad.exit_code != 0 and len(events(db, "calendar.choices")) == 2  # a refusal records nothing


def test_disconnect_is_recorded(client, db, signed_in, fake):  # noqa: F811
    answer = fake.consent(start(client))
    assert client.get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 303
    account = db.session.scalar(sa.select(CalendarAccount))
    response = post(client, f"/admin/calendars/accounts/{account.id}/disconnect", {},
                    token_from="/admin/calendars", headers=SAME_SITE)
    assert response.status_code == 302
    (event,) = events(db, "calendar.disconnected")
    assert (event.actor_kind, event.before["kind"]) == ("lawyer", "microsoft")


def test_regression_an_invalid_grant_account_is_recorded_once_as_broken(db, lawyer, fake, secret):
    """A Microsoft account Microsoft stopped honouring (invalid_grant) was marked broken
    and mailed about, but the audit log said nothing."""
    from service.calendars.microsoft import accounts

    account = accounts.connect(lawyer, secret).account
    fake.revoke_all()
    calendar = db.session.scalar(sa.select(Calendar).where(Calendar.remote_id == DEFAULT))
    for _ in range(2):
        assert not sync.sync_calendar(calendar, utcnow())["ok"]
    db.session.expire_all()
    assert db.session.get(CalendarAccount, account.id).broken
    (event,) = events(db, "calendar.broken")
    assert (event.actor_kind, event.lawyer_id, event.subject_id) == ("system", lawyer.id, account.id)
    assert event.after["kind"] == "microsoft" and "invalid_grant" in event.after["error"]
