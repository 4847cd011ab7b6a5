"""Shared fixtures: an app on a migrated, empty database; factories with defaults.

Which databases a test runs on (the ``db_url`` fixture, behind ``app``):

- Tests marked ``db_matrix`` run on every database of ``TEST_DATABASES`` (default
  ``sqlite,postgresql``): database behaviour — transactions, races, constraints, migrations,
  SQL that differs by dialect (slot cache fingerprint, outbox leases, mirror writes, booking
  writes), hostile strings reaching the driver. Mark a module with
  ``pytestmark = pytest.mark.db_matrix`` or a test with ``@pytest.mark.db_matrix``; when
  unsure whether a test exercises the database, mark it.
- Every other test (pages, forms, CLI wording, i18n, headers...) runs on the first database
  of ``TEST_DATABASES`` only: SQLite by default.
- Tests marked ``sqlite_only`` pin a behaviour of SQLite itself (e.g. its refusal of a
  write after another process committed, ``tests/sqlite_snapshot.py``): they run on SQLite
  always, never skipped for another database.
- Tests marked ``postgres_only`` pin a behaviour of PostgreSQL itself (its snapshots, table
  locks, sequences): they run on PostgreSQL always (under ``CI=true`` a server that does
  not answer fails them), never skipped on SQLite.
- The schema is migrated once per session: a template SQLite file, copied for each test, and
  one PostgreSQL database, emptied before each test as ``TRUNCATE ... RESTART IDENTITY``
  would, so ids start at 1 again (``tests/pg.truncate_all``: only the tables holding rows).
- Tests marked ``migrations`` get a bare database (a new SQLite file; on PostgreSQL the
  session's second database, reset to an empty ``public`` schema), which the ``app`` fixture
  migrates as a deployment would.
- ``TEST_DATABASE_URL`` runs every test on that one database (migrated once; on PostgreSQL
  emptied before each test).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import freezegun
import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from freezegun import freeze_time
from hypothesis import settings
from limits.storage import MemoryStorage

from service import create_app
from service.storage.extensions import db as _db
from tests import compile_once, pg

pytest_plugins = ["pytester"]

# CI runs the property tests with a fixed seed, so a red build always reproduces; local
# runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

# pytest reads its clock through ``_pytest.timing``, which freezegun patches like any other
# module while a test is frozen: ``--durations`` then reported years. Leave it on real time
# (tests/test_pytest_timer.py checks this).
# The calendar libraries too: under a frozen clock icalendar would yield FakeDatetime,
# and x-wr-timezone (which picks its handler by type name) would silently convert
# nothing (tests/reading/test_frozen_clock.py checks this).
freezegun.configure(
    extend_ignore_list=[
        "_pytest.timing", "icalendar", "recurring_ical_events", "x_wr_timezone", "dateutil"
    ]
)


def _join_rate_limit_timers() -> None:
    """Let the in-memory rate limit counters' expiry timers run out: limits' MemoryStorage
    reads ``time.time()`` on a Timer thread 10 ms after each count, and freezegun's
    ``stop`` racing with such a read raised IndexError on that thread (inside freezegun's
    ``_should_use_real_time``), which failed the test in its teardown."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and isinstance(getattr(thread.function, "__self__", None),
                                                               MemoryStorage):
            thread.join(timeout=2)


_freezegun_stop = freezegun.api._freeze_time.stop


def _stop_after_the_rate_limit_timers(self) -> None:
    _join_rate_limit_timers()
    _freezegun_stop(self)


# Every frozen clock (the ``frozen`` fixture, ``freeze_time`` in a test) stops so.
freezegun.api._freeze_time.stop = _stop_after_the_rate_limit_timers

# URL builders and templates compiled once per process, not once per app (tests/compile_once.py).
compile_once.install()

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
        # Every live check asks the feed (a test that counts them may turn reuse on).
        "FEED_LIVE_REUSE_SECONDS": 0,
        # Every slots request reaches the app (tests/test_replay.py turns the replay on).
        "SLOTS_REPLAY_MS": 0,
    }
    config.update(overrides)
    return config


def _backends() -> list:
    """Databases the ``db_matrix`` tests run on: ``TEST_DATABASES=sqlite,postgresql``."""
    if os.environ.get("TEST_DATABASE_URL"):
        return ["given"]
    names = [n.strip() for n in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",")]
    return [pytest.param(n, marks=pytest.mark.postgres) if n == "postgresql" else n for n in names if n]


def pytest_generate_tests(metafunc):
    """``db_url``: every backend for a ``db_matrix`` test, the first one (SQLite) for the rest."""
    if "db_url" in metafunc.fixturenames:
        backends = _backends()
        if metafunc.definition.get_closest_marker("sqlite_only") is not None:
            backends = ["sqlite"]
        elif metafunc.definition.get_closest_marker("postgres_only") is not None:
            backends = [pytest.param("postgresql", marks=pytest.mark.postgres)]
        elif metafunc.definition.get_closest_marker("db_matrix") is None:
            backends = backends[:1]
        metafunc.parametrize("db_url", backends, indirect=True)


def _migrate(url: str, instance: Path) -> None:
    """Run every migration on the database at ``url``, in an app of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(instance))
        app = create_app(app_config(instance, DATABASE_URL=url))
    with app.app_context():
        upgrade()
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once per session; ``db_url`` gives each test a copy."""
    folder = tmp_path_factory.mktemp("sqlite_template")
    path = folder / "template.db"
    _migrate(f"sqlite:///{path}", folder / "instance")
    assert not path.with_name(path.name + "-wal").exists(), "the template is not checkpointed"
    return path


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory) -> Iterator[str]:
    """One PostgreSQL database for the session, migrated once (tables emptied before each test)."""
    with pg.fresh_database() as url:
        _migrate(url, tmp_path_factory.mktemp("pg_template"))
        yield url


@pytest.fixture(scope="session")
def pg_bare_database() -> Iterator[str]:
    """A PostgreSQL database for the ``migrations`` tests; ``db_url`` empties it for each."""
    with pg.fresh_database("ch_bare") as url:
        yield url


@pytest.fixture(scope="session")
def given_database(tmp_path_factory) -> str:
    """``TEST_DATABASE_URL``, migrated once per session."""
    url = os.environ["TEST_DATABASE_URL"]
    _migrate(url, tmp_path_factory.mktemp("given_database"))
    return url


@pytest.fixture
def db_url(request, tmp_path) -> Iterator[str]:
    """The test's database: migrated and empty, or bare for a test marked ``migrations``."""
    bare = request.node.get_closest_marker("migrations") is not None
    if request.param == "given":
        yield request.getfixturevalue("given_database")
    elif request.param == "postgresql" and bare:
        url = request.getfixturevalue("pg_bare_database")
        pg.reset_schema(url)
        yield url
    elif request.param == "postgresql":
        yield request.getfixturevalue("pg_database")
    else:
        path = tmp_path / "test.db"
        if not bare:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"


@pytest.fixture
def app_overrides() -> dict:
    """Extra settings for the ``app`` fixture; override this fixture in a module to change them."""
    return {}


def ready_database(request) -> None:
    """In an app's context: migrate a bare database (``migrations`` tests), empty PostgreSQL's."""
    if request.node.get_closest_marker("migrations") is not None:
        upgrade()
    if _db.engine.dialect.name == "postgresql":
        with _db.engine.begin() as connection:
            pg.truncate_all(connection)


@pytest.fixture
def app(request, tmp_path, monkeypatch, db_url, app_overrides):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, DATABASE_URL=db_url, **app_overrides))
    with app.app_context():
        ready_database(request)
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def mirror_always_fresh(app):
    """For tests that move the clock far past the calendar's last sync (mark a module with
    ``usefixtures("mirror_always_fresh")``); failing closed on a stale mirror is tested in
    test_freshness.py."""
    app.config["CALENDAR_FRESHNESS_MINUTES"] = 10**7


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
    from service.usecases.clients import create_client

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
