"""Configuration: production refuses to start without its secrets; development makes them."""

from __future__ import annotations

import pytest

from service import create_app
from service.core.config import ConfigError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "ENCRYPTION_KEY", "ENV", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path


def test_production_refuses_to_start_without_secret_key(clean_env):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app()


def test_production_refuses_to_start_without_encryption_key(clean_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret")
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY is not set"):
        create_app()


def test_development_generates_secrets_once_into_instance(clean_env, monkeypatch):
    monkeypatch.setenv("ENV", "development")
    first = create_app().config
    second = create_app().config
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 40
    assert first["ENCRYPTION_KEY"] == second["ENCRYPTION_KEY"]
    assert (clean_env / "instance" / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("name", "value"), [("SMTP_PORT", "twenty-five"), ("ALLOW_PRIVATE_CALENDAR_HOSTS", "maybe")])
def test_malformed_settings_fail_with_their_name(clean_env, monkeypatch, name, value):
    monkeypatch.setenv("ENV", "development")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app()
