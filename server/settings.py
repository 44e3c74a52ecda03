"""Settings: one frozen object with every default in one place, read from the environment."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ErrorFormat = Literal["loopback", "problem"]
ResponseValidation = Literal["error", "log", "off"]

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a Charter server.

    Environment variables (`CHARTER_<FIELD>` in upper case, plus `DATABASE_URL`) override the
    defaults; keyword arguments override both:

    >>> Settings.from_env({"CHARTER_DEBUG": "1"}, port=9000).debug
    True
    """

    spec: Path = Path("spec")
    handlers: str = "handlers"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    reload: bool = False
    database_url: str = "sqlite:///data/app.db"
    debug: bool = False
    error_format: ErrorFormat = "loopback"
    max_body_size: int = 1024 * 1024
    response_validation: ResponseValidation = "error"
    allow_unbound: bool = False
    cors_enabled: bool = True
    cors_origin: str = "*"
    cors_credentials: bool = True
    cors_max_age: int = 86400
    explorer_path: str = "/explorer"
    migrate: bool = False
    """Create or upgrade the entities' tables at start-up, as `charter migrate` does."""
    max_limit: int = 1000
    """The most items one `find` returns, whatever the filter's `limit`."""
    prohibited_keys: tuple[str, ...] = ()
    """Keys refused anywhere in a filter, beyond `__proto__` and `constructor.prototype`."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            key = "DATABASE_URL" if f.name == "database_url" else f"CHARTER_{f.name.upper()}"
            if key in env:
                values[f.name] = _parse(f.name, env[key])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "spec" in values:
            values["spec"] = Path(values["spec"])
        return cls(**values)


def _parse(name: str, raw: str) -> Any:
    default = getattr(Settings, name, None)
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(default, bool):
        return raw.strip().lower() in _TRUE
    if isinstance(default, int):
        return int(raw)
    return raw
