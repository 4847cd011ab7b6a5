"""``calendar add-google``: consent URL, token file, calendar choice, clean refusals."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from service.calendars.google.models import GoogleChannel
from service.core.crypto import decrypt_json
from service.storage.models import Calendar, CalendarAccount


def add_google(runner, *args):
    return runner.invoke(args=["calendar", "add-google", *args])


def counts(db):
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (CalendarAccount, Calendar, GoogleChannel)
    )


def test_without_token_file_prints_the_consent_url(runner, lawyer, fake):
    result = add_google(runner, "--lawyer", str(lawyer.id))
    assert result.exit_code == 0, result.output
    url = result.output.split()[-1]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.netloc == "accounts.google.com"
    assert query["redirect_uri"] == "https://counsel.test/oauth/google/callback"
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert set(query["scope"].split()) == {
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.freebusy",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    }
    assert query["code_challenge_method"] == "S256" and query["state"]


def test_token_file_adds_the_account_with_primary_defaults(runner, db, lawyer, fake, token_file):
    fake.add_calendar("lawyer@example.com", primary=True)
    info_path = token_file()
    result = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", info_path)
    assert result.exit_code == 0, result.output
    account = db.session.scalar(sa.select(CalendarAccount))
    assert result.output.split()[-1] == str(account.id)
    assert account.kind == "google" and account.label == "Google: lawyer@example.com"
    secret = decrypt_json(account.secret_enc)
    assert secret["refresh_token"] in Path(info_path).read_text()
    assert (
        secret["refresh_token"] not in account.secret_enc
        and secret["refresh_token"] not in result.output
    )
    (calendar,) = account.calendars
    assert (calendar.remote_id, calendar.conflict, calendar.write_to) == (
        "lawyer@example.com",
        True,
        True,
    )
    # BASE_URL is https here: the conflict calendar is watched.
    (channel,) = db.session.scalars(sa.select(GoogleChannel))
    assert channel.calendar_id == calendar.id and channel.channel_id in fake.channels


def test_calendar_choice(runner, db, lawyer, fake, token_file):
    fake.add_calendar("lawyer@example.com", primary=True)
    fake.add_calendar("court@group.calendar.google.com", "Court", access_role="reader")
    fake.add_calendar("calls@group.calendar.google.com", "Calls", access_role="writer")
    result = add_google(
        runner,
        *("--lawyer", str(lawyer.id), "--token-file", token_file()),
        *("--calendar", "primary", "--calendar", "court@group.calendar.google.com"),
        *("--write-to", "calls@group.calendar.google.com"),
    )
    assert result.exit_code == 0, result.output
    flags = {c.remote_id: (c.conflict, c.write_to) for c in db.session.scalars(sa.select(Calendar))}
    assert flags == {
        "lawyer@example.com": (True, False),
        "court@group.calendar.google.com": (True, False),
        "calls@group.calendar.google.com": (False, True),
    }
    assert len(fake.channels) == 2  # the conflict calendars only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calendar", "nope@example.com"], "--calendar 'nope@example.com' is not a calendar"),
        (["--write-to", "court@group.calendar.google.com"], "read-only"),
    ],
)
def test_bad_calendar_choice_writes_nothing(runner, db, lawyer, fake, token_file, args, message):
    fake.add_calendar("lawyer@example.com", primary=True)
    fake.add_calendar("court@group.calendar.google.com", access_role="reader")
    result = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", token_file(), *args)
    assert result.exit_code != 0 and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert counts(db) == (0, 0, 0)


def test_bad_token_files(runner, db, lawyer, tmp_path, token_file):
    missing = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", str(tmp_path / "x"))
    assert missing.exit_code != 0 and "No such file" in missing.output
    (tmp_path / "bad.json").write_text("{not json")
    garbled = add_google(
        runner, "--lawyer", str(lawyer.id), "--token-file", str(tmp_path / "bad.json")
    )
    assert garbled.exit_code != 0 and "is not JSON" in garbled.output
    wrong = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", token_file({"a": 1}))
    assert wrong.exit_code != 0 and 'no "refresh_token"' in wrong.output
    assert counts(db) == (0, 0, 0)


def test_regression_a_huge_google_token_file_is_refused_unread(runner, db, lawyer, tmp_path):
    """Google's reader read the whole file (Microsoft's was capped): one bounded reader now."""
    huge = tmp_path / "huge.json"
    with huge.open("w") as handle:  # valid JSON, 2 MiB: json.loads would take it
        handle.write('{"refresh_token": "r", "pad": "' + "x" * (2 << 20) + '"}')
    result = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", str(huge))
    assert result.exit_code != 0 and "too large for a token file" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert counts(db) == (0, 0, 0)


def test_revoked_token_file_is_refused(runner, db, lawyer, fake, token_file):
    fake.add_calendar("lawyer@example.com", primary=True)
    info = fake.authorize()
    fake.revoke(info["refresh_token"])
    result = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", token_file(info))
    assert result.exit_code != 0 and "revoked" in result.output
    assert info["refresh_token"] not in result.output
    assert counts(db) == (0, 0, 0)


def test_unknown_lawyer(runner, token_file):
    result = add_google(runner, "--lawyer", "999", "--token-file", token_file({}))
    assert result.exit_code != 0 and "no lawyer with id 999" in result.output


def test_reconnecting_repairs_a_broken_account(runner, db, lawyer, fake, token_file):
    fake.add_calendar("lawyer@example.com", primary=True)
    first = add_google(runner, "--lawyer", str(lawyer.id), "--token-file", token_file())
    account = db.session.scalar(sa.select(CalendarAccount))
    account.broken, account.last_error = True, "revoked"
    db.session.commit()
    again = add_google(
        runner, "--lawyer", str(lawyer.id), "--token-file", token_file(name="b.json")
    )
    assert again.exit_code == 0 and again.output.startswith("Reconnected")
    assert again.output.split()[-1] == first.output.split()[-1]
    db.session.refresh(account)
    assert not account.broken and account.last_error is None
    assert counts(db) == (1, 1, 1)
