"""Fixtures for the end-to-end tests: the example app (`spec/`, `handlers/`) on a fresh database.

The example runs on SQLite unless a test module overrides the `database` fixture with
`params=DIALECTS` (from `tests.databases`), as `test_todo_lists.py` does, to run each of its tests
on SQLite, PostgreSQL and MariaDB. A server that is not running skips its tests, saying where it
was looked for; `CHARTER_TEST_POSTGRESQL_URL` and `CHARTER_TEST_MYSQL_URL` point them elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from server.app import App
from server.data.database import normalize_url
from server.settings import Settings
from tests import databases
from tests.client import Client

ROOT = Path(__file__).resolve().parents[2]

TABLES = ("todo_list_image", "todo", "todo_list")
"""The example's tables, those that refer to others first, so that each can be dropped."""


def database_url(name: str, folder: Path) -> str:
    """A database for the example on `name` with none of its tables: a new SQLite file in
    `folder`, or a server whose example tables were just dropped. Skips an unreachable server.

    Other test modules use other tables on the same servers; tests run one at a time, so
    dropping the example's tables first is all the isolation these tests need.
    """
    url = databases.database_url(name, folder)
    if name != "sqlite":
        drop_example_tables(url)
    return url


def drop_example_tables(url: str) -> None:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for table in TABLES:
                connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()


def example_app(url: str) -> App:
    """The example application over `url`, its tables created at start-up; the environment is
    ignored, for repeatability."""
    settings = Settings.from_env(
        {}, spec=ROOT / "spec", handlers="handlers", database_url=url, migrate=True,
    )
    return App(settings)


@pytest.fixture
def database() -> str:
    """The database the example runs on; a module overrides this with `params=DIALECTS`."""
    return "sqlite"


@pytest.fixture
def app(database: str, tmp_path: Path) -> Iterator[App]:
    app = example_app(database_url(database, tmp_path))
    yield app
    app.close()


@pytest.fixture
def client(app: App) -> Iterator[Client]:
    with Client(app) as client:
        yield client
