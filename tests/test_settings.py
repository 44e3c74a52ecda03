"""Settings: defaults, the environment, and overrides."""

from __future__ import annotations

from pathlib import Path

from server.settings import Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.spec == Path("spec")
    assert settings.handlers == "handlers"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite:///data/app.db"
    assert settings.debug is False
    assert settings.error_format == "loopback"
    assert settings.max_body_size == 1024 * 1024
    assert (settings.cors_origin, settings.cors_credentials, settings.cors_max_age) == (
        "*", False, 86400)
    assert settings.forwarded_allow_ips == ()


def test_environment_then_overrides() -> None:
    env = {"DATABASE_URL": "postgresql://db/x", "CHARTER_DEBUG": "yes", "CHARTER_PORT": "9000",
           "CHARTER_SPEC": "api/openapi.yaml", "CHARTER_CORS_ENABLED": "0",
           "CHARTER_ERROR_FORMAT": "problem"}
    settings = Settings.from_env(env, port=9001, handlers=None)
    assert settings.database_url == "postgresql://db/x"
    assert settings.debug is True
    assert settings.port == 9001  # an argument beats the environment
    assert settings.handlers == "handlers"  # None means "not given"
    assert settings.spec == Path("api/openapi.yaml")
    assert settings.cors_enabled is False
    assert settings.error_format == "problem"
