"""Signing in (admin button → Microsoft → callback), the CLI, and the admin page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from werkzeug.security import generate_password_hash

from service.core.crypto import decrypt_json
from service.storage.models import Calendar, CalendarAccount, OutboxTask
from tests.admin.conftest import PASSWORD, SAME_SITE, log_in, post
from tests.admin.conftest import https_browser as browser
from tests.microsoft.conftest import COURT, DEFAULT


@pytest.fixture
def signed_in(client, make_lawyer):
    lawyer = make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))
    client.environ_base["wsgi.url_scheme"] = "https"  # BASE_URL is https: Secure cookies
    assert log_in(client, lawyer.email, headers=SAME_SITE).status_code == 302
    return lawyer


def start(client):
    """The lawyer presses "Connect Microsoft 365 / Outlook": the redirect to Microsoft."""
    response = post(client, "/admin/calendars/microsoft", headers=SAME_SITE)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def accounts(db):
    return db.session.scalars(sa.select(CalendarAccount)).all()


def test_admin_page_has_the_button(client, signed_in):
    page = client.get("/admin/calendars").get_data(as_text=True)
    assert 'data-connect="microsoft"' in page and "Connect Microsoft 365 / Outlook" in page


def test_admin_page_without_settings_says_so(app, client, signed_in):
    app.config["MICROSOFT_CLIENT_ID"] = ""
    page = client.get("/admin/calendars").get_data(as_text=True)
    assert "Microsoft 365 / Outlook is not set up on this server." in page


@pytest.mark.db_matrix
def test_sign_in_from_the_admin_area_connects_the_account(client, db, signed_in, fake):
    auth_uri = start(client)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()}
    assert auth_uri.startswith(fake.url + "/common/oauth2/v2.0/authorize")
    assert query["redirect_uri"] == "https://counsel.test/oauth/microsoft/callback"
    assert set(query["scope"].split()) >= {"Calendars.ReadWrite", "offline_access"}
    assert query["code_challenge_method"] == "S256"
    answer = fake.consent(auth_uri)
    response = client.get("/oauth/microsoft/callback?" + urlencode(answer))
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/calendars")
    page = client.get("/admin/calendars").get_data(as_text=True)
    assert "Microsoft 365 / Outlook connected" in page and "anna@lawfirm.example" in page
    (account,) = accounts(db)
    assert account.kind == "microsoft" and account.label == "Microsoft: anna@lawfirm.example"
    secret = decrypt_json(account.secret_enc)
    assert set(secret) == {"cache", "home_account_id", "username"}
    assert "refresh_token" not in account.secret_enc  # encrypted at rest
    chosen = {c.remote_id: (c.conflict, c.write_to) for c in account.calendars}
    assert chosen == {DEFAULT: (True, True), COURT: (False, False)}  # all listed, default chosen
    # The code was traded with the PKCE verifier (the fake checks it against the challenge).
    (exchange,) = [r for r in fake.calls("token") if r.body["grant_type"] == "authorization_code"]
    assert exchange.body["code_verifier"] and exchange.body["redirect_uri"] == query["redirect_uri"]
    kinds = sorted(t.kind for t in db.session.scalars(sa.select(OutboxTask)))
    assert kinds == ["calendar.sync", "microsoft.subscriptions"]  # nothing inline


@pytest.mark.db_matrix
def test_state_is_single_use(client, db, signed_in, fake):
    answer = fake.consent(start(client))
    assert client.get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 303
    again = client.get("/oauth/microsoft/callback?" + urlencode(answer))
    assert again.status_code == 400 and "start again from the calendars page" in again.text
    assert len(accounts(db)) == 1
    assert len(code_exchanges(fake)) == 1  # refused before Microsoft is asked


def code_exchanges(fake):
    return [r for r in fake.calls("token") if r.body["grant_type"] == "authorization_code"]


def test_oauth_consent_completed_in_a_browser_without_a_session_is_refused(app, client, db, signed_in, fake):
    """Regression (#12, as Google's): a state started by lawyer A, completed in a browser
    without that session, attached whoever consented there to A's account."""
    answer = fake.consent(start(client))
    stranger = browser(app)
    response = stranger.get("/oauth/microsoft/callback?" + urlencode(answer))
    assert response.status_code == 400 and "Sign in to the admin area first" in response.text
    # Signed in as A, but not the browser that started it (A's session cookie was not it).
    elsewhere = browser(app, signed_in).get("/oauth/microsoft/callback?" + urlencode(answer))
    assert elsewhere.status_code == 400 and "not started in this browser" in elsewhere.text
    assert accounts(db) == [] and code_exchanges(fake) == []
    # The browser that started it still can: the refusals spent nothing.
    assert client.get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 303


def test_oauth_state_replayed_with_another_code_is_refused(app, client, db, signed_in, fake):
    """Regression (#12, as Google's): a state could be replayed with another code, even
    with a copy of the session cookie taken before the first answer."""
    url = start(client)
    copied_cookie = client.get_cookie("session").value
    assert client.get("/oauth/microsoft/callback?" + urlencode(fake.consent(url))).status_code == 303
    replay = browser(app)
    replay.set_cookie("session", copied_cookie, domain="localhost", secure=True)
    response = replay.get("/oauth/microsoft/callback?" + urlencode(fake.consent(url)))
    assert response.status_code == 400 and "already been used" in response.text
    assert len(accounts(db)) == 1 and len(code_exchanges(fake)) == 1


def test_answer_for_another_lawyer_is_refused(client, db, signed_in, make_lawyer, fake, runner):
    other = make_lawyer()
    url = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(other.id)]).output.split()[-1]
    response = client.get("/oauth/microsoft/callback?" + urlencode(fake.consent(url)))
    assert response.status_code == 400 and "another lawyer" in response.text
    assert accounts(db) == []


def test_state_expires(client, db, signed_in, fake):
    answer = fake.consent(start(client))
    with freeze_time(datetime.now(UTC) + timedelta(minutes=16)):
        response = client.get("/oauth/microsoft/callback?" + urlencode(answer))
    assert response.status_code == 400 and "expired" in response.text


def test_forged_or_incomplete_answers(client, db, fake):
    assert client.get("/oauth/microsoft/callback?code=abc&state=made-up").status_code == 400
    assert client.get("/oauth/microsoft/callback?code=abc").status_code == 400
    denied = client.get("/oauth/microsoft/callback?error=access_denied&state=x")
    assert denied.status_code == 400 and "access was not granted" in denied.text
    assert fake.calls("token") == []


def test_cli_consent_url_needs_a_browser_signed_in_as_the_lawyer(app, client, db, signed_in, fake, runner):
    """As Google's: the printed link connects only in a browser signed in as its lawyer,
    once (a link completed in a browser without a session attached nothing)."""
    result = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(signed_in.id)])
    assert result.exit_code == 0, result.output
    assert "Sign in to the admin area as" in result.output
    url = result.output.split()[-1]
    assert url.startswith(fake.url + "/common/oauth2/v2.0/authorize")
    answer = fake.consent(url)
    assert browser(app).get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 400
    response = client.get("/oauth/microsoft/callback?" + urlencode(answer))
    assert response.status_code == 303 and len(accounts(db)) == 1
    assert client.get("/oauth/microsoft/callback?" + urlencode(answer)).status_code == 400


def test_cli_with_token_file_and_calendar_choice(db, lawyer, fake, runner, tmp_path):
    path = tmp_path / "token.json"
    path.write_text(json.dumps({"refresh_token": fake.refresh_token()}))
    result = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(lawyer.id), "--token-file", str(path),
                                 "--calendar", "default", "--calendar", "Court dates", "--write-to", "default"])
    assert result.exit_code == 0, result.output
    (account,) = accounts(db)
    assert result.output.split()[-1] == str(account.id)
    chosen = {c.remote_id: (c.conflict, c.write_to) for c in account.calendars}
    assert chosen == {DEFAULT: (True, True), COURT: (True, False)}
    again = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(lawyer.id), "--token-file", str(path)])
    assert again.exit_code == 0 and again.output.startswith("Reconnected")
    assert len(accounts(db)) == 1


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("not json", (), "is not JSON"),
        ("{}", (), 'has no "refresh_token"'),
        (None, ("--write-to", "Court dates"), "read-only"),
        (None, ("--calendar", "Nope"), "'Nope' is not a calendar"),
    ],
)
def test_cli_refusals_write_nothing(db, lawyer, fake, runner, tmp_path, content, extra, message):
    path = tmp_path / "token.json"
    path.write_text(content if content is not None else json.dumps({"refresh_token": fake.refresh_token()}))
    result = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(lawyer.id), "--token-file", str(path),
                                 *extra])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert accounts(db) == [] and db.session.scalar(sa.select(sa.func.count(Calendar.id))) == 0


def test_cli_revoked_token_is_one_line(db, lawyer, fake, runner, tmp_path):
    path = tmp_path / "token.json"
    path.write_text(json.dumps({"refresh_token": "M.R3_revoked"}))
    result = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(lawyer.id), "--token-file", str(path)])
    assert result.exit_code == 1 and "revoked or expired" in result.output


def test_cli_show_as_choice(db, lawyer, fake, runner, tmp_path):
    path = tmp_path / "token.json"
    path.write_text(json.dumps({"refresh_token": fake.refresh_token()}))
    runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(lawyer.id), "--token-file", str(path)])
    calendar = db.session.scalar(sa.select(Calendar).where(Calendar.remote_id == DEFAULT))
    result = runner.invoke(args=["calendar", "microsoft-show-as", "--calendar", str(calendar.id),
                                 "--free", "tentative"])
    assert result.exit_code == 0, result.output
    db.session.refresh(calendar)
    assert calendar.account.config["free_show_as"] == {DEFAULT: ["tentative"]}
    bad = runner.invoke(args=["calendar", "microsoft-show-as", "--calendar", str(calendar.id), "--free", "maybe"])
    assert bad.exit_code != 0 and "unknown showAs value 'maybe'" in bad.output


def test_admin_tentative_choice_per_calendar(client, db, signed_in, fake):
    from service.calendars.microsoft import accounts as ms_accounts
    from service.calendars.microsoft import oauth

    secret = oauth.from_refresh_token(fake.refresh_token())
    account = ms_accounts.connect(signed_in, secret, calendars=("default", COURT)).account
    page = client.get("/admin/calendars").get_data(as_text=True)
    assert "Tentative counts as free" in page
    ids = {c.remote_id: c.id for c in account.calendars}
    for cal in account.calendars:
        cal.sync_state = '{"delta": "x", "until": "2030-01-01T00:00:00+00:00"}'
    db.session.commit()
    response = post(client, f"/admin/calendars/accounts/{account.id}/choices",
                    {"conflict": [ids[DEFAULT], ids[COURT]], "write_to": ids[DEFAULT], "tentative_free": ids[COURT]},
                    token_from="/admin/calendars", headers=SAME_SITE)
    assert response.status_code == 302
    db.session.expire_all()
    assert account.config["free_show_as"] == {COURT: ["tentative"]}
    states = {c.remote_id: c.sync_state for c in account.calendars}
    assert states[COURT] is None and states[DEFAULT] is not None  # only the changed one is read again
    page = client.get("/admin/calendars").get_data(as_text=True)
    assert f'name="tentative_free" value="{ids[COURT]}" checked' in page


def test_code_from_another_sign_in_fails_pkce(client, db, signed_in, fake):
    """A code injected into this session's answer (from a sign-in started elsewhere) is
    refused by Microsoft: the PKCE verifier of this flow does not match its challenge."""
    mine = fake.consent(start(client))
    stranger = fake.consent(fake.url + "/common/oauth2/v2.0/authorize?" + urlencode({
        "client_id": fake.client_id, "response_type": "code",
        "redirect_uri": "https://counsel.test/oauth/microsoft/callback",
        "scope": "Calendars.ReadWrite offline_access openid profile", "state": "theirs",
        "code_challenge": "x" * 43, "code_challenge_method": "S256"}))
    response = client.get("/oauth/microsoft/callback?" + urlencode({**mine, "code": stranger["code"]}))
    assert response.status_code == 400 and "invalid_grant" in response.text
    assert accounts(db) == []


def test_tenant_setting_names_the_authority(app, client, signed_in, fake):
    app.config["MICROSOFT_TENANT"] = "organizations"
    assert start(client).startswith(fake.url + "/organizations/oauth2/v2.0/authorize?")


def test_oauth_link_opened_by_an_assistant_connects_nothing(app, db, fake, runner, make_client):
    """Calendars are the lawyer's alone: a printed sign-in link completed in a browser
    where the lawyer's assistant is signed in (acting for that lawyer) is refused."""
    from tests.admin import firm_world

    world = firm_world.build(db, make_client)
    before = len(accounts(db))
    url = runner.invoke(args=["calendar", "add-microsoft", "--lawyer", str(world.lawyer_a.id)]).output.split()[-1]
    assistant = browser(app)
    assert log_in(assistant, world.assistant_a.email, headers=SAME_SITE).status_code == 302
    response = assistant.get("/oauth/microsoft/callback?" + urlencode(fake.consent(url)))
    assert response.status_code == 400 and "Sign in to the admin area first" in response.text
    assert len(accounts(db)) == before and code_exchanges(fake) == []
