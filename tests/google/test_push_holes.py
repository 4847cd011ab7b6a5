"""The Google push hook: expired channels refused, notifications rate-limited (issue #12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from service.calendars.google import accounts
from service.calendars.google.models import GoogleChannel
from service.storage.models import OutboxTask
from tests.sqlite_snapshot import commit_between


def connected(db, lawyer, fake):
    fake.add_calendar("lawyer@example.com", primary=True)
    accounts.connect(lawyer, fake.authorize())
    (channel,) = db.session.scalars(sa.select(GoogleChannel))
    return channel


def sync_tasks(db):
    return db.session.scalar(
        sa.select(sa.func.count(OutboxTask.id)).where(OutboxTask.kind == "calendar.sync"))


def test_google_push_on_an_expired_channel_is_refused(client, db, lawyer, fake):
    """A channel past its expiry still queued syncs for whoever replayed its headers."""
    channel = connected(db, lawyer, fake)
    headers = fake.notification(channel.channel_id)
    with freeze_time(channel.expires_at + timedelta(seconds=1)):
        response = client.post("/hooks/google", headers=headers)
    assert response.status_code == 403 and response.json["error"]["code"] == "expired_channel"
    assert sync_tasks(db) == 0
    with freeze_time(channel.expires_at - timedelta(minutes=1)):
        assert client.post("/hooks/google", headers=headers).status_code == 204
    assert sync_tasks(db) == 1


def test_google_push_is_rate_limited_per_channel(app, client, db, lawyer, fake):
    """The hook answered every request, however many."""
    app.config["RATELIMIT_GOOGLE_PUSH"] = "5/minute"
    channel = connected(db, lawyer, fake)
    codes = [client.post("/hooks/google", headers=fake.notification(channel.channel_id)).status_code
             for _ in range(7)]
    assert codes[:5] == [204] * 5 and codes[5:] == [429, 429]
    # Forged channel ids count too: many ids from one address hit the address limit.
    app.config["RATELIMIT_GOOGLE_PUSH_ADDRESS"] = "10/minute"
    forged = [client.post("/hooks/google", headers={
        **fake.notification(channel.channel_id), "X-Goog-Channel-ID": f"forged-{n}"}).status_code
        for n in range(12)]
    assert 429 in forged and all(code in (403, 429) for code in forged)


@pytest.mark.sqlite_only
def test_regression_push_refused_when_a_lane_committed_during_the_hook(client, db, lawyer, fake):
    """The hook read the channel, the worker committed meanwhile, and on SQLite the hook's
    insert of the sync was refused: a 503, and Google retries only after its backoff."""
    channel = connected(db, lawyer, fake)
    with commit_between(db.engine, "google_channel") as committed:
        response = client.post("/hooks/google", headers=fake.notification(channel.channel_id))
    assert committed and response.status_code == 204
    assert sync_tasks(db) == 1
