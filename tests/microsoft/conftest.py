"""Fixtures for the Microsoft provider tests: a fake Microsoft over TLS, providers, an app."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.calendars.microsoft import oauth
from service.calendars.microsoft.provider import MicrosoftProvider
from tests.microsoft_fake import FakeMicrosoft

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = "AAMkAGcal-default"
COURT = "AAMkAGcal-court"


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    fake = FakeMicrosoft().start(str(tmp_path))
    # Both MSAL's and the provider's requests sessions trust the stand-in's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
    fake.add_calendar(DEFAULT, "Calendar", default=True)
    fake.add_calendar(COURT, "Court dates", can_edit=False, teams=False)
    yield fake
    fake.stop()


@pytest.fixture
def client_settings(fake):
    return {"client_id": fake.client_id, "client_secret": fake.client_secret}


@pytest.fixture
def ms_config(fake):
    return {"authority": fake.url, "tenant": "common", "graph_endpoint": fake.graph_endpoint}


@pytest.fixture
def secret(fake, client_settings, ms_config):
    return oauth.from_refresh_token(fake.refresh_token(), client_settings, ms_config)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_provider(fake, secret, ms_config, sleeps):
    made = []

    def make(secret_=None, **config):
        provider = MicrosoftProvider({**ms_config, **config}, secret_ or secret, BERLIN, sleep=sleeps.append)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def provider(make_provider):
    return make_provider()


@pytest.fixture
def app(request, tmp_path, monkeypatch, fake, db_url):
    """The app of tests/conftest.py, pointed at the fake Microsoft, push on (https)."""
    from service import create_app
    from service.storage.extensions import db
    from tests.conftest import app_config, ready_database

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        app_config(
            tmp_path,
            DATABASE_URL=db_url,
            BASE_URL="https://counsel.test",
            MICROSOFT_CLIENT_ID=fake.client_id,
            MICROSOFT_CLIENT_SECRET=fake.client_secret,
            MICROSOFT_AUTHORITY=fake.url,
            MICROSOFT_GRAPH_ENDPOINT=fake.graph_endpoint,
        )
    )
    with app.app_context():
        ready_database(request)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def lawyer(make_lawyer):
    return make_lawyer()
