"""Shared fixtures: an app on a fresh, migrated database; factories with defaults."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import freezegun
import pytest
from cryptography.fernet import Fernet
from freezegun import freeze_time
from hypothesis import settings

from service import create_app
from service.storage.extensions import db as _db
from tests import pg

pytest_plugins = ["pytester"]

# CI runs the property tests with a fixed seed, so a red build always reproduces; local
# runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

# pytest reads its clock through ``_pytest.timing``, which freezegun patches like any other
# module while a test is frozen: ``--durations`` then reported years. Leave it on real time
# (tests/test_pytest_timer.py checks this).
freezegun.configure(extend_ignore_list=["_pytest.timing"])

#: A fixed "now" for tests: Monday 2 March 2026, 08:00 UTC (09:00 in Berlin).
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def app_config(tmp_path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "BASE_URL": "http://counsel.test",
        "SMTP_HOST": "",
        "ALLOW_PRIVATE_CALENDAR_HOSTS": True,
    }
    config.update(overrides)
    return config


def _backends() -> list:
    """Databases the DB-dependent tests run on: ``TEST_DATABASES=sqlite,postgresql``."""
    if os.environ.get("TEST_DATABASE_URL"):
        return ["given"]
    names = [n.strip() for n in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",")]
    return [pytest.param(n, marks=pytest.mark.postgres) if n == "postgresql" else n for n in names if n]


@pytest.fixture(scope="session")
def pg_database():
    """One fresh PostgreSQL database for the session (tables emptied before each test)."""
    with pg.fresh_database() as url:
        yield url


@pytest.fixture(params=_backends())
def db_url(request, tmp_path) -> str:
    if request.param == "given":
        return os.environ["TEST_DATABASE_URL"]
    if request.param == "postgresql":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app_overrides() -> dict:
    """Extra settings for the ``app`` fixture; override this fixture in a module to change them."""
    return {}


@pytest.fixture
def app(tmp_path, monkeypatch, db_url, app_overrides):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, DATABASE_URL=db_url, **app_overrides))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as connection:
                pg.truncate_all(connection)
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def frozen():
    """Freeze the clock at NOW; ``frozen.move_to(...)`` moves it."""
    with freeze_time(NOW) as frozen_time:
        yield frozen_time


@pytest.fixture
def make_lawyer(db):
    from service.storage.models import Lawyer

    def make(**params) -> Lawyer:
        count = db.session.query(Lawyer).count()
        fields = {
            "name": "Anna Keller",
            "email": f"anna{count}@counsel.example",
            "timezone": "Europe/Berlin",
        }
        fields.update(params)
        lawyer = Lawyer(**fields)
        db.session.add(lawyer)
        db.session.commit()
        return lawyer

    return make


@pytest.fixture
def make_client(db, make_lawyer):
    """``make_client(**agreement) -> (client, token)``; a lawyer is created if none given."""
    from service.cli import create_client

    def make(lawyer=None, **params):
        fields = {
            "name": "Boris Petrov",
            "email": "boris@client.example",
            "windows": "mon 10:00-12:00,wed 14:00-16:00",
            "duration_min": 30,
            "prep_min": 30,
            "buffer_min": 0,
            "notice_hours": 24,
            "horizon_days": 30,
            "language": "en",
        }
        fields.update(params)
        client, token = create_client(lawyer or make_lawyer(), **fields)
        db.session.commit()
        return client, token

    return make
