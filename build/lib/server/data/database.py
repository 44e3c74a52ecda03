"""The database: one engine opened from a URL, and the translation of its faults into HTTP errors.

    db = Database("postgresql://app@db/shop")     # or sqlite:///data/app.db, mysql://...
    with db.read() as connection: ...             # a connection; rolled back when done
    with db.write() as connection: ...            # one transaction, committed on success
    with db.write("delete") as connection: ...    # a foreign key then means "still referred to"

Every database fault leaving `read` or `write` becomes an `HttpError` whose body is the same on
SQLite, PostgreSQL and MariaDB/MySQL (see `translate`); the driver's own text only goes to the
"charter" log. Each database is set up to behave alike:

- SQLite: foreign keys on, case-sensitive LIKE, a 5 s busy timeout, WAL for files (worker
  processes share one file), and `BEGIN IMMEDIATE` for writes so a read-then-write transaction
  waits for the lock instead of failing. `sqlite://` is one in-memory database shared by every
  thread, used by one thread at a time. REGEXP is RE2's (`patterns.sqlite_regexp`), linear in
  the text, never Python's backtracking `re`.
- PostgreSQL and MariaDB/MySQL: connections are pinged before use, so the pool recovers by itself
  once the database is back; connecting gives up after 3 s, so a dead database answers 503
  quickly. MariaDB/MySQL sessions are strict (`STRICT_TRANS_TABLES`): a value that does not fit is
  an error, never silently clipped, and a REGEXP that PCRE2 gave up on (its backtracking limit:
  MariaDB warns and drops the row) is a 400 naming the pattern, never a wrong answer.

`statement_timeout` (seconds; the server passes `CHARTER_STATEMENT_TIMEOUT`) bounds every
statement, so that a slow statement or a database that stopped answering is a 503 within about
that time instead of a request that hangs: the server cancels a statement that runs longer
(PostgreSQL's `statement_timeout`, MariaDB's `max_statement_time`, MySQL's `max_execution_time`,
SQLite's progress handler), and the client gives up `ANSWER_MARGIN` seconds later on a server
that sends nothing at all (psycopg's wait, PyMySQL's `read_timeout`/`write_timeout`), closing
that connection. A connection the pool must open again adds up to `CONNECT_TIMEOUT`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import psycopg
import pymysql.cursors  # type: ignore[import-untyped]
from psycopg.abc import PQGen
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from server.data.patterns import regexp_source, sqlite_regexp
from server.errors import (
    BadRequest,
    DatabaseUnavailable,
    ForeignKeyViolation,
    HttpError,
    InvalidReference,
    InvalidValue,
    SchemaNotMigrated,
    UniqueViolation,
)

logger = logging.getLogger("charter")

Action = Literal["read", "write", "delete"]
DialectName = Literal["sqlite", "postgresql", "mysql"]
KeyColumns = Callable[[str | None, str], tuple[str, ...] | None]
"""`(table or None, index name) -> its columns`, for drivers that name only the index."""

CONNECT_TIMEOUT = 3
"""Seconds to wait for a server to accept a connection before answering 503."""
POOL_SIZE = 10
"""Connections per process to PostgreSQL or MariaDB: with N workers, N times 10 in all."""
BUSY_TIMEOUT_MS = 5000
"""How long SQLite waits for another connection's write lock before answering 503."""
ANSWER_MARGIN = 1.0
"""Seconds the client waits beyond the statement timeout before it gives the server up."""
SQLITE_PROGRESS_STEPS = 10_000
"""SQLite virtual-machine steps between two looks at the clock (well under a millisecond)."""
PCRE2_LIMIT = "(*LIMIT_MATCH=1000000)"
"""What MariaDB's REGEXP patterns start with: PCRE2 gives up on a row after this many steps."""
RETRY_AFTER = 1
WRITE_LOCK = "charter_write_lock"
"""Execution option: on SQLite, the connection's transaction begins with the write lock."""
NO_BEGIN = "charter_no_begin"
"""Execution option: on SQLite, no BEGIN: each statement is its own transaction."""

INVALID_REFERENCE = "A referenced row does not exist."
STILL_REFERENCED = "The row is still referenced by other rows."
INVALID_VALUE = "A value is invalid or out of range for the database."
DUPLICATE = "A row with the same unique values already exists."

_DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg",
            "mysql": "mysql+pymysql", "mariadb": "mysql+pymysql"}
_DRIVER_MODULES = frozenset({"sqlite3", "psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql",
                             "mariadb"})


_OPEN: ContextVar[tuple[Database, Connection] | None] = ContextVar("charter_transaction",
                                                                 default=None)
"""The write transaction open in this context, which nested reads and writes join."""

class Database:
    """One database, opened from a URL: an engine, and the translation of its faults into HTTP errors.

    >>> db = Database("sqlite://")
    >>> with db.write() as connection:
    ...     _ = connection.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY)")
    ...     _ = connection.exec_driver_sql("INSERT INTO note VALUES (1)")
    >>> with db.write() as connection:
    ...     _ = connection.exec_driver_sql("INSERT INTO note VALUES (1)")
    Traceback (most recent call last):
    server.UniqueViolation: A row with the same id already exists.
    >>> db.close()
    """

    def __init__(self, url: str, *, echo: bool = False,
                 statement_timeout: float | None = None) -> None:
        """`statement_timeout`: seconds any one statement may take (None or 0: no bound).

        It must stay above the slowest legitimate statement; the server's setting is
        `CHARTER_STATEMENT_TIMEOUT`. `charter migrate` opens its database without one.
        """
        if statement_timeout is not None and statement_timeout < 0:
            raise ValueError(f"CHARTER_STATEMENT_TIMEOUT is {statement_timeout}: it must be a "
                             "number of seconds, or 0 for no bound")
        self.url: URL = normalize_url(url)
        self.statement_timeout = statement_timeout or None
        name = self.url.get_backend_name()
        if name not in ("sqlite", "postgresql", "mysql", "mariadb"):
            raise ArgumentError(f"{name} is not a database Charter supports: use sqlite://, "
                                "postgresql:// or mysql:// (mariadb://)")
        self.dialect: DialectName = ("mysql" if name in ("mysql", "mariadb")
                                     else "postgresql" if name == "postgresql" else "sqlite")
        self._lock: threading.RLock | None = None
        self._keys: dict[tuple[str, str], tuple[str, ...]] = {}
        self._single_options: dict[str, Any] = (
            {NO_BEGIN: True} if self.dialect == "sqlite"
            else {"isolation_level": "AUTOCOMMIT"} if self.dialect == "postgresql" else {})
        if self.dialect == "sqlite":
            _create_sqlite_folder(self.url)
            memory = _in_memory(self.url)
            # One in-memory database for every thread; sqlite3 connections are not for
            # concurrent transactions, so its users take turns.
            self._lock = threading.RLock() if memory else None
            sqlite_args: dict[str, Any] = {"check_same_thread": False}
            if self.statement_timeout:
                sqlite_args["factory"] = _TimedSQLiteConnection
            self.engine: Engine = create_engine(
                self.url, echo=echo, poolclass=StaticPool if memory else None,
                connect_args=sqlite_args)
            _set_up_sqlite(self.engine, wal=not memory, timeout=self.statement_timeout)
        else:
            connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
            if self.dialect == "mysql":
                connect_args["cursorclass"] = _RegexpCheckedCursor
                if self.statement_timeout:  # PyMySQL's bound on a socket that stays silent
                    answer = self.statement_timeout + ANSWER_MARGIN
                    connect_args |= {"read_timeout": answer, "write_timeout": answer}
            elif self.statement_timeout:  # PostgreSQL's own, beside the URL's `options`
                connect_args["options"] = " ".join(filter(None, [
                    self.url.query.get("options"),  # type: ignore[list-item]
                    f"-c statement_timeout={round(self.statement_timeout * 1000)}"]))
            connect_args = {key: value for key, value in connect_args.items()
                            if key not in self.url.query or key == "options"}
            # A pool that never overflows: overflow connections are closed when returned and
            # opened again at the next checkout, and under load that churn cost a third of
            # the CPU of `GET /todos/1` on PostgreSQL (bench/README.md). Calls beyond the pool
            # wait for a connection, up to pool_timeout (then 503).
            self.engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=0,
                pool_timeout=10, pool_recycle=1800, connect_args=connect_args)
            if self.dialect == "mysql":
                _set_up_mysql(self.engine, timeout=self.statement_timeout)
            elif self.statement_timeout:
                _set_up_postgresql(self.engine, timeout=self.statement_timeout)

    @contextmanager
    def read(self, *, single: bool = False) -> Iterator[Connection]:
        """A connection for reads; whatever it did is rolled back when the block ends. Inside
        a `write` of this database (in the same context), that transaction's connection.

        `single`: the block runs one statement, which needs no transaction around it (the
        statement is its own): SQLite runs it without BEGIN, PostgreSQL in autocommit, one
        round trip where BEGIN, the statement and ROLLBACK take three. MariaDB keeps its
        transaction: PyMySQL would spend a round trip on SET autocommit each way.
        """
        joined = _OPEN.get()
        if joined is not None and joined[0] is self:
            yield joined[1]
            return
        with self._translated("read"), self._turn(), self.engine.connect() as connection:
            if single and self._single_options:
                connection.execution_options(**self._single_options)
            yield connection

    @contextmanager
    def write(self, action: Literal["write", "delete"] = "write") -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        A `write` inside another of this database (in the same context: a relation route
        calling the target's `create`, an override calling `super()`) joins it: one
        transaction, one pooled connection, committed or rolled back by the outermost.

        `action` says what a foreign-key fault means: on "write" the row refers to a missing
        one (422), on "delete" other rows still refer to it (409).
        """
        joined = _OPEN.get()
        if joined is not None and joined[0] is self:
            yield joined[1]
            return
        with self._translated(action), self._turn(), self.engine.connect() as connection:
            if self.dialect == "sqlite":
                connection.execution_options(**{WRITE_LOCK: True})
            with connection.begin():
                token = _OPEN.set((self, connection))
                try:
                    yield connection
                finally:
                    _OPEN.reset(token)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _translated(self, action: Action) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            key_columns = self._key_columns if self.dialect == "mysql" else None
            error = translate(exc, action, key_columns=key_columns)
            if error is None:
                raise
            raise error from exc

    def _turn(self) -> AbstractContextManager[Any]:
        return self._lock if self._lock is not None else nullcontext()

    def _key_columns(self, table: str | None, key: str) -> tuple[str, ...] | None:
        """MariaDB names only the index a duplicate hit; its columns come from the catalogue."""
        if table is None:
            return None
        if (table, key) not in self._keys:
            query = text("SELECT column_name FROM information_schema.statistics "
                         "WHERE table_schema = DATABASE() AND table_name = :table "
                         "AND index_name = :key ORDER BY seq_in_index")
            try:
                with self.engine.connect() as connection:
                    rows = connection.execute(query, {"table": table, "key": key}).scalars()
                    self._keys[table, key] = tuple(str(row) for row in rows)
            except SQLAlchemyError:
                return None
        return self._keys[table, key] or None


def normalize_url(url: str) -> URL:
    """A database URL with Charter's drivers: psycopg 3 for PostgreSQL, PyMySQL for MariaDB/MySQL.

    `mariadb://` becomes `mysql+pymysql://` too: that dialect speaks to both servers, and
    detects MariaDB when it connects (`mariadb+pymysql` would refuse a MySQL server). A URL
    that names its driver keeps it; MariaDB/MySQL always get `charset=utf8mb4`.

    >>> normalize_url("postgres://app@db/shop").render_as_string()
    'postgresql+psycopg://app@db/shop'
    >>> normalize_url("mariadb://root@127.0.0.1/test").render_as_string()
    'mysql+pymysql://root@127.0.0.1/test?charset=utf8mb4'
    """
    parsed = make_url(url)
    if parsed.drivername in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[parsed.drivername])
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def translate(
    exc: BaseException, action: Action, *, key_columns: KeyColumns | None = None
) -> HttpError | None:
    """The HTTP error for a database fault, the same on every database; None for other errors.

    The driver's message is logged to "charter", never sent. `key_columns` names the columns
    of an index for drivers that only name the index (MariaDB/MySQL); `Database` passes its own.

    >>> import sqlite3
    >>> connection = sqlite3.connect(":memory:")
    >>> try:
    ...     connection.execute("SELECT * FROM note")
    ... except sqlite3.Error as exc:
    ...     error = translate(exc, "read")
    >>> connection.close()
    >>> error.status, error.code
    (503, 'DATABASE_NOT_MIGRATED')
    """
    if isinstance(exc, HttpError):
        return None
    fault = _classify(exc, key_columns)
    if fault is None:
        return None
    kind, columns = fault
    error: HttpError
    if kind == "unique":
        error = UniqueViolation(f"A row with the same {_join(columns)} already exists."
                                if columns else DUPLICATE)
    elif kind == "foreign_key":
        error = (ForeignKeyViolation(STILL_REFERENCED) if action == "delete"
                 else InvalidReference(INVALID_REFERENCE))
    elif kind == "not_null":
        error = InvalidValue(f"Column {columns[0]} cannot be null." if columns
                             else INVALID_VALUE)
    elif kind == "invalid":
        error = InvalidValue(INVALID_VALUE)
    elif kind == "not_migrated":
        error = SchemaNotMigrated()
    elif kind == "regexp":
        error = _regexp_error(columns[0], columns[1:])
    else:
        error = DatabaseUnavailable(RETRY_AFTER)
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    why = (" (a statement took longer than CHARTER_STATEMENT_TIMEOUT allows)"
           if kind == "timeout" else "")
    logger.log(logging.WARNING if error.status >= 500 else logging.INFO,
               "database fault on %s, answered %s %s%s: %s: %s", action, error.status,
               error.code, why, type(orig).__name__, str(orig).strip() or repr(orig))
    return error


Fault = tuple[Literal["unique", "foreign_key", "not_null", "invalid", "unavailable", "timeout",
                      "not_migrated", "regexp"], tuple[str, ...]]


def _classify(exc: BaseException, key_columns: KeyColumns | None) -> Fault | None:
    if isinstance(exc, PoolTimeout):  # every pooled connection is busy
        return "unavailable", ()
    orig: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, _NoAnswer):
        return "timeout", ()
    if type(orig).__module__.partition(".")[0] not in _DRIVER_MODULES:
        return None  # not the database's: a handler's own KeyError(1062) is no duplicate
    fault: Fault | None = None
    if hasattr(orig, "sqlite_errorname"):
        fault = _sqlite_fault(orig)
    elif orig.args and isinstance(orig.args[0], int):  # MySQL drivers: (errno, message)
        statement = exc.statement if isinstance(exc, DBAPIError) else None
        fault = _mysql_fault(orig.args[0], str(orig.args[-1]), statement, key_columns)
        if fault is not None and fault[0] == "regexp":
            params = exc.params if isinstance(exc, DBAPIError) else None
            fault = "regexp", (fault[1][0], *_regexp_operands(statement, params))
    elif hasattr(orig, "sqlstate") or hasattr(orig, "pgcode"):
        fault = _postgresql_fault(orig)
    if fault is not None:
        return fault
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "unavailable", ()
    if isinstance(exc, OperationalError | InterfaceError) and _code(orig) is None:
        return "unavailable", ()  # the driver could not connect, or lost the socket
    if isinstance(exc, DataError):
        return "invalid", ()  # e.g. psycopg refusing a NUL character before sending
    return None


def _code(orig: Any) -> Any:
    return (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            or getattr(orig, "sqlite_errorname", None)
            or (orig.args[0] if orig.args and isinstance(orig.args[0], int) and orig.args[0]
                else None))


_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR",
                       "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_PROTOCOL", "SQLITE_NOLFS")
_SQLITE_INVALID = ("SQLITE_CONSTRAINT_CHECK", "SQLITE_CONSTRAINT_DATATYPE", "SQLITE_MISMATCH",
                   "SQLITE_TOOBIG")
_SQLITE_MISSING = re.compile(r"no such (table|column)|has no column named")


def _sqlite_fault(orig: Any) -> Fault | None:
    name = orig.sqlite_errorname or ""
    message = str(orig)
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        # "UNIQUE constraint failed: note.a, note.b" (or "...: index 'name'" for expressions)
        _, _, names = message.partition("constraint failed: ")
        columns = tuple(part.split(".")[-1] for part in names.split(", ") if "." in part)
        return "unique", columns
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return "foreign_key", ()
    if name == "SQLITE_CONSTRAINT_NOTNULL":  # "NOT NULL constraint failed: note.text"
        return "not_null", (message.rpartition(".")[2],)
    if name.startswith(_SQLITE_INVALID):
        return "invalid", ()
    if name == "SQLITE_INTERRUPT":  # only the progress handler interrupts
        return "timeout", ()
    if name.startswith(_SQLITE_UNAVAILABLE):
        return "unavailable", ()
    if name == "SQLITE_ERROR" and _SQLITE_MISSING.search(message):
        return "not_migrated", ()
    return None


_PG_UNAVAILABLE = {"25006", "40001", "40P01", "53000", "53100", "53200", "53300", "55P03",
                   "57014", "57P01", "57P02", "57P03", "58000", "58030"}
_PG_KEY = re.compile(r"Key \((.+?)\)=\(")


def _postgresql_fault(orig: Any) -> Fault | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if not state:
        return None
    diag = getattr(orig, "diag", None)
    if state == "23505":  # DETAIL:  Key (a, b)=(1, 2) already exists.
        found = _PG_KEY.search(getattr(diag, "message_detail", None) or str(orig))
        columns = tuple(c.strip().strip('"') for c in found.group(1).split(",")) if found else ()
        return "unique", columns
    if state == "23503":
        return "foreign_key", ()
    if state == "23502":
        column = getattr(diag, "column_name", None)
        return "not_null", (column,) if column else ()
    if state.startswith("22") or state in ("23514", "23P01", "54000"):
        return "invalid", ()
    if state in ("42P01", "42703", "3F000"):
        return "not_migrated", ()
    if state == "57014" and "statement timeout" in str(orig):
        return "timeout", ()
    if state.startswith("08") or state in _PG_UNAVAILABLE:
        return "unavailable", ()
    return None


_MYSQL_UNIQUE = {1062, 1586}
_MYSQL_FOREIGN_KEY = {1216, 1217, 1451, 1452}
_MYSQL_NOT_NULL = {1048, 1364}  # "Column 'x' cannot be null", "Field 'x' doesn't have a default"
_MYSQL_INVALID = {1022, 1263, 1264, 1265, 1292, 1300, 1366, 1367, 1406, 1411, 1690, 3140,
                  3819, 4025}
_MYSQL_MISSING = {1054, 1146}
_MYSQL_UNAVAILABLE = {1040, 1053, 1152, 1205, 1213, 1290, 1836, 1927, 2002, 2003, 2005, 2006,
                      2013, 2014, 2026, 2045, 2055, 4031}
_MYSQL_TIMEOUT = {1969, 3024}  # MariaDB's max_statement_time, MySQL's max_execution_time
_MYSQL_REGEXP = 1139  # "Regex error 'match limit exceeded'", or a pattern PCRE2 refuses
_MYSQL_DUPLICATE = re.compile(r"for key '(?:([^'.]+)\.)?([^']+)'")
_MYSQL_TABLE = re.compile(r"^\s*(?:INSERT(?:\s+IGNORE)?\s+INTO|REPLACE\s+INTO|UPDATE)\s+"
                          r"(?:`?[^`\s.]+`?\.)?`?([^`\s(]+)`?", re.IGNORECASE)
_QUOTED = re.compile(r"'([^']+)'")


def _mysql_fault(
    errno: int, message: str, statement: str | None, key_columns: KeyColumns | None
) -> Fault | None:
    if errno in _MYSQL_UNIQUE:
        # MariaDB: "... for key 'uq_note_text'"; MySQL 8: "... for key 'note.uq_note_text'"
        found = _MYSQL_DUPLICATE.search(message)
        if found is None or key_columns is None:
            return "unique", ()
        table = found.group(1)
        if table is None and statement:
            named = _MYSQL_TABLE.match(statement)
            table = named.group(1) if named else None
        return "unique", key_columns(table, found.group(2)) or ()
    if errno in _MYSQL_FOREIGN_KEY:
        return "foreign_key", ()
    if errno in _MYSQL_NOT_NULL:
        quoted = _QUOTED.search(message)
        return "not_null", (quoted.group(1),) if quoted else ()
    if errno in _MYSQL_INVALID:
        return "invalid", ()
    if errno in _MYSQL_MISSING:
        return "not_migrated", ()
    if errno == _MYSQL_REGEXP and "limit" in message:  # strict mode made the warning an error
        return "regexp", (message,)
    if errno == _MYSQL_REGEXP:  # a pattern PCRE2 cannot compile
        return "invalid", ()
    if errno in _MYSQL_TIMEOUT or (errno == 2013 and "timed out" in message):
        return "timeout", ()
    if errno in _MYSQL_UNAVAILABLE:
        return "unavailable", ()
    return None


def _join(columns: tuple[str, ...]) -> str:
    """`("a", "b", "c")` -> `a, b and c`."""
    return columns[0] if len(columns) == 1 else f"{', '.join(columns[:-1])} and {columns[-1]}"


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return (database in ("", ":memory:") or "mode=memory" in database
            or url.query.get("mode") == "memory")


def _create_sqlite_folder(url: URL) -> None:
    """SQLite creates the file but not its folder (`sqlite:///data/app.db` needs `data/`)."""
    database = url.database
    if _in_memory(url) or not database or database.startswith("file:"):
        return  # a URI filename (`?uri=true`) is left to SQLite
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _set_up_sqlite(engine: Engine, *, wal: bool, timeout: float | None) -> None:
    pragmas = ["PRAGMA foreign_keys=ON", "PRAGMA case_sensitive_like=ON",
               f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"]
    if wal:
        pragmas.append("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # The driver's own transaction handling would BEGIN late and never IMMEDIATE; the
        # `begin` hook below says BEGIN itself.
        dbapi_connection.isolation_level = None
        # Replaces SQLAlchemy's REGEXP, Python's backtracking `re` (registered before this).
        dbapi_connection.create_function("regexp", 2, sqlite_regexp, deterministic=True)
        if timeout:
            dbapi_connection.statement_timeout = timeout
            dbapi_connection.set_progress_handler(dbapi_connection.overdue,
                                                  SQLITE_PROGRESS_STEPS)
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if not options.get(NO_BEGIN):
            connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_LOCK) else "BEGIN")


class _TimedSQLiteConnection(sqlite3.Connection):
    """A connection whose statements its progress handler interrupts after `statement_timeout`.

    Each statement's clock starts when its cursor executes it; the handler (`overdue`) runs
    every `SQLITE_PROGRESS_STEPS` steps of SQLite's virtual machine, so a statement that has run
    out of time stops within well under a millisecond (SQLITE_INTERRUPT, a 503).
    """

    statement_timeout = float("inf")
    deadline = float("inf")

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(_TimedSQLiteCursor if factory is None else factory)

    def overdue(self) -> bool:
        return time.monotonic() > self.deadline


class _TimedSQLiteCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> _TimedSQLiteCursor:
        connection = cast(_TimedSQLiteConnection, self.connection)
        connection.deadline = time.monotonic() + connection.statement_timeout
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> _TimedSQLiteCursor:
        connection = cast(_TimedSQLiteConnection, self.connection)
        connection.deadline = time.monotonic() + connection.statement_timeout
        return super().executemany(sql, parameters)


class _NoAnswer(psycopg.OperationalError):
    """The server sent nothing for the statement timeout and `ANSWER_MARGIN`: it is hung."""


_Result = TypeVar("_Result")


class _AnswerBoundConnection(psycopg.Connection[Any]):
    """A psycopg connection that waits at most `answer_timeout` seconds for the server.

    libpq has no read timeout, and TCP keepalives do not help when the peer (a proxy, a hung
    server) acknowledges but never answers; psycopg waits for every answer in `wait`, which
    takes a timeout. Past it the connection is closed, as the protocol is mid-message, and
    SQLAlchemy sees a disconnect: the pool opens a new connection next time.
    """

    answer_timeout: float | None = None

    def wait(self, gen: PQGen[_Result], interval: float = 0.1,
             timeout: float | None = None) -> _Result:
        if timeout is not None or self.answer_timeout is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except psycopg.errors._WaitTimeout:
            self.close()
            raise _NoAnswer(f"the server sent no answer within {self.answer_timeout:g} s "
                            "(CHARTER_STATEMENT_TIMEOUT and a margin)") from None


def _set_up_postgresql(engine: Engine, *, timeout: float) -> None:
    """The server cancels a statement past `timeout` (the `options` set when connecting); the
    client gives up on a server that sends nothing `ANSWER_MARGIN` later."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        connection = _AnswerBoundConnection.connect(*cargs, **cparams)
        connection.answer_timeout = timeout + ANSWER_MARGIN
        return connection


def _set_up_mysql(engine: Engine, *, timeout: float | None) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION sql_mode = "
                       "CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_TRANS_TABLES')")
        if timeout and "MariaDB" in dbapi_connection.get_server_info():
            cursor.execute(f"SET SESSION max_statement_time = {timeout:.3f}")
        elif timeout:  # MySQL bounds only SELECT, in milliseconds
            cursor.execute(f"SET SESSION max_execution_time = {max(1, round(timeout * 1000))}")
        cursor.close()


class _RegexpCheckedCursor(pymysql.cursors.Cursor):  # type: ignore[misc]
    """A PyMySQL cursor that keeps MariaDB's REGEXP from answering with rows missing.

    PCRE2 gives up on a row once a pattern has backtracked too much (`(a|a)*$` on 26 letters),
    and MariaDB then only warns and leaves the row out. Every result carries its warning count,
    so only a warned REGEXP costs a round trip (SHOW WARNINGS); then the statement is a 400.
    PCRE2's own limit, 10 million steps, takes up to half a second a row, and a few such rows
    would run into the statement timeout first: each pattern starts with `PCRE2_LIMIT`.
    A cursor, not SQLAlchemy's cursor events: these cost every MariaDB statement 23% of the
    client's CPU on `find_by_id`, this a string search.
    """

    def execute(self, query: Any, args: Any = None) -> int:
        # `executemany` sends bytes it has bound already: bulk INSERTs, no REGEXP
        if not isinstance(query, str) or "REGEXP" not in query or not isinstance(args, dict):
            return int(super().execute(query, args))
        operands = [name for name in _REGEXP_OPERAND.findall(query)
                    if isinstance(args.get(name), str)]
        if operands and "MariaDB" in self.connection.server_version:
            args = {**args, **{name: PCRE2_LIMIT + args[name] for name in operands}}
        result = int(super().execute(query, args))
        if self.warning_count:
            warnings = self.connection.cursor()
            try:
                warnings.execute("SHOW WARNINGS")
                found = [str(message) for _, code, message in warnings.fetchall()
                         if code == _MYSQL_REGEXP]
            finally:
                warnings.close()
            if found:
                raise _regexp_error(found[0], _regexp_operands(query, args))
        return result


_REGEXP_OPERAND = re.compile(r"\bREGEXP\s+%\((\w+)\)s")


def _regexp_operands(statement: str | None, parameters: Any) -> tuple[str, ...]:
    """The patterns a statement compares with REGEXP, as the filter gave them."""
    if not statement or not isinstance(parameters, dict):
        return ()
    return tuple(regexp_source(str(parameters[name]).removeprefix(PCRE2_LIMIT))
                 for name in _REGEXP_OPERAND.findall(statement) if name in parameters)


def _regexp_error(reason: str, patterns: tuple[str, ...]) -> BadRequest:
    named = " or ".join(f"'{pattern}'" for pattern in patterns) or "in the filter"
    return BadRequest(f"The database gave up on the regexp pattern {named} ({reason}), so rows "
                      "it matches would be missing. Simplify the pattern, so that its "
                      "alternatives and repetitions cannot match the same text in many ways.")
