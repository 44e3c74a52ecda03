"""Migration: bring the live database to the spec's tables, with no scripts, keeping the data.

`plan` compares the tables the spec implies (a `MetaData`) with the live database through
Alembic's autogenerate, and says what would change, in words; `migrate` does it:

- a missing table is created (`metadata.create_all`, with its indexes and keys);
- anything else (a new column, index, unique constraint or foreign key, a changed nullability
  or type) goes through Alembic's operations; SQLite, which cannot alter most of a table,
  gets Alembic's batch mode: a copy of the table with the change, the rows copied over;
- only the tables the spec knows are compared; other tables in the database are left alone.

Dropping a column, an index or a constraint, or narrowing a column's type, is destructive:
`migrate` refuses it unless `allow_drop`. It also refuses what the database cannot do without
losing or inventing data: a required column without a default on a table that has rows, or
making a column required while rows have no value in it. A refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.operations import ops as alembic_ops
from sqlalchemy import (
    BigInteger,
    Connection,
    Dialect,
    Integer,
    MetaData,
    SmallInteger,
    String,
    TypeDecorator,
    column,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeEngine

from server.data.database import INVALID_REFERENCE, WRITE_LOCK, Database, translate
from server.errors import ServiceUnavailable


@dataclass(frozen=True)
class Step:
    """One change, in words a user reads: `create table todo`, `add column todo.todo_list_id`."""

    description: str
    destructive: bool = False


class MigrationError(Exception):
    """`migrate` could not bring the database up to date; the message says why."""


class MigrationRefused(MigrationError):
    """`migrate` would lose (or invent) data; nothing was changed. `refused` lists the steps."""

    def __init__(self, refused: Sequence[tuple[Step, str]]) -> None:
        self.refused = [step for step, _ in refused]
        lines = [f"  - {step.description}: {reason}" for step, reason in refused]
        super().__init__("\n".join(["migration refused, nothing was changed:", *lines]))


class MigrationFailed(MigrationError):
    """The database rejected a step (existing rows break a new unique index or foreign key)."""


@dataclass(frozen=True)
class _Change:
    step: Step
    table: str
    operation: alembic_ops.MigrateOperation


def plan(database: Database, metadata: MetaData) -> list[Step]:
    """What `migrate` would do, in order; `[]` when the database is up to date.

    >>> from sqlalchemy import Column, Integer, MetaData, Table
    >>> metadata = MetaData()
    >>> _ = Table("note", metadata, Column("id", Integer, primary_key=True))
    >>> db = Database("sqlite://")
    >>> [step.description for step in plan(db, metadata)]
    ['create table note']
    >>> db.close()
    """
    with database.read() as connection:
        return [change.step for change in _changes(connection, metadata)]


def migrate(database: Database, metadata: MetaData, *, allow_drop: bool = False) -> list[Step]:
    """Bring the database up to `metadata`, keeping its rows; returns the steps taken.

    Raises `MigrationRefused` (changing nothing) for destructive steps unless `allow_drop`,
    and for a required column that existing rows could not fill; `MigrationFailed` when the
    database rejects a step. PostgreSQL and SQLite roll every step back then; MariaDB/MySQL
    cannot roll back DDL, so the steps before the failing one stay.

    >>> from sqlalchemy import Column, Integer, MetaData, String, Table
    >>> metadata = MetaData()
    >>> _ = Table("note", metadata, Column("id", Integer, primary_key=True))
    >>> db = Database("sqlite://")
    >>> [step.description for step in migrate(db, metadata)]
    ['create table note']
    >>> _ = Table("note", metadata, Column("text", String(200)), extend_existing=True)
    >>> [step.description for step in migrate(db, metadata)]
    ['add column note.text']
    >>> migrate(db, metadata)
    []
    >>> db.close()
    """
    with (database.read() as connection, _foreign_keys_off(connection, database.dialect),
          _one_at_a_time(connection, database.dialect)):
        changes = _changes(connection, metadata)
        refused = [(change.step, reason) for change in changes
                   if (reason := _refusal(connection, change, allow_drop))]
        if refused:
            raise MigrationRefused(refused)
        _apply(connection, metadata, changes, database.dialect)
    return [change.step for change in changes]


def _changes(connection: Connection, metadata: MetaData) -> list[_Change]:
    """Alembic's comparison of the live database with `metadata`, as steps and operations."""
    known = set(metadata.tables)

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or name in known

    context = MigrationContext.configure(connection, opts={
        "compare_type": True, "include_name": include_name, "target_metadata": metadata})
    script = produce_migrations(context, metadata)
    assert script.upgrade_ops is not None
    dialect = connection.dialect
    changes: list[_Change] = []
    for operation in script.upgrade_ops.ops:
        if isinstance(operation, alembic_ops.CreateTableOp):
            changes.append(_Change(Step(f"create table {operation.table_name}"),
                                   operation.table_name, operation))
        elif isinstance(operation, alembic_ops.DropTableOp):  # excluded above; kept for safety
            changes.append(_Change(Step(f"drop table {operation.table_name}", True),
                                   operation.table_name, operation))
        elif isinstance(operation, alembic_ops.ModifyTableOps):
            created = {c.table for c in changes if isinstance(c.operation,
                                                              alembic_ops.CreateTableOp)}
            if operation.table_name in created:
                continue  # its indexes come with `create_all`
            steps = [_Change(_describe(sub, dialect), operation.table_name, sub)
                     for sub in operation.ops]
            changes += sorted(steps, key=_order)
    return changes


_RANKS: list[type[alembic_ops.MigrateOperation]] = [
    alembic_ops.DropConstraintOp, alembic_ops.DropIndexOp, alembic_ops.DropColumnOp,
    alembic_ops.AddColumnOp, alembic_ops.AlterColumnOp, alembic_ops.CreateIndexOp,
    alembic_ops.CreateUniqueConstraintOp, alembic_ops.CreateForeignKeyOp]


def _order(change: _Change) -> tuple[int, str]:
    """Old keys and indexes go before the columns they use, new ones after; then by name.

    Alembic finds dropped columns and indexes through sets, in no fixed order; new and changed
    columns keep the spec's order.
    """
    operation = change.operation
    rank = next((i for i, kind in enumerate(_RANKS) if isinstance(operation, kind)), len(_RANKS))
    if isinstance(operation, alembic_ops.DropConstraintOp) and (
            operation.constraint_type != "foreignkey"):
        rank = 1  # with the indexes, after the foreign keys that may need them
    in_spec_order = isinstance(operation, alembic_ops.AddColumnOp | alembic_ops.AlterColumnOp)
    return rank, "" if in_spec_order else change.step.description


def _describe(operation: alembic_ops.MigrateOperation, dialect: Dialect) -> Step:
    if isinstance(operation, alembic_ops.AddColumnOp):
        return Step(f"add column {operation.table_name}.{operation.column.name}")
    if isinstance(operation, alembic_ops.DropColumnOp):
        return Step(f"drop column {operation.table_name}.{operation.column_name}", True)
    if isinstance(operation, alembic_ops.CreateIndexOp):
        kind = "unique index" if operation.unique else "index"
        return Step(f"create {kind} {operation.index_name}")
    if isinstance(operation, alembic_ops.DropIndexOp):
        return Step(f"drop index {operation.index_name}", True)
    if isinstance(operation, alembic_ops.CreateUniqueConstraintOp):
        return Step(f"add unique constraint {operation.constraint_name}")
    if isinstance(operation, alembic_ops.CreateForeignKeyOp):
        return Step(f"add foreign key {operation.constraint_name} "
                    f"({operation.source_table}.{', '.join(operation.local_cols)} -> "
                    f"{operation.referent_table}.{', '.join(operation.remote_cols)})")
    if isinstance(operation, alembic_ops.DropConstraintOp):
        kind = {"foreignkey": "foreign key", "unique": "unique constraint"}.get(
            operation.constraint_type or "", "constraint")
        return Step(f"drop {kind} {operation.constraint_name}", True)
    if isinstance(operation, alembic_ops.AlterColumnOp):
        parts: list[str] = []
        destructive = False
        new_type = operation.modify_type
        if new_type is not None:
            old_type = operation.existing_type
            parts.append(f"type {_type_name(old_type, dialect)} -> {_type_name(new_type, dialect)}")
            destructive = old_type is None or not _widens(old_type, new_type, dialect)
        if operation.modify_nullable is not None:
            parts.append("nullable" if operation.modify_nullable else "not null")
        what = "; ".join(parts) or "changed"
        return Step(f"alter column {operation.table_name}.{operation.column_name}: {what}",
                    destructive)
    return Step(type(operation).__name__)  # nothing else is compared


def _type_name(type_: TypeEngine[Any] | None, dialect: Dialect) -> str:
    if type_ is None:
        return "?"
    return str(_resolved(type_, dialect).compile(dialect=dialect))


def _resolved(type_: TypeEngine[Any], dialect: Dialect) -> TypeEngine[Any]:
    """The type a dialect really uses: its variant, a decorator's own type."""
    resolved = type_._variant_mapping.get(dialect.name, type_)
    if isinstance(resolved, TypeDecorator):
        return resolved.load_dialect_impl(dialect)
    return resolved


def _widens(old: TypeEngine[Any], new: TypeEngine[Any], dialect: Dialect) -> bool:
    """A change of type that keeps every value: a longer string, a wider integer."""
    old, new = _resolved(old, dialect), _resolved(new, dialect)
    if isinstance(old, String) and isinstance(new, String):
        return new.length is None or (old.length is not None and new.length >= old.length)
    if isinstance(old, Integer) and isinstance(new, Integer):
        return _integer_bytes(new) >= _integer_bytes(old)
    return False


def _integer_bytes(type_: Integer) -> int:
    if isinstance(type_, BigInteger):
        return 8
    return 2 if isinstance(type_, SmallInteger) else 4


def _refusal(connection: Connection, change: _Change, allow_drop: bool) -> str | None:
    """Why a change cannot be made as it stands, or None."""
    operation = change.operation
    if change.step.destructive and not allow_drop:
        return "destructive; run `charter migrate --allow-drop` to allow it"
    if (isinstance(operation, alembic_ops.AddColumnOp) and not operation.column.nullable
            and operation.column.server_default is None and _has_rows(connection, change.table)):
        return (f"the column is required and has no default, and {change.table} has rows; "
                "add it as optional, fill it in, then make it required")
    if (isinstance(operation, alembic_ops.AlterColumnOp) and operation.modify_nullable is False
            and _has_rows(connection, change.table, without=operation.column_name)):
        return f"some rows of {change.table} have no {operation.column_name}; fill them first"
    return None


def _has_rows(connection: Connection, name: str, without: str | None = None) -> bool:
    query = select(literal(1)).select_from(table(name))
    if without is not None:
        query = query.where(column(without).is_(None))
    return connection.execute(query.limit(1)).first() is not None


def _apply(
    connection: Connection, metadata: MetaData, changes: list[_Change], dialect: str
) -> None:
    created = [metadata.tables[c.table] for c in changes
               if isinstance(c.operation, alembic_ops.CreateTableOp)]
    if created:
        with _reported(Step(f"create table {', '.join(t.name for t in created)}"), dialect):
            metadata.create_all(connection, tables=created)
    operations = Operations(MigrationContext.configure(connection))
    altered = [c for c in changes if not isinstance(c.operation, alembic_ops.CreateTableOp)]
    for name in dict.fromkeys(c.table for c in altered):  # table by table, in Alembic's order
        ops = [c for c in altered if c.table == name]
        if dialect == "sqlite":
            steps = "; ".join(c.step.description for c in ops)
            with _reported(Step(f"alter table {name} ({steps})"), dialect):
                _apply_in_batch(operations, name, ops)
        else:
            for change in ops:
                with _reported(change.step, dialect):
                    operations.invoke(_prepared(change.operation, connection.dialect))
    if dialect == "sqlite":
        for name in dict.fromkeys(c.table for c in altered):
            quoted = connection.dialect.identifier_preparer.quote(name)
            if connection.exec_driver_sql(f"PRAGMA foreign_key_check({quoted})").first():
                # rows of a copied table, or a new key, refer to nothing
                step = next((c.step for c in altered if c.table == name and isinstance(
                    c.operation, alembic_ops.CreateForeignKeyOp)), Step(f"alter table {name}"))
                raise MigrationFailed(_failed(step, INVALID_REFERENCE, dialect))


def _apply_in_batch(operations: Operations, name: str, changes: list[_Change]) -> None:
    """SQLite: Alembic copies the table when it cannot ALTER it (a NOT NULL column, a key...)."""
    # SQLite cannot ADD a NOT NULL column without a default, even to an empty table.
    copy = any(isinstance(c.operation, alembic_ops.AddColumnOp) and not c.operation.column.nullable
               and c.operation.column.server_default is None for c in changes)
    with operations.batch_alter_table(name, recreate="always" if copy else "auto") as batch:
        for change in changes:
            batch.invoke(_prepared(change.operation, operations.migration_context.dialect))


def _prepared(
    operation: alembic_ops.MigrateOperation, dialect: Dialect
) -> alembic_ops.MigrateOperation:
    """An operation as Alembic can run it on this database."""
    if isinstance(operation, alembic_ops.AddColumnOp):
        # tables.py keys columns by property name (`todoListId` for `todo_list_id`); Alembic's
        # batch copy finds columns by their SQL name.
        column = operation.column._copy()
        column.key = column.name
        return alembic_ops.AddColumnOp(operation.table_name, column, schema=operation.schema)
    if isinstance(operation, alembic_ops.AlterColumnOp) and dialect.name == "postgresql":
        for mysql_only in ("autoincrement", "existing_autoincrement"):  # Alembic would warn
            operation.kw.pop(mysql_only, None)
        if operation.modify_type is not None:
            # PostgreSQL converts a column's values to a new type only when told how.
            quoted = dialect.identifier_preparer.quote(operation.column_name)
            operation.kw["postgresql_using"] = (
                f"{quoted}::{_type_name(operation.modify_type, dialect)}")
    return operation


@contextmanager
def _reported(step: Step, dialect: str) -> Iterator[None]:
    """A step the database rejects becomes a `MigrationFailed` that says which, and why."""
    try:
        yield
    except SQLAlchemyError as exc:
        error = translate(exc, "write")
        if isinstance(error, ServiceUnavailable):
            raise  # the database went away: `Database` answers that
        reason = error.message if error is not None else str(getattr(exc, "orig", exc))
        raise MigrationFailed(_failed(step, reason, dialect)) from exc


def _failed(step: Step, reason: str, dialect: str) -> str:
    reason = reason.strip().splitlines()[0].rstrip(".")
    kept = ("MariaDB/MySQL cannot roll back DDL: the steps before it stay applied."
            if dialect == "mysql" else "Nothing was changed.")
    return f"{step.description} failed: {reason}. {kept}"


_LOCK_ID = 0x63686172746572  # "charter": PostgreSQL's advisory lock for migrations


@contextmanager
def _one_at_a_time(connection: Connection, dialect: str) -> Iterator[None]:
    """One transaction, and one migration at a time: worker processes may all start one.

    The comparison runs once the lock is held, so a second migration finds nothing to do.
    """
    if dialect == "sqlite":
        connection.execution_options(**{WRITE_LOCK: True})  # BEGIN IMMEDIATE
    with connection.begin():
        if dialect == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
        elif dialect == "mysql":
            locked = connection.execute(text("SELECT GET_LOCK('charter migrate', 60)")).scalar()
            if locked != 1:
                raise MigrationFailed("another migration has held the lock for 60 s; "
                                      "try again once it is done")
        try:
            yield
        finally:
            if dialect == "mysql":
                with suppress(SQLAlchemyError):  # a lost session has released it anyway
                    connection.execute(text("SELECT RELEASE_LOCK('charter migrate')"))


@contextmanager
def _foreign_keys_off(connection: Connection, dialect: str) -> Iterator[None]:
    """SQLite copies a table by dropping the old one; its foreign keys must not cascade then.

    The pragma only works outside a transaction, so it goes straight to the driver before
    the migration's BEGIN; `PRAGMA foreign_key_check` then checks what the copy kept.
    """
    if dialect != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")
