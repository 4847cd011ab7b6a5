"""Fixtures for the Google provider tests: a fake Google, providers, an app wired to it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.calendars.google.provider import GoogleProvider
from tests.google_fake import FakeGoogle

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=BERLIN)


def timed(start: datetime, end: datetime) -> dict:
    return {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}


@pytest.fixture
def fake():
    fake = FakeGoogle().start()
    fake.add_calendar("lawyer@example.com", primary=True, time_zone="Europe/Berlin")
    fake.add_calendar("court@group.calendar.google.com", "Court dates", access_role="reader")
    yield fake
    fake.stop()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_provider(fake, sleeps):
    made = []

    def make(secret=None, **config):
        provider = GoogleProvider(
            {"api_endpoint": fake.api_endpoint, "token_uri": fake.token_uri, **config},
            secret if secret is not None else fake.authorize(),
            BERLIN,
            sleep=sleeps.append,
        )
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
    """The app of tests/conftest.py, pointed at the fake Google, push on (https)."""
    from service import create_app
    from service.calendars.google import accounts  # noqa: F401
    from service.cli import google as google_cli  # noqa: F401
    from service.cli.calendars import calendar_cli
    from service.storage.extensions import db
    from service.web import google as google_web
    from tests.conftest import app_config, ready_database

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is http
    app = create_app(
        app_config(
            tmp_path,
            DATABASE_URL=db_url,
            BASE_URL="https://counsel.test",
            GOOGLE_API_ENDPOINT=fake.api_endpoint,
            GOOGLE_TOKEN_URI=fake.token_uri,
            GOOGLE_CLIENT_ID=fake.client_id,
            GOOGLE_CLIENT_SECRET=fake.client_secret,
        )
    )
    # Until the lead wires them in service/web.py, service/cli.py and the worker:
    for blueprint in (google_web.oauth_bp, google_web.hooks_bp):
        if blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)
    if "calendar" not in app.cli.commands:
        app.cli.add_command(calendar_cli)
    with app.app_context():
        ready_database(request)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def lawyer(make_lawyer):
    return make_lawyer()


@pytest.fixture
def token_file(tmp_path, fake):
    def write(info=None, name="authorized_user.json"):
        import json

        path = tmp_path / name
        path.write_text(json.dumps(info if info is not None else fake.authorize()))
        return str(path)

    return write
