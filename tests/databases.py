"""The test databases: SQLite always, PostgreSQL and MariaDB/MySQL when their servers are running.

`CHARTER_TEST_POSTGRESQL_URL` and `CHARTER_TEST_MYSQL_URL` point the tests elsewhere; a server
that is not running skips its tests with a reason that says where it was looked for. Test
modules share these databases, even with other runs, so each one keeps to tables of its own
(`trepo<pid>_note`...) and drops them when it is done. `body` and `error_body` give the error
bodies those tests compare whole.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import MetaData, delete, text
from sqlalchemy.engine import make_url

from server.data.database import Database
from server.errors import DatabaseUnavailable, HttpError, render_error

SERVERS = {
    "postgresql": os.environ.get("CHARTER_TEST_POSTGRESQL_URL",
                                 "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("CHARTER_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
DIALECTS = ["sqlite", *SERVERS]


@functools.cache
def _unreachable(name: str) -> str | None:
    database = Database(SERVERS[name])
    try:
        with database.read() as connection:
            connection.execute(text("SELECT 1"))
    except DatabaseUnavailable:
        where = make_url(SERVERS[name]).render_as_string(hide_password=True)
        return (f"{name} is not reachable at {where} "
                f"(set CHARTER_TEST_{name.upper()}_URL to test it)")
    finally:
        database.close()
    return None


def server_url(name: str) -> str:
    """The URL of the `name` server; skips the test when that server is not running."""
    reason = _unreachable(name)
    if reason:
        pytest.skip(reason)
    return SERVERS[name]


def database_url(name: str, folder: Path) -> str:
    """The URL of a test database on `name`; skips the test when that server is not running."""
    if name == "sqlite":
        return f"sqlite:///{folder}/app.db"
    return server_url(name)


@contextmanager
def database_with(name: str, folder: Path, metadata: MetaData) -> Iterator[Database]:
    """A database on `name` holding `metadata`'s tables, new and empty; dropped afterwards."""
    database = Database(database_url(name, folder))
    try:
        with database.write() as connection:
            metadata.drop_all(connection, checkfirst=True)  # left over by a killed run
            metadata.create_all(connection)
        yield database
    finally:
        with database.write() as connection:
            metadata.drop_all(connection, checkfirst=True)
        database.close()


def empty(database: Database, metadata: MetaData) -> None:
    """Delete every row of `metadata`'s tables, the referring ones first."""
    with database.write("delete") as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))


def body(error: HttpError) -> dict[str, Any]:
    """The JSON body the server would send for `error`."""
    status, _, raw = render_error(error)
    assert status == error.status
    return orjson.loads(raw)  # type: ignore[no-any-return]


def error_body(status: int, name: str, message: str, code: str | None = None,
               details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"statusCode": status, "name": name, "message": message}
    if code is not None:
        inner["code"] = code
    if details is not None:
        inner["details"] = details
    return {"error": inner}
