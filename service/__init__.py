"""Counsel Hours web service: the Flask app factory.

``gunicorn "service:create_app()"`` serves it; ``flask --app service ...`` runs the CLI.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from flask import Flask

from service.core import crypto
from service.core.config import ConfigError, load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_line_error(exc: BaseException) -> str | None:
    """The one line an operator sees for a bad setting or an unreachable database (else
    None: a real bug keeps its traceback). Never holds a password."""
    if isinstance(exc, ConfigError):
        return f"Error: {exc}"
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"Error: the database of DATABASE_URL cannot be used: {reason}"
    return None


def _one_line_config_errors() -> None:
    """A missing or malformed setting ends ``flask ...`` with one line, not a traceback
    (the CLI loads the app outside any command, where no handler can catch it)."""
    previous = sys.excepthook
    if getattr(previous, "counsel_hours", False):
        return

    def excepthook(kind, exc, tb):
        line = one_line_error(exc)
        if line is None:
            previous(kind, exc, tb)
        else:
            print(line, file=sys.stderr)

    excepthook.counsel_hours = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook


_one_line_config_errors()


def exit_on_bad_settings() -> None:
    """Build the app once and end the process with one line (exit 1) if a setting is
    missing or malformed: gunicorn's master (``gunicorn.conf.py``) and ``make run``'s
    supervisor call it before they start anything, so no worker prints a traceback."""
    try:
        create_app()
    except ConfigError as exc:
        print(one_line_error(exc), file=sys.stderr)
        sys.exit(1)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(ROOT, "instance"),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "templates", "static"),
    )
    app.config.from_mapping(load_config(app.instance_path, test_config))
    crypto.fernet(app.config["ENCRYPTION_KEY"])  # a malformed key fails here, not mid-migration
    app.config["ROOT"] = ROOT
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_uri(app.config["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["PREFERRED_URL_SCHEME"] = "https" if app.config["BASE_URL"].startswith("https") else "http"
    app.json.sort_keys = False

    from service import cli
    from service.core import logredact
    from service.storage import db_setup
    from service.storage.extensions import db, migrate
    from service.web import blueprints, errors, limits, replay

    db.init_app(app)
    db_setup.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "service", "storage", "migrations"))
    errors.init_app(app)
    logredact.init_app(app)
    blueprints.init_app(app)
    cli.init_app(app)
    replay.init_app(app)  # in front of the app, behind ProxyFix
    limits.init_app(app)  # last: limits the endpoints registered above
    return app


def _database_uri(url: str) -> str:
    """Accept ``postgresql://`` as given and drive it with psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _engine_options(uri: str) -> dict[str, Any]:
    if uri.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # A database that is away fails a new connection within seconds, not the OS's minutes;
    # pooled connections are pinged when they were idle (``db_setup.ping_after_idle``).
    return {"connect_args": {"connect_timeout": 5}}
