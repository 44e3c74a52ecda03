"""The database: URLs, per-database set-up, faults as the same HTTP errors everywhere, recovery.

The fault tests run on SQLite, PostgreSQL and MariaDB/MySQL, and skip a server that is not
running. `CHARTER_TEST_POSTGRESQL_URL` and `CHARTER_TEST_MYSQL_URL` point them elsewhere.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.data.database import Database, normalize_url, translate
from server.data.patterns import portable_regexp
from server.errors import DatabaseUnavailable, HttpError, NotFound, render_error
from tests.databases import DIALECTS, SERVERS, body, database_url, error_body
from tests.proxy import Proxy, free_port

PREFIX = f"tdb{os.getpid()}_"  # several test runs may share a server


# -- URLs and set-up ------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "normal"), [
    ("postgres://app:secret@db/shop", "postgresql+psycopg://app:secret@db/shop"),
    ("postgresql://db:5433/shop", "postgresql+psycopg://db:5433/shop"),
    ("postgresql+psycopg://db/shop", "postgresql+psycopg://db/shop"),
    ("mysql://root@db/shop", "mysql+pymysql://root@db/shop?charset=utf8mb4"),
    ("mariadb://root@db/shop", "mysql+pymysql://root@db/shop?charset=utf8mb4"),
    ("mysql+pymysql://root@db/shop?charset=utf8", "mysql+pymysql://root@db/shop?charset=utf8"),
    ("sqlite:///data/app.db", "sqlite:///data/app.db"),
    ("sqlite://", "sqlite://"),
])
def test_urls_get_charters_drivers(url: str, normal: str) -> None:
    assert normalize_url(url).render_as_string(hide_password=False) == normal


@pytest.mark.parametrize("name", DIALECTS)
def test_the_dialect_has_one_name_per_database(name: str, tmp_path: Path) -> None:
    url = database_url(name, tmp_path)
    database = Database(url.replace("mysql://", "mariadb://"))
    try:
        assert database.dialect == name
        with database.read() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.close()


def test_sqlite_gets_its_folder_and_pragmas(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/a/b/app.db")
    try:
        with database.read() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("SELECT 'a' LIKE 'A', 'a' LIKE 'a'").one() == (0, 1)
        assert (tmp_path / "a" / "b" / "app.db").is_file()
    finally:
        database.close()


def test_a_sqlite_write_takes_the_write_lock_when_it_begins(tmp_path: Path) -> None:
    """So that a read-then-write transaction waits for another writer instead of failing."""
    database = Database(f"sqlite:///{tmp_path}/app.db")
    other = sqlite3.connect(tmp_path / "app.db", timeout=0, isolation_level=None)
    try:
        with database.read() as connection:
            connection.exec_driver_sql("SELECT 1")
            other.execute("BEGIN IMMEDIATE")  # a read leaves the write lock free
            other.execute("ROLLBACK")
        with database.write() as connection:
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
            connection.exec_driver_sql("SELECT 1")
    finally:
        other.close()
        database.close()


@pytest.mark.parametrize("name", DIALECTS)
def test_a_single_statement_read_runs_without_a_transaction_of_its_own(
        name: str, tmp_path: Path) -> None:
    """One round trip on PostgreSQL, no BEGIN on SQLite; the connection is transactional again
    for whoever takes it next."""
    database = Database(database_url(name, tmp_path))
    said: list[str] = []
    try:
        with database.read() as connection:  # the dialect's own first queries
            connection.execute(text("SELECT 1"))
        event.listen(database.engine, "before_cursor_execute",
                     lambda _c, _r, statement, *_: said.append(statement.split()[0].upper()))
        with database.read(single=True) as connection:
            connection.execute(text("SELECT 1"))
            if name == "postgresql":
                assert connection.connection.driver_connection.autocommit is True  # type: ignore[union-attr]
        assert said == ["SELECT"]
        said.clear()
        with database.read() as connection:
            connection.execute(text("SELECT 1"))
            if name == "postgresql":
                assert connection.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
        assert said == (["BEGIN", "SELECT"] if name == "sqlite" else ["SELECT"])
    finally:
        database.close()


def test_in_memory_sqlite_is_one_database_for_every_thread() -> None:
    database = Database("sqlite://")
    try:
        with database.write() as connection:
            connection.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, n INTEGER)")

        def add(n: int) -> None:
            for _ in range(20):
                with database.write() as connection:
                    connection.exec_driver_sql(f"INSERT INTO note (n) VALUES ({n})")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(add, range(8)))
        with database.read() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM note").scalar() == 160
    finally:
        database.close()


def test_sqlites_regexp_is_re2_with_the_portable_end(tmp_path: Path) -> None:
    """Every SQLite database gets it, bounded or not: Python's `re` would backtrack."""
    for database in (Database("sqlite://"), Database(f"sqlite:///{tmp_path}/app.db",
                                                     statement_timeout=5)):
        try:
            with database.read() as connection:
                def matches(value: str, pattern: str, fold: bool = False) -> object:
                    return connection.execute(text("SELECT :value REGEXP :pattern"), {
                        "value": value, "pattern": portable_regexp(pattern, fold)}).scalar()

                assert matches("ab", "b$") == 1
                assert matches("ab\n", "b$") == 0  # the very end, not before a last newline
                assert matches("AB", "^ab$", fold=True) == 1
                assert matches("a" * 25 + "!", "(a|a)*$") == 1
                assert connection.execute(text("SELECT NULL REGEXP 'a'")).scalar() is None
                with pytest.raises(OperationalError, match="user-defined function raised"):
                    connection.execute(text("SELECT 'ab' REGEXP 'a(?=b)'"))  # not RE2's
        finally:
            database.close()


@pytest.mark.parametrize("name", SERVERS)
def test_the_statement_timeout_reaches_the_server(name: str, tmp_path: Path) -> None:
    url = make_url(database_url(name, tmp_path))
    if name == "postgresql":
        url = url.update_query_dict({"options": "-c lock_timeout=1234"})  # kept beside it
    show = {"postgresql": "SELECT current_setting('statement_timeout'), "
                          "current_setting('lock_timeout')",
            "mysql": "SELECT @@SESSION.max_statement_time, 0"}[name]
    for timeout, expected in ((2, {"postgresql": ("2s", "1234ms"), "mysql": (2, 0)}[name]),
                              (None, {"postgresql": ("0", "1234ms"), "mysql": (0, 0)}[name])):
        database = Database(url.render_as_string(hide_password=False),
                            statement_timeout=timeout)
        try:
            with database.read() as connection:
                assert tuple(connection.execute(text(show)).one()) == expected
        finally:
            database.close()


def test_a_statement_runs_as_long_as_it_needs_without_a_statement_timeout(
        tmp_path: Path) -> None:
    """`charter migrate` opens its database so; the server passes CHARTER_STATEMENT_TIMEOUT."""
    count = text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                 "WHERE i < 1500000) SELECT count(*) FROM n")  # half a second or so
    for timeout, answers in ((0.05, False), (None, True), (0, True)):
        database = Database(f"sqlite:///{tmp_path}/app.db", statement_timeout=timeout)
        try:
            if answers:
                with database.read() as connection:
                    assert connection.execute(count).scalar() == 1_500_000
            else:
                with pytest.raises(DatabaseUnavailable), database.read() as connection:
                    connection.execute(count)
        finally:
            database.close()


def test_a_negative_statement_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="CHARTER_STATEMENT_TIMEOUT is -1: it must be a number "
                                         "of seconds, or 0 for no bound"):
        Database("sqlite://", statement_timeout=-1)


# -- faults, on every database ------------------------------------------------------------

metadata = MetaData()
parent = Table(
    f"{PREFIX}parent", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("title", String(40), nullable=False),
    Column("a", Integer), Column("b", Integer), Column("score", Integer),
    UniqueConstraint("title", name=f"uq_{PREFIX}parent_title"),
    UniqueConstraint("a", "b", name=f"uq_{PREFIX}parent_a_b"),
    CheckConstraint("score >= 0", name=f"ck_{PREFIX}parent_score"),
)
child = Table(
    f"{PREFIX}child", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("parent_id", Integer),
    ForeignKeyConstraint(["parent_id"], [parent.c.id], name=f"fk_{PREFIX}child_parent_id"),
)


@pytest.fixture(scope="module", params=DIALECTS)
def shared(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(database_url(request.param, tmp_path_factory.mktemp("db")))
    with database.write() as connection:
        metadata.drop_all(connection)
        metadata.create_all(connection)
    yield database
    with database.write() as connection:
        metadata.drop_all(connection)
    database.close()


@pytest.fixture
def db(shared: Database) -> Database:
    """The shared database with one parent (id 1, title "first") and a child referring to it."""
    with shared.write() as connection:
        connection.execute(delete(child))
        connection.execute(delete(parent))
        connection.execute(insert(parent).values(id=1, title="first", a=1, b=2, score=0))
        connection.execute(insert(child).values(id=1, parent_id=1))
    return shared


def fault(db: Database, statement: Callable[[Connection], object], action: str = "write"
          ) -> HttpError:
    """The error `statement` raises in a write (or a read), and check it was rolled back."""
    with pytest.raises(HttpError) as caught:
        if action == "read":
            with db.read() as connection:
                statement(connection)
        else:
            with db.write(action) as connection:  # type: ignore[arg-type]
                connection.execute(insert(parent).values(id=99, title="rolled back"))
                statement(connection)
    with db.read() as connection:
        assert connection.execute(select(parent.c.id).where(parent.c.id == 99)).first() is None
    return caught.value


def test_a_duplicate_id_is_409(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="charter")
    error = fault(db, lambda c: c.execute(insert(parent).values(id=1, title="again")))
    assert body(error) == error_body(409, "ConflictError",
                                     "A row with the same id already exists.",
                                     code="UNIQUE_VIOLATION")
    # One line for the fault, with the driver's words (the access log names the 409 itself)
    [record] = [r for r in caplog.records
                if r.name == "charter" and r.getMessage().startswith("database fault")]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("database fault on write, answered 409 "
                                          "UNIQUE_VIOLATION: ")  # then the driver's own words


def test_a_duplicate_unique_value_names_its_columns(db: Database) -> None:
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2, title="first")))
    assert body(error) == error_body(409, "ConflictError",
                                     "A row with the same title already exists.",
                                     code="UNIQUE_VIOLATION")
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2, title="x", a=1, b=2)))
    assert error.message == "A row with the same a and b already exists."
    with db.write() as connection:
        connection.execute(insert(parent).values(id=2, title="second"))
    error = fault(db, lambda c: c.execute(
        parent.update().where(parent.c.id == 2).values(title="first")))
    assert error.message == "A row with the same title already exists."


def test_a_missing_reference_is_422_and_a_referred_row_409(db: Database) -> None:
    error = fault(db, lambda c: c.execute(insert(child).values(id=2, parent_id=42)))
    assert body(error) == error_body(409, "ConflictError",
                                     "A referenced row does not exist.",
                                     code="INVALID_REFERENCE")
    error = fault(db, lambda c: c.execute(delete(parent).where(parent.c.id == 1)), "delete")
    assert body(error) == error_body(409, "ConflictError",
                                     "The row is still referenced by other rows.",
                                     code="FOREIGN_KEY_VIOLATION")


def test_a_missing_required_value_is_422(db: Database) -> None:
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2, title=None)))
    assert body(error) == error_body(422, "UnprocessableEntityError",
                                     "Column title cannot be null.",
                                     code="INVALID_VALUE")
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2)))
    assert error.message == "Column title cannot be null."


def test_a_value_the_database_refuses_is_422(db: Database) -> None:
    invalid = error_body(422, "UnprocessableEntityError",
                         "A value is invalid or out of range for the database.",
                         code="INVALID_VALUE")
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2, title="x", score=-1)))
    assert body(error) == invalid
    if db.dialect == "sqlite":
        return  # SQLite stores any integer and any length of text; the spec's schemas guard it
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2**40, title="x")))
    assert body(error) == invalid
    error = fault(db, lambda c: c.execute(insert(parent).values(id=2, title="x" * 41)))
    assert body(error) == invalid
    regexp = "~" if db.dialect == "postgresql" else "REGEXP"
    error = fault(db, lambda c: c.execute(text(f"SELECT 1 FROM {parent.name} "
                                               f"WHERE title {regexp} '('")), "read")
    assert body(error) == invalid
    if db.dialect == "postgresql":
        error = fault(db, lambda c: c.execute(insert(parent).values(id=2, title="a\x00b")))
        assert body(error) == invalid


def test_a_missing_table_or_column_says_to_migrate(db: Database) -> None:
    expected = error_body(503, "ServiceUnavailableError",
                          "The database is missing tables or columns the spec needs. "
                          "Run `charter migrate`.",
                          code="DATABASE_NOT_MIGRATED")
    error = fault(db, lambda c: c.execute(text(f"SELECT * FROM {PREFIX}nowhere")), "read")
    assert body(error) == expected
    assert "retry-after" not in render_error(error)[1]
    error = fault(db, lambda c: c.execute(text(f"SELECT absent FROM {parent.name}")), "read")
    assert body(error) == expected
    error = fault(db, lambda c: c.execute(text(
        f"INSERT INTO {parent.name} (id, title, absent) VALUES (3, 'x', 1)")))
    assert body(error) == expected


def test_a_write_commits_and_other_errors_pass_through(db: Database) -> None:
    with db.write() as connection:
        connection.execute(insert(parent).values(id=2, title="kept"))
    with pytest.raises(NotFound), db.write() as connection:
        connection.execute(insert(parent).values(id=3, title="dropped"))
        raise NotFound("mine")
    with pytest.raises(ZeroDivisionError), db.read():
        _ = 1 / 0
    with db.read() as connection:
        assert connection.execute(select(func.count()).select_from(parent)).scalar() == 2


def test_other_errors_are_not_translated() -> None:
    assert translate(ValueError("no"), "read") is None
    assert translate(NotFound("mine"), "write") is None
    assert translate(KeyError(1062), "write") is None  # not MariaDB's duplicate key


def test_a_pool_with_no_free_connection_is_503() -> None:
    error = translate(PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), "read")
    assert isinstance(error, DatabaseUnavailable)


# -- an unreachable database --------------------------------------------------------------

UNAVAILABLE = error_body(503, "ServiceUnavailableError",
                         "The database is unavailable. Try again later.",
                         code="DATABASE_UNAVAILABLE")


def assert_unavailable(error: HttpError) -> None:
    status, headers, raw = render_error(error)
    assert (status, headers["retry-after"]) == (503, "1")
    assert orjson.loads(raw) == UNAVAILABLE


def test_a_locked_sqlite_database_is_503(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/app.db")
    holder = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    try:
        with database.write() as connection:
            connection.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY)")
        holder.execute("BEGIN IMMEDIATE")  # another process is writing
        with pytest.raises(DatabaseUnavailable) as caught, database.read() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout=0")  # rather than wait 5 s
            connection.exec_driver_sql("INSERT INTO note VALUES (1)")
        assert_unavailable(caught.value)
    finally:
        holder.close()
        database.close()


@pytest.mark.parametrize("name", SERVERS)
def test_a_server_that_is_not_there_is_503_at_once(name: str, tmp_path: Path) -> None:
    url = make_url(database_url(name, tmp_path)).set(host="127.0.0.1", port=free_port())
    database = Database(url.render_as_string(hide_password=False))
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as caught, database.read():
            pass
        assert time.monotonic() - started < 5
        assert_unavailable(caught.value)
    finally:
        database.close()


@pytest.mark.parametrize("name", SERVERS)
def test_a_lost_server_is_503_until_it_is_back(name: str, tmp_path: Path) -> None:
    url = make_url(database_url(name, tmp_path))
    proxy = Proxy(url.host or "127.0.0.1", url.port or (5432 if name == "postgresql" else 3306))
    proxy.start()
    database = Database(url.set(port=proxy.port).render_as_string(hide_password=False))
    select_one = text("SELECT 1")
    try:
        with database.read() as connection:
            assert connection.execute(select_one).scalar() == 1
        with pytest.raises(DatabaseUnavailable) as lost, database.read() as connection:
            connection.execute(select_one)
            proxy.stop()  # in the middle of a read
            connection.execute(select_one)
        assert_unavailable(lost.value)

        proxy.start()  # a restart between two reads goes unnoticed: the pool pings first
        with database.read() as connection:
            assert connection.execute(select_one).scalar() == 1
        proxy.stop()
        proxy.start()
        with database.read() as connection:
            assert connection.execute(select_one).scalar() == 1
        proxy.stop()

        started = time.monotonic()
        for use in (database.read, database.write):
            with pytest.raises(DatabaseUnavailable) as down, use() as connection:
                connection.execute(select_one)
            assert_unavailable(down.value)
        assert time.monotonic() - started < 5

        proxy.start()  # the same port: the server is back
        with database.read() as connection:
            assert connection.execute(select_one).scalar() == 1
        with database.write() as connection:
            assert connection.execute(select_one).scalar() == 1
    finally:
        proxy.stop()
        database.close()
