"""Configuration: every setting, its default and its meaning in one place.

Settings come from the environment (names as in DESIGN.md). Missing required settings
fail at start-up with a clear message; there is no fallback secret in production.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _str(value: str, name: str) -> str:
    return value


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def _hhmm(value: str, name: str) -> str:
    """A wall-clock time ``HH:MM`` (24 h), or empty."""
    value = value.strip()
    if not value:
        return ""
    hour, _, minute = value.partition(":")
    if not (hour.isdigit() and minute.isdigit() and len(minute) == 2 and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"{name} must be a time like 03:00 (UTC), or empty, not {value!r}")
    return f"{int(hour):02d}:{minute}"


def _positive_int(value: str, name: str) -> int:
    number = _int(value, name)
    if number <= 0:
        raise ConfigError(f"{name} must be a whole number above 0, not {value!r}")
    return number


def _non_negative_int(value: str, name: str) -> int:
    number = _int(value, name)
    if number < 0:
        raise ConfigError(f"{name} must be 0 or a whole number above it, not {value!r}")
    return number


def _env(value: str, name: str) -> str:
    if value not in ("production", "development"):
        raise ConfigError(f"{name} must be production or development, not {value!r}")
    return value


DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


def check_database_url(url: str) -> None:
    """Only SQLite and PostgreSQL carry the schema (triggers, the exclusion constraint);
    the message shows the URL without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL: use sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST/DATABASE"
        ) from None
    if parsed.drivername not in DATABASE_SCHEMES:
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(
            f"DATABASE_URL {shown!r} is not supported: use sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST/DATABASE"
        )


def _resolver_url(value: str, name: str) -> str:
    """Empty (the system's resolver) or a niquests resolver URL (``dou://9.9.9.9``)."""
    value = value.strip()
    if not value:
        return ""
    from niquests.packages.urllib3.contrib.resolver import ResolverDescription

    try:
        ResolverDescription.from_url(value)
    except Exception:  # noqa: BLE001 - any parse failure is the same mistake
        raise ConfigError(
            f"{name} must be empty (the system's resolver) or a resolver URL such as "
            f"dou://9.9.9.9 or doh+cloudflare://, not {value!r}"
        ) from None
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Any = _str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, "SQLAlchemy URL; default: SQLite under instance/"),
    Setting("SECRET_KEY", None, "signs sessions and form tokens; required in production"),
    Setting("ENCRYPTION_KEY", None, "Fernet key(s), comma-separated, newest first"),
    Setting("BASE_URL", "http://127.0.0.1:8000", "public URL used in links and mail"),
    Setting("SMTP_HOST", "", "SMTP server; empty: mail is not sent (development)"),
    Setting("SMTP_PORT", 25, "SMTP port", _int),
    Setting("MAIL_FROM", "Counsel Hours <no-reply@localhost>", "sender address"),
    Setting("GOOGLE_CLIENT_ID", "", "OAuth client id for Google Calendar"),
    Setting("GOOGLE_CLIENT_SECRET", "", "OAuth client secret for Google Calendar"),
    Setting(
        "GOOGLE_API_ENDPOINT",
        "https://www.googleapis.com/calendar/v3/",
        "Calendar v3 base URL",
    ),
    Setting("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token", "OAuth token URL"),
    Setting("MICROSOFT_CLIENT_ID", "", "application (client) id for Microsoft 365 / Outlook"),
    Setting("MICROSOFT_CLIENT_SECRET", "", "client secret for Microsoft 365 / Outlook"),
    Setting("MICROSOFT_TENANT", "common", "tenant: common, organizations, consumers or an id"),
    Setting("MICROSOFT_AUTHORITY", "https://login.microsoftonline.com", "sign-in authority host"),
    Setting(
        "MICROSOFT_GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0/", "Microsoft Graph base URL"
    ),
    Setting(
        "ALLOW_PRIVATE_CALENDAR_HOSTS",
        False,
        "allow calendar URLs resolving to private/loopback addresses",
        _bool,
    ),
    Setting("RATELIMIT_STORAGE_URI", "memory://", "where rate limits are counted: memory (one process) or redis://..."),
    Setting("TRUSTED_PROXIES", 0, "number of reverse proxies setting X-Forwarded-For", _int),
    Setting("RATELIMIT_ENABLED", True, "rate limits on public endpoints (off only for tests)", _bool),
    Setting("RATELIMIT_KEY_PREFIX", "counsel-hours", "namespace of the limit counters in storage"),
    Setting(
        "RATELIMIT_BATCH",
        50,
        "most hits a process takes from a shared limit counter at once (at most 1/100 of the limit)",
        _positive_int,
    ),
    Setting("RATELIMIT_BOOKING", "10/minute;50/hour", "booking/changing a call, per client address"),
    Setting("RATELIMIT_BOOKING_TOKEN", "10/minute;30/hour", "booking, per booking link"),
    Setting("RATELIMIT_SLOTS", "120/minute;1000/hour", "slot lists (API and pages), per address"),
    Setting("RATELIMIT_INTAKE", "10/hour;30/day", "bookings through one public intake, all addresses together"),
    Setting("RATELIMIT_GOOGLE_PUSH", "30/minute", "Google push notifications per channel"),
    Setting("RATELIMIT_GOOGLE_PUSH_ADDRESS", "300/minute", "Google push notifications per address"),
    Setting(
        "RATELIMIT_LOGIN",
        "60/minute;600/hour",
        "admin login POSTs per address: a flood backstop (failed sign-ins have their own throttle)",
    ),
    Setting("MAX_CONTENT_LENGTH", 2_000_000, "largest request body in bytes (413 above it)", _int),
    Setting("INTAKE_HOLD_MINUTES", 30, "how long a new visitor's unconfirmed booking holds its slot", _int),
    Setting("INTAKE_MAX_UNCONFIRMED", 5, "unconfirmed bookings one public intake may hold at once", _int),
    Setting("CALENDAR_FRESHNESS_MINUTES", 30, "older mirrors fail closed if unreachable", _int),
    Setting("SYNC_INTERVAL_SECONDS", 300, "how often the worker syncs calendars", _int),
    Setting(
        "CALDAV_PROBE_SECONDS",
        30,
        "how often the worker asks each CalDAV calendar whether it changed (one PROPFIND "
        "of its ctag/sync-token; a full incremental sync only when it moved); 0: off",
        _int,
    ),
    Setting("SLOT_CACHE_ENTRIES", 4096, "offers kept per web process (one per client link)", _positive_int),
    Setting(
        "SLOTS_REPLAY_MS",
        1000,
        "a web process gives the same slots API request (no cookie, no Origin) the answer it "
        "computed this recently again without entering the app; 0: off",
        _non_negative_int,
    ),
    Setting("SLOT_CACHE_SLOTS", 250_000, "slots kept per web process, all offers together", _positive_int),
    Setting(
        "CALENDAR_READ_TIMEOUT_SECONDS",
        30,
        "every answer from a calendar server complete within this (connect to last byte)",
        _positive_int,
    ),
    Setting(
        "CALENDAR_MAX_BYTES",
        20 * 1024 * 1024,
        "largest answer read from a calendar server (decoded); larger ones are cut off",
        _positive_int,
    ),
    Setting(
        "CALENDAR_DNS_RESOLVER",
        "",
        "how calendar host names are looked up: empty, the system's resolver; or a resolver "
        "URL (dou://IP[:PORT], dot://, doh+cloudflare://...); inside the read deadline",
        _resolver_url,
    ),
    Setting(
        "CALENDAR_WEB_BUDGET_SECONDS",
        8,
        "all calendar calls of one web request (live check, connect) end within this",
        _positive_int,
    ),
    Setting(
        "FEED_LIVE_REUSE_SECONDS",
        5,
        "a feed that answered a booking's live check with 304 this recently is not asked "
        "again by the next booking in this process (its mirror counts); 0: ask every time",
        _int,
    ),
    Setting(
        "CALENDAR_WEB_SLOTS",
        2,
        "web requests per host that may wait on calendar servers at once (the rest: 503 at once)",
        _positive_int,
    ),
    Setting(
        "WORKER_TASK_TIME_LIMIT_SECONDS",
        120,
        "a worker task still running after this is abandoned and retried later; 10 s later "
        "its process is killed and replaced",
        _positive_int,
    ),
    Setting("WORKER_MAIL_CONCURRENCY", 2, "mail tasks the worker runs at once", _positive_int),
    Setting(
        "WORKER_WRITE_CONCURRENCY", 2, "calendar writes the worker runs at once", _positive_int
    ),
    Setting("WORKER_SYNC_CONCURRENCY", 2, "calendar syncs the worker runs at once", _positive_int),
    Setting("RESERVE_RELEASE_HOURS", 24, "reserved urgent time not taken this long before it starts is released", _int),
    Setting(
        "ERASE_COMPACT",
        True,
        "after a client's erasure, VACUUM (SQLite) / VACUUM FULL of the touched tables "
        "(PostgreSQL) so the erased data leaves the database files",
        _bool,
    ),
    Setting(
        "ERASE_COMPACT_AT",
        "",
        "PostgreSQL: the worker's VACUUM FULL after erasures runs at this time of day, HH:MM UTC "
        "(a quiet hour: bookings wait during it); empty: 10 minutes after the first erasure",
        _hhmm,
    ),
    Setting("RETENTION_CHECK_SECONDS", 3600, "how often the worker erases clients past retention", _int),
    Setting("JITSI_BASE_URL", "https://meet.jit.si/", "Jitsi Meet server for video calls' rooms"),
    Setting("REMINDER_HOURS", 24, "the client's reminder this many hours before a call (0: off)", _int),
    Setting(
        "REMINDER_SHORT_MINUTES", 60, "a second reminder this many minutes before (0: off)", _int
    ),
    Setting("ENV", "production", "production or development", _env),
)


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read every setting from the environment, apply overrides (tests), validate."""
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            config[setting.name] = overrides.pop(setting.name)
        elif setting.name in os.environ:
            config[setting.name] = setting.parse(os.environ[setting.name], setting.name)
        else:
            config[setting.name] = setting.default
    config.update(overrides)  # Flask's own keys (TESTING, ...)

    dev = config["ENV"] == "development" or config.get("TESTING")
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "counsel-hours.db")
    check_database_url(config["DATABASE_URL"])
    if not config["SECRET_KEY"]:
        if not dev:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random string "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))"), '
                "or ENV=development for the local make run instance."
            )
        config["SECRET_KEY"] = _dev_secret(instance_path, "secret_key", secrets.token_urlsafe(48))
    if not config["ENCRYPTION_KEY"]:
        if not dev:
            raise ConfigError(
                "ENCRYPTION_KEY is not set. Generate one "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'), "
                "or ENV=development for the local make run instance."
            )
        from cryptography.fernet import Fernet

        config["ENCRYPTION_KEY"] = _dev_secret(
            instance_path, "encryption_key", Fernet.generate_key().decode()
        )
    config["BASE_URL"] = config["BASE_URL"].rstrip("/")
    return config


def _dev_secret(instance_path: str, name: str, fresh: str) -> str:
    """A development secret kept in instance/ so it survives restarts."""
    path = Path(instance_path) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fresh)
    path.chmod(0o600)
    return fresh
