"""The OAuth callback and the push webhook, through the Flask test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from itsdangerous import URLSafeTimedSerializer

from service.calendars.google import accounts
from service.calendars.google.models import GoogleChannel
from service.core.crypto import decrypt_json
from service.storage.models import Calendar, CalendarAccount, OutboxTask
from tests.admin.conftest import SAME_SITE
from tests.admin.conftest import https_browser as browser


@pytest.fixture
def lawyer(make_lawyer):
    """A lawyer with a password (the callback needs them signed in)."""
    from werkzeug.security import generate_password_hash

    from tests.admin.conftest import PASSWORD

    return make_lawyer(password_hash=generate_password_hash(PASSWORD, method="scrypt:1024:8:1"))


def start_consent(http) -> str:
    """Press "Connect Google Calendar" on the calendars page: the consent URL."""
    from tests.admin.conftest import post

    response = post(http, "/admin/calendars/google", headers=SAME_SITE)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def consent(fake, http, scopes=None):
    url = start_consent(http)
    code, state = fake.consent(url, scopes)
    return code, state


@pytest.fixture
def client(app, lawyer):
    """The lawyer's own browser, signed in."""
    return browser(app, lawyer)


def test_callback_connects_the_account(client, db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(fake, client)
    response = client.get(f"/oauth/google/callback?code={code}&state={state}")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/calendars")
    page = client.get("/admin/calendars").get_data(as_text=True)
    assert "Google Calendar connected" in page and "lawyer@example.com" in page
    account = db.session.scalar(sa.select(CalendarAccount))
    assert account.lawyer_id == lawyer.id
    secret = decrypt_json(account.secret_enc)
    assert secret["refresh_token"] in fake.grants and secret["client_id"] == fake.client_id
    # The token endpoint got the PKCE verifier matching the challenge (the fake checks).
    (exchange,) = [r for r in fake.calls("token") if r.body["grant_type"] == "authorization_code"]
    assert exchange.body["redirect_uri"] == "https://counsel.test/oauth/google/callback"


def test_callback_with_forged_state_writes_nothing(client, db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(fake, client)
    forged = URLSafeTimedSerializer("other-key", salt="google-oauth-state").dumps(
        {"l": lawyer.id, "n": "x"}
    )
    response = client.get(f"/oauth/google/callback?code={code}&state={forged}")
    assert response.status_code == 400 and "not started here" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarAccount)) == 0
    assert fake.calls("token") == []


def test_callback_state_expires(app, db, lawyer, fake):
    with freeze_time("2030-03-25 10:00:00") as clock:
        http = browser(app, lawyer)
        code, state = consent(fake, http)
        clock.move_to("2030-03-25 10:16:00")
        response = http.get(f"/oauth/google/callback?code={code}&state={state}")
    assert response.status_code == 400 and "expired" in response.text


def test_callback_refuses_partial_permissions(client, db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(
        fake, client, scopes=("https://www.googleapis.com/auth/calendar.freebusy",)
    )
    response = client.get(f"/oauth/google/callback?code={code}&state={state}")
    assert response.status_code == 400
    assert "without calendar.events, calendar.calendarlist.readonly" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarAccount)) == 0


def test_callback_denied_or_incomplete(client, lawyer):
    assert client.get("/oauth/google/callback?error=access_denied&state=x").status_code == 400
    assert client.get("/oauth/google/callback?code=abc").status_code == 400


def test_callback_state_used_twice_is_refused_before_google_is_asked(client, db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(fake, client)
    assert client.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 303
    again = client.get(f"/oauth/google/callback?code={code}&state={state}")
    assert again.status_code == 400
    assert len([r for r in fake.calls("token") if r.body["grant_type"] == "authorization_code"]) == 1


def test_oauth_state_replayed_with_another_code_is_refused(app, client, db, lawyer, fake):
    """A state could be replayed with another code (even with a copy of the cookie taken
    before the first answer): it is single-use on the server."""
    fake.add_calendar("lawyer@example.com", primary=True)
    url = start_consent(client)
    code, state = fake.consent(url)
    copied_cookie = client.get_cookie("session").value
    assert client.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 303
    other_code, _ = fake.consent(url)
    replay = browser(app)
    replay.set_cookie("session", copied_cookie, domain="localhost", secure=True)
    response = replay.get(f"/oauth/google/callback?code={other_code}&state={state}")
    assert response.status_code == 400 and "already been used" in response.text
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 1


def test_oauth_consent_completed_in_a_browser_without_a_session_is_refused(app, client, db, lawyer, fake):
    """A state started by lawyer A, completed in a browser without a session, attached
    whoever consented there to A's account."""
    fake.add_calendar("victim@example.com", primary=True)
    code, state = consent(fake, client)
    stranger = browser(app)
    response = stranger.get(f"/oauth/google/callback?code={code}&state={state}")
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 0
    assert fake.calls("token") == []


def test_oauth_consent_completed_in_another_browser_of_the_same_lawyer_is_refused(app, client, db, lawyer, fake):
    """Bound to the browser session that started it, not only to the lawyer."""
    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(fake, client)
    other = browser(app, lawyer)
    response = other.get(f"/oauth/google/callback?code={code}&state={state}")
    assert response.status_code == 400 and "not started in this browser" in response.text
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 0
    # The browser that started it still can.
    assert client.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 303


def test_oauth_consent_started_by_the_cli_needs_the_lawyer_signed_in(app, runner, db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    result = runner.invoke(args=["calendar", "add-google", "--lawyer", str(lawyer.id)])
    assert result.exit_code == 0, result.output
    code, state = fake.consent(result.output.split()[-1])
    assert browser(app).get(f"/oauth/google/callback?code={code}&state={state}").status_code == 400
    signed_in = browser(app, lawyer)
    assert signed_in.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 303
    assert signed_in.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 1


# -- push notifications -------------------------------------------------------------


def connected(db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    result = accounts.connect(lawyer, fake.authorize())
    (channel,) = db.session.scalars(sa.select(GoogleChannel))
    return result.account, channel


def sync_tasks(db):
    return list(db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == "calendar.sync")))


def test_push_queues_one_sync(client, db, lawyer, fake):
    account, channel = connected(db, lawyer, fake)
    handshake = client.post("/hooks/google", headers=fake.notification(channel.channel_id, "sync"))
    assert handshake.status_code == 204 and sync_tasks(db) == []
    response = client.post("/hooks/google", headers=fake.notification(channel.channel_id))
    assert response.status_code == 204
    (task,) = sync_tasks(db)
    assert task.payload == {"calendar_id": account.calendars[0].id}
    assert task.lawyer_id == lawyer.id
    # A burst of notifications while the task waits adds nothing.
    assert (
        client.post("/hooks/google", headers=fake.notification(channel.channel_id)).status_code
        == 204
    )
    assert len(sync_tasks(db)) == 1


def test_forged_push_is_refused_and_queues_nothing(client, db, lawyer, fake):
    _, channel = connected(db, lawyer, fake)
    genuine = fake.notification(channel.channel_id)
    cases = [
        {**genuine, "X-Goog-Channel-Token": "guessed"},
        {**genuine, "X-Goog-Resource-ID": "other-resource"},
        {**genuine, "X-Goog-Channel-ID": "11111111-2222-3333-4444-555555555555"},
    ]
    for headers in cases:
        response = client.post("/hooks/google", headers=headers)
        assert response.status_code == 403, headers
        assert response.json["error"]["code"] == "unknown_channel"
    no_token = {k: v for k, v in genuine.items() if k != "X-Goog-Channel-Token"}
    assert client.post("/hooks/google", headers=no_token).status_code == 400
    assert client.post("/hooks/google").status_code == 400
    assert sync_tasks(db) == []


def test_channel_token_is_stored_hashed(db, lawyer, fake):
    _, channel = connected(db, lawyer, fake)
    token = fake.channels[channel.channel_id]["token"]
    assert token not in channel.token_hash and len(token) >= 40


def test_channels_renewed_before_expiry_and_stopped(db, lawyer, fake):
    account, channel = connected(db, lawyer, fake)
    old_id = channel.channel_id
    assert accounts.renew_channels() == {"opened": 0, "failed": 0}
    later = channel.expires_at - timedelta(hours=12)  # inside the renewal margin
    assert accounts.renew_channels(now=later) == {"opened": 1, "failed": 0}
    (renewed,) = db.session.scalars(sa.select(GoogleChannel))
    assert renewed.channel_id != old_id and set(fake.channels) == {renewed.channel_id}
    accounts.stop_channels(account)
    assert fake.channels == {} and db.session.scalars(sa.select(GoogleChannel)).all() == []


def test_renewal_marks_a_revoked_account_broken(db, lawyer, fake):
    account, channel = connected(db, lawyer, fake)
    fake.revoke(decrypt_json(account.secret_enc)["refresh_token"])
    later = channel.expires_at - timedelta(hours=1)
    assert accounts.renew_channels(now=later) == {"opened": 0, "failed": 1}
    db.session.refresh(account)
    assert account.broken and "revoked" in account.last_error


def test_no_push_without_https(app, db, lawyer, fake):
    app.config["BASE_URL"] = "http://127.0.0.1:8000"
    fake.add_calendar("lawyer@example.com", primary=True)
    accounts.connect(lawyer, fake.authorize())
    assert fake.channels == {} and fake.calls("events.watch") == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Calendar)) == 1


def test_callback_for_another_lawyer_than_the_signed_in_one_is_refused(app, db, make_lawyer, lawyer, fake):
    other = make_lawyer(password_hash=lawyer.password_hash)
    other_browser = browser(app, other)
    fake.add_calendar("other@example.com", primary=True)
    code, state = consent(fake, other_browser)
    response = browser(app, lawyer).get(f"/oauth/google/callback?code={code}&state={state}")
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(CalendarAccount.id))) == 0


def test_callback_connection_is_in_the_audit_log_without_secrets(client, db, lawyer, fake):
    from service.storage.models import AuditEvent

    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(fake, client)
    assert client.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 303
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "calendar.connected"))
    assert (event.lawyer_id, event.after["kind"]) == (lawyer.id, "google")
    secret = decrypt_json(db.session.scalar(sa.select(CalendarAccount.secret_enc)))
    assert secret["refresh_token"] not in str(event.after)


def test_regression_calls_booked_before_google_was_connected_are_written_to_it(client, db, lawyer, fake,
                                                                              make_client):
    """Calls booked while no destination calendar existed were never written to Google's."""
    from service.storage.models import utcnow
    from service.usecases import steer

    person, _ = make_client(lawyer=lawyer)
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking = steer.book_for_client(person, start, "Clause 4", utcnow(), steer.Override(terms=True))
    fake.add_calendar("lawyer@example.com", primary=True)
    code, state = consent(fake, client)
    assert client.get(f"/oauth/google/callback?code={code}&state={state}").status_code == 303
    puts = db.session.scalars(sa.select(OutboxTask).where(OutboxTask.kind == "calendar.put"))
    assert {t.payload["booking_id"] for t in puts} == {booking.id}
