"""The database scenarios' databases: created, migrated by Charter, seeded alike, reset between runs.

    database = BenchDatabase("sqlite:////tmp/bench/todo.db")   # or postgresql+psycopg://...
    database.prepare()   # create it (PostgreSQL), `charter migrate`, then SEEDED todos
    database.reset()     # before each wrk run: drop what POST runs added
    database.close()

Both apps serve the one database: the tables are Charter's (`python -m server migrate` on
`spec/`), the FastAPI app maps the same `todo` table. Seeding and resetting use plain SQL, so
neither app's code is involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
SEEDED = 1000
"""Todos with ids 1 to SEEDED; rows with a higher id are the ones POST runs created."""

_VERBS = ("Buy", "Call", "Clean", "Cook", "Fix", "Plan", "Read", "Write")


def seed_rows() -> list[dict[str, Any]]:
    """The seeded todos: one in three complete, varied titles that sort apart from their ids.

    >>> rows = seed_rows()
    >>> len(rows), rows[0]["title"], rows[2]["is_complete"]
    (1000, 'Plan 0001', True)
    """
    return [
        {
            "title": f"{_VERBS[(i * 5) % len(_VERBS)]} {i:04d}",
            "desc": f"seeded todo number {i}",
            "is_complete": i % 3 == 0,
            "remind_at_address": f"{i} Main Street" if i % 4 == 0 else None,
        }
        for i in range(1, SEEDED + 1)
    ]


class BenchDatabase:
    """One database of the benchmark, by SQLAlchemy URL (PostgreSQL URLs name psycopg)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self._engine: Any = None
        # A server that does not answer is reported within seconds, not after TCP's timeout.
        self._connect_args = {"connect_timeout": 5} if self.dialect == "postgresql" else {}

    @property
    def engine(self) -> Any:
        if self._engine is None:
            # No pool: the runner holds no connection while the servers are measured.
            self._engine = create_engine(self.url, poolclass=NullPool, connect_args=self._connect_args)
        return self._engine

    def reachable(self) -> str | None:
        """None when the server answers (creating the database if need be); else why not."""
        try:
            self._create()
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            return f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
        return None

    def prepare(self) -> None:
        """The tables of `spec/` (by `charter migrate`), emptied, then the seeded todos."""
        self._create()
        migrate(self.url)
        insert = text(
            'INSERT INTO todo (title, "desc", is_complete, remind_at_address) '
            "VALUES (:title, :desc, :is_complete, :remind_at_address)"
        )
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("TRUNCATE todo_list_image, todo, todo_list RESTART IDENTITY"))
            else:  # SQLite reuses rowids from max(id) + 1: an empty table starts again at 1
                for table in ("todo_list_image", "todo", "todo_list"):
                    connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(insert, seed_rows())
            count, top = connection.execute(text("SELECT count(*), max(id) FROM todo")).one()
        if (count, top) != (SEEDED, SEEDED):
            raise RuntimeError(f"seeding gave {count} todos up to id {top}, not 1 to {SEEDED}")
        self._maintain()

    def reset(self) -> int:
        """Delete the todos POST runs created, so that every run sees the same table."""
        with self.engine.begin() as connection:
            deleted = connection.execute(text("DELETE FROM todo WHERE id > :seeded"), {"seeded": SEEDED})
        if deleted.rowcount:
            self._maintain()
        return int(deleted.rowcount)

    def server_version(self) -> str:
        with self.engine.connect() as connection:
            query = "SELECT sqlite_version()" if self.dialect == "sqlite" else "SHOW server_version"
            return f"{self.dialect} {connection.execute(text(query)).scalar_one()}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _maintain(self) -> None:
        """PostgreSQL: reclaim the deleted rows and refresh statistics (a seq scan stays short)."""
        if self.dialect != "postgresql":
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE todo"))

    def _create(self) -> None:
        """PostgreSQL: create the database, through the server's `postgres` database, if missing."""
        url = make_url(self.url)
        if self.dialect != "postgresql" or not url.database:
            if self.dialect == "sqlite" and url.database:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            return
        admin = create_engine(
            url.set(database="postgres"), poolclass=NullPool, connect_args=self._connect_args
        )
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                exists = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
                ).first()
                if exists is None:
                    connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        finally:
            admin.dispose()


def migrate(url: str) -> None:
    """`charter migrate`: the database at `url` brought up to the tables of `spec/`."""
    result = subprocess.run(
        [sys.executable, "-m", "server", "migrate", "--spec", "spec"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"charter migrate failed:\n{result.stdout}{result.stderr}")
