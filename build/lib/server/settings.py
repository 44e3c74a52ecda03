"""Settings: one frozen object with every default in one place, read from the environment."""

from __future__ import annotations

import dataclasses
import os
import re
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
    """Unset in the environment: a SQLite file of the spec's own (`default_database_url`)."""
    statement_timeout: int = 10
    """Seconds one database statement may run, or a database stay silent, before the request is
    a 503 (0: no bound). Keep it above the slowest legitimate query."""
    debug: bool = False
    error_format: ErrorFormat = "loopback"
    max_body_size: int = 1024 * 1024
    body_timeout: int = 30
    """Seconds a request body may take to arrive, all of it; slower is a 408."""
    max_headers: int = 100
    """The most header lines a request may carry; more is a 431."""
    max_header_size: int = 32 * 1024
    """The most bytes of header names and values a request may carry; more is a 431. `charter
    serve` also refuses a request head (request line included) that grows past it unfinished."""
    header_timeout: int = 10
    """Seconds `charter serve` waits for a request head, from the connection being ready for one."""
    max_connections: int = 1000
    """Connections (and requests in progress) one `charter serve` worker takes; beyond, 503."""
    graceful_timeout: int = 20
    """Seconds `charter serve` lets requests in progress finish on SIGTERM before cancelling them."""
    response_validation: ResponseValidation = "error"
    access_log: bool = False
    """One line per request on standard output; `charter serve` turns it on unless this is set."""
    allow_unbound: bool = False
    mock: bool = False
    """Answer what nothing implements from the contract (`charter serve --mock`, `server/mock.py`):
    implies `allow_unbound`, and the entities on an in-memory SQLite database, migrated and
    seeded from their examples, whatever `database_url` says."""
    cors_enabled: bool = True
    cors_origin: str = "*"
    cors_credentials: bool = False
    """Off by default (LoopBack: on); on, it needs `cors_origin` to list origins, never `*`."""
    cors_max_age: int = 86400
    explorer_path: str = "/explorer"
    base_path: str | None = None
    """Where the operations' paths live; unset, the path of the spec's first server URL
    (`/v1` for `http://example.com/v1`). Set it to "" behind a proxy that strips that prefix."""
    migrate: bool = False
    """Create or upgrade the entities' tables at start-up, as `charter migrate` does."""
    max_limit: int = 1000
    """The most items one `find` returns, whatever the filter's `limit`; also the most items an
    `include` adds to each parent, whatever its scope's `limit`."""
    max_include_depth: int = 3
    """How deeply `include` may nest (each scope's `include` is one level more); deeper is a 400."""
    max_response_rows: int = 10_000
    """The most items one response with `include` holds: the items found and everything included,
    each counted where it appears; more is a 400."""
    prohibited_keys: tuple[str, ...] = ()
    """Keys refused anywhere in a filter, beyond `__proto__` and `constructor.prototype`."""
    max_json_depth: int = 16
    """The most levels of arrays and objects a value stored in a JSON column may nest (at most
    31: MariaDB keeps no deeper values)."""
    forwarded_allow_ips: tuple[str, ...] = ()
    """Proxies (IP addresses or networks, `*` for any) whose X-Forwarded-* headers are believed."""
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
        values.setdefault("database_url", default_database_url(values.get("spec", cls.spec)))
        return cls(**values)


def default_database_url(spec: Path) -> str:
    """A SQLite file under `data/` named for the project the spec belongs to: the folder that
    holds the `spec` folder (or the spec's own folder), `app` for the current one. Two projects
    (the example, `examples/todo-jwt`) never share a database by default.

    >>> default_database_url(Path("spec")), default_database_url(Path("examples/todo-jwt/spec"))
    ('sqlite:///data/app.db', 'sqlite:///data/todo-jwt.db')
    """
    folder = spec.parent if spec.suffix in (".yaml", ".yml", ".json") else spec
    project = folder.parent if folder.name == "spec" else folder
    resolved = project.resolve()
    name = "app" if resolved == Path.cwd().resolve() or not resolved.name else resolved.name
    return f"sqlite:///data/{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.db"


def _parse(name: str, raw: str) -> Any:
    default = getattr(Settings, name, None)
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(default, bool):
        return raw.strip().lower() in _TRUE
    if isinstance(default, int):
        return int(raw)
    return raw
