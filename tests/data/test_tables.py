"""Tables: the columns, keys and indexes of each entity, alike on SQLite, PostgreSQL and MariaDB.

The DDL tests compile `CREATE TABLE` for each dialect and need no database; the round trips
store values and read them back on every database that is running.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Dialect, MetaData, Table, insert, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from server.data.database import Database
from server.data.entities import Entity, Property, read_entities
from server.data.tables import (
    MAX_JSON_DEPTH,
    TEXT_LENGTH,
    build_tables,
    from_db,
    new_id,
    storage_errors,
    text_limits,
    to_db,
)
from server.errors import InvalidReference, InvalidValue, UniqueViolation
from tests.databases import DIALECTS, body, database_with, error_body

P = f"ttab{os.getpid()}_"  # this module's tables, even beside another run on the same server
SCHEMAS: dict[str, Any] = {
    "Shelf": {"type": "object", "x-entity": {"table": f"{P}shelf", "relations": {
        "books": {"hasMany": "Book"}, "label": {"hasOne": "Label"}}},
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    "Label": {"type": "object", "x-entity": {"table": f"{P}label"},
              "properties": {"id": {"type": "integer", "format": "int32"},
                             "shelfId": {"type": "number"},
                             "text": {"type": "string", "maxLength": 20}}},
    "Book": {
        "type": "object",
        "x-entity": {"table": f"{P}book", "indexes": [
            {"properties": ["title"], "name": f"{P}ix_title"},
            {"properties": ["year", "isbn"], "unique": True, "name": f"{P}uq_year_isbn"}],
            "unique": [{"properties": ["isbn"], "name": f"{P}uq_isbn"}]},
        "required": ["title"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "title": {"type": "string", "maxLength": 200},
            "isbn": {"type": "string"},
            "year": {"type": "integer", "format": "int32"},
            "pages": {"type": "integer"},
            "price": {"type": "number"},
            "out": {"type": "boolean"},
            "published": {"type": "string", "format": "date"},
            "addedAt": {"type": "string", "format": "date-time"},
            "size": {"type": "string", "enum": ["small", "large"]},
            "meta": {"type": "object"},
            "notes": {"type": "string"},
            "shelfId": {"type": "integer"},
        },
    },
}
ENTITIES: dict[str, Entity] = read_entities({"components": {"schemas": SCHEMAS}})[0]
METADATA = build_tables(ENTITIES)
SHELF, LABEL, BOOK = (METADATA.tables[f"{P}{name}"] for name in ("shelf", "label", "book"))

DIALECT_OBJECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": mysql.dialect(),
    "mariadb": mysql.dialect(is_mariadb=True),
}


def ddl(table: Table, dialect: str) -> tuple[dict[str, str], list[str], str]:
    """`CREATE TABLE` in parts: each column's definition by name, the constraints, the tail."""
    text = str(CreateTable(table).compile(dialect=DIALECT_OBJECTS[dialect])).strip()
    head, _, rest = text.partition("(\n")
    lines, _, tail = rest.rpartition("\n)")
    columns: dict[str, str] = {}
    constraints: list[str] = []
    for line in lines.split(", \n"):
        line = line.strip()
        if line.startswith(("PRIMARY KEY", "CONSTRAINT", "UNIQUE", "FOREIGN KEY")):
            constraints.append(line)
        else:
            name, _, definition = line.partition(" ")
            columns[name.strip("`\"")] = definition
    assert head == f"CREATE TABLE {table.name} "
    return columns, constraints, tail


BOOK_COLUMNS = {
    "sqlite": {
        "id": "VARCHAR(36) NOT NULL", "title": "VARCHAR(200) NOT NULL", "isbn": "TEXT",
        "year": "INTEGER", "pages": "INTEGER", "price": "DOUBLE", "out": "BOOLEAN",
        "published": "DATE", "added_at": "DATETIME", "size": "VARCHAR(5)", "meta": "JSON",
        "notes": "TEXT", "shelf_id": "INTEGER"},
    "postgresql": {
        "id": 'VARCHAR(36) COLLATE "C" NOT NULL', "title": 'VARCHAR(200) COLLATE "C" NOT NULL',
        "isbn": 'VARCHAR COLLATE "C"', "year": "INTEGER", "pages": "BIGINT",
        "price": "DOUBLE PRECISION", "out": "BOOLEAN", "published": "DATE",
        "added_at": "TIMESTAMP WITH TIME ZONE", "size": 'VARCHAR(5) COLLATE "C"', "meta": "JSON",
        "notes": 'VARCHAR COLLATE "C"', "shelf_id": "BIGINT"},
    "mysql": {
        # A key needs a VARCHAR on MySQL (it cannot index TEXT); other text stays TEXT. isbn
        # is in a two-column unique key, whose 3072 bytes it shares: 384 utf8mb4 characters.
        "id": "VARCHAR(36) COLLATE utf8mb4_0900_bin NOT NULL",
        "title": "VARCHAR(200) COLLATE utf8mb4_0900_bin NOT NULL",
        "isbn": "VARCHAR(384) COLLATE utf8mb4_0900_bin", "year": "INTEGER", "pages": "BIGINT",
        "price": "DOUBLE", "out": "BOOL", "published": "DATE", "added_at": "DATETIME(6)",
        "size": "VARCHAR(5) COLLATE utf8mb4_0900_bin", "meta": "JSON",
        "notes": "TEXT COLLATE utf8mb4_0900_bin", "shelf_id": "BIGINT"},
}
BOOK_COLUMNS["mariadb"] = {name: definition.replace("utf8mb4_0900_bin", "utf8mb4_nopad_bin")
                           for name, definition in BOOK_COLUMNS["mysql"].items()}
MYSQL_TAIL = "CHARSET=utf8mb4 COLLATE utf8mb4_bin"


@pytest.mark.parametrize("dialect", list(DIALECT_OBJECTS))
def test_column_types_per_kind(dialect: str) -> None:
    columns, constraints, tail = ddl(BOOK, dialect)
    assert columns == BOOK_COLUMNS[dialect]
    assert constraints == [
        "PRIMARY KEY (id)",
        f"CONSTRAINT fk_{P}book_shelf_id FOREIGN KEY(shelf_id) REFERENCES {P}shelf (id)"]
    assert tail == ("" if dialect in ("sqlite", "postgresql") else MYSQL_TAIL)


@pytest.mark.parametrize(("dialect", "shelf_id", "label_id"), [
    ("sqlite", "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT", "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"),
    ("postgresql", "BIGSERIAL NOT NULL", "SERIAL NOT NULL"),
    ("mysql", "BIGINT NOT NULL AUTO_INCREMENT", "INTEGER NOT NULL AUTO_INCREMENT"),
])
def test_generated_integer_ids_auto_increment(dialect: str, shelf_id: str, label_id: str) -> None:
    assert ddl(SHELF, dialect)[0]["id"] == shelf_id
    assert ddl(LABEL, dialect)[0]["id"] == label_id
    assert SHELF.c.id.autoincrement is True
    assert BOOK.c.id.autoincrement is False  # a uuid is generated by the repository
    # SQLite's AUTOINCREMENT never reuses a deleted row's id; PostgreSQL and MySQL never do.
    assert ("AUTOINCREMENT" in ddl(SHELF, dialect)[0]["id"]) is (dialect == "sqlite")
    assert "AUTOINCREMENT" not in ddl(BOOK, dialect)[0]["id"]


@pytest.mark.parametrize("dialect", list(DIALECT_OBJECTS))
def test_has_one_makes_the_targets_key_unique_and_keys_refer_to_the_id(dialect: str) -> None:
    columns, constraints, _ = ddl(LABEL, dialect)
    # Label.shelfId is a `number`, aligned with Shelf's integer id.
    assert columns["shelf_id"] == ("INTEGER" if dialect == "sqlite" else "BIGINT")
    # (SQLite's AUTOINCREMENT key is declared on its column.)
    assert constraints == [
        *([] if dialect == "sqlite" else ["PRIMARY KEY (id)"]),
        f"CONSTRAINT fk_{P}label_shelf_id FOREIGN KEY(shelf_id) REFERENCES {P}shelf (id)",
        f"CONSTRAINT uq_{P}label_shelf_id UNIQUE (shelf_id)",
    ]


def test_indexes_and_unique_indexes() -> None:
    created = sorted(str(CreateIndex(index).compile(dialect=postgresql.dialect()))
                     for index in BOOK.indexes)
    assert created == [
        f"CREATE INDEX {P}ix_title ON {P}book (title)",
        f"CREATE UNIQUE INDEX {P}uq_isbn ON {P}book (isbn)",
        f"CREATE UNIQUE INDEX {P}uq_year_isbn ON {P}book (year, isbn)",
    ]
    assert SHELF.indexes == set() and LABEL.indexes == set()


def test_default_index_names() -> None:
    schemas = {"TodoItem": {"type": "object", "x-entity": {
        "indexes": [["title", "isComplete"]], "unique": [["title"]]},
        "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                       "isComplete": {"type": "boolean"}}}}
    table = build_tables(read_entities({"components": {"schemas": schemas}})[0]).tables["todo_item"]
    assert sorted((index.name, index.unique, [c.name for c in index.columns])
                  for index in table.indexes) == [
        ("ix_todo_item_title_is_complete", False, ["title", "is_complete"]),
        ("uq_todo_item_title", True, ["title"])]


def test_columns_are_keyed_by_property_and_named_by_column() -> None:
    assert [(c.key, c.name) for c in BOOK.columns][8:10] == [("addedAt", "added_at"),
                                                           ("size", "size")]
    assert [c.name for c in BOOK.columns if not c.nullable] == ["id", "title"]


def test_one_metadata_can_gain_the_tables() -> None:
    metadata = MetaData()
    assert build_tables(ENTITIES, metadata) is metadata
    assert sorted(metadata.tables) == sorted(METADATA.tables)


# -- values ---------------------------------------------------------------------------------

def prop(kind: str, name: str = "p") -> Property:
    return Property(name, name, kind, {})  # type: ignore[arg-type]


UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(("kind", "value", "stored"), [
    ("int32", 5, 5),
    ("int32", 2**31 - 1, 2**31 - 1),
    ("int32", -(2**31), -(2**31)),
    ("int64", 2**63 - 1, 2**63 - 1),
    ("int64", 3.0, 3),  # an integral float is the integer
    ("int64", -0.0, 0),
    ("number", 2, 2.0),
    ("number", 2.5, 2.5),
    ("date", "2026-02-28", dt.date(2026, 2, 28)),
    ("datetime", "2026-01-02T03:04:05Z", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("datetime", "2026-01-02t03:04:05z", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("datetime", "2026-01-02T03:04:05.123456+02:00",
     dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=PLUS2)),
    ("string", "text", "text"),
    ("json", {"a": [1]}, {"a": [1]}),
    ("int64", None, None),
])
def test_to_db(kind: str, value: Any, stored: Any) -> None:
    converted = to_db(prop(kind), value)
    assert converted == stored and type(converted) is type(stored)


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("int32", 2**31, "p: 2147483648 is outside the range a int32 column can store"),
    ("int32", -(2**31) - 1, "p: -2147483649 is outside the range a int32 column can store"),
    ("int64", 2**63, "p: 9223372036854775808 is outside the range a int64 column can store"),
    ("int64", 1.5, "p: 1.5 cannot be stored as a int64"),
    ("int64", 1e300, "p: 1e+300 is outside the range a int64 column can store"),
    ("int64", float("inf"), "p: inf cannot be stored as a int64"),
    ("int64", "7", "p: '7' is outside the range a int64 column can store"),
    ("date", "2026-02-30", "p: '2026-02-30' cannot be stored as a date"),
    ("datetime", "yesterday", "p: 'yesterday' cannot be stored as a datetime"),
])
def test_values_a_column_cannot_store_are_422(kind: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        to_db(prop(kind), value)
    assert body(caught.value) == error_body(422, "UnprocessableEntityError", message,
                                            "INVALID_VALUE")


@pytest.mark.parametrize(("kind", "value", "shown"), [
    ("datetime", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z"),
    ("datetime", dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "2026-01-02T03:04:05.000006Z"),
    ("date", dt.date(2026, 2, 28), "2026-02-28"),
    ("uuid", uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ("number", 2.0, 2),  # JavaScript shows 1.0 as 1, and so does LoopBack
    ("number", -0.0, 0),
    ("number", 2.5, 2.5),
    ("number", 1e20, 1e20),  # beyond 2**53 a float is not an exact integer
    ("int64", 7, 7),
    ("string", "text", "text"),
    ("json", [1, 2], [1, 2]),
])
def test_from_db(kind: str, value: Any, shown: Any) -> None:
    converted = from_db(prop(kind), value)
    assert converted == shown and type(converted) is type(shown)


# -- what a column keeps --------------------------------------------------------------------------

def test_text_limits_are_what_every_database_keeps() -> None:
    """A declared maxLength; a key's share of MySQL's 3072-byte index key; else TEXT's 16383."""
    assert text_limits(ENTITIES) == {
        "Shelf": {"name": TEXT_LENGTH},
        "Label": {"text": 20},
        "Book": {"title": 200, "isbn": 384, "size": 5, "notes": TEXT_LENGTH},
    }


def nested(levels: int, leaf: Any = 1) -> Any:
    for _ in range(levels):
        leaf = [leaf]
    return leaf


def detail(path: str, code: str, message: str, **info: Any) -> dict[str, Any]:
    return {"path": path, "code": code, "message": message, "info": info}


NUL_FREE = "^[^\\u0000]*$"


@pytest.mark.parametrize(("kind", "value", "found"), [
    ("string", "ok", []),
    ("string", "a\x00b", [detail("/p", "pattern", f'must match pattern "{NUL_FREE}"',
                                 pattern=NUL_FREE)]),
    ("enum", "\x00", [detail("/p", "pattern", f'must match pattern "{NUL_FREE}"',
                             pattern=NUL_FREE)]),
    ("string", "\ud800", [detail("/p", "type", "must be text without lone surrogates",
                                 type="string")]),
    ("string", "abc", [detail("/p", "maxLength", "must NOT have more than 2 characters",
                              limit=2)]),
    ("json", nested(2), []),
    ("json", {"a": nested(2)}, [detail("/p/a/0", "maxDepth",
                                       "must NOT be nested deeper than 2 levels", limit=2)]),
    ("json", {"a/b": {"~": 2**64}}, [detail("/p/a~1b/~0", "maximum",
                                            "must be <= 18446744073709551615",
                                            comparison="<=", limit=2**64 - 1)]),
    ("json", [-(2**63) - 1], [detail("/p/0", "minimum", "must be >= -9223372036854775808",
                                     comparison=">=", limit=-(2**63))]),
    ("json", 1e300, [detail("/p", "maximum", "must be <= 18446744073709551615",
                            comparison="<=", limit=2**64 - 1)]),
    ("json", [float("nan")], [detail("/p/0", "type", "must be a finite number", type="number")]),
    ("json", {1: "one"}, [detail("/p", "propertyNames", "must have text property names",
                                 propertyName="1")]),
    ("json", ["\ud800"], [detail("/p/0", "type", "must be text without lone surrogates",
                                 type="string")]),
    ("json", {"when": dt.date(2026, 1, 1)}, [detail("/p/when", "type", "must be a JSON value",
                                                    type="date")]),
    # The first fault in document order, whatever the nesting.
    ("json", [[2**64], 2**65], [detail("/p/0/0", "maximum", "must be <= 18446744073709551615",
                                       comparison="<=", limit=2**64 - 1)]),
    ("json", {"k\x00": ["v\x00", 2**64 - 1, -(2**63), 0.5, True, None]}, []),
    ("int64", 2**70, []),  # to_db's to refuse
])
def test_storage_errors(kind: str, value: Any, found: list[dict[str, Any]]) -> None:
    assert storage_errors(prop(kind), value, max_length=2, max_depth=2) == found


def test_a_long_max_length_gets_a_column_that_holds_it() -> None:
    """A utf8mb4 VARCHAR holds 16383 characters, PostgreSQL's VARCHAR(n) 10485760."""
    schemas = {"Essay": {"type": "object", "x-entity": {"table": f"{P}essay"}, "properties": {
        "id": {"type": "integer"}, "body": {"type": "string", "maxLength": 20000},
        "book": {"type": "string", "maxLength": 5_000_000},
        "saga": {"type": "string", "maxLength": 20_000_000}}}}
    table = build_tables(read_entities({"components": {"schemas": schemas}})[0]).tables[
        f"{P}essay"]
    mysql_columns = ddl(table, "mysql")[0]
    assert (mysql_columns["body"], mysql_columns["book"], mysql_columns["saga"]) == (
        "MEDIUMTEXT COLLATE utf8mb4_0900_bin", "LONGTEXT COLLATE utf8mb4_0900_bin",
        "LONGTEXT COLLATE utf8mb4_0900_bin")
    postgresql_columns = ddl(table, "postgresql")[0]
    assert (postgresql_columns["body"], postgresql_columns["saga"]) == (
        'VARCHAR(20000) COLLATE "C"', 'VARCHAR COLLATE "C"')


def test_new_ids_are_uuids_for_uuid_ids_only() -> None:
    generated = new_id(prop("uuid"))
    assert isinstance(generated, str) and str(uuid.UUID(generated)) == generated
    assert generated != new_id(prop("uuid"))
    assert new_id(prop("int64")) is None


# -- on each database ------------------------------------------------------------------------

@pytest.fixture(scope="module", params=DIALECTS)
def database(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database_with(request.param, tmp_path_factory.mktemp("tables"), METADATA) as db:
        yield db


BOOK_ROW: dict[str, Any] = {
    "id": "123e4567-e89b-42d3-a456-426614174000",
    "title": "Émile ou de l'éducation 😀 ",  # trailing space kept
    "isbn": "978-0",
    "year": 2**31 - 1,
    "pages": 2**63 - 1,
    "price": 0.1,
    "out": True,
    "published": "1762-05-22",
    "addedAt": "2026-01-02T03:04:05.123456+02:00",
    "size": "small",
    "meta": {"nested": [1, "two", None], "unicode": "日本"},
    "notes": "line\nbreak",
}
BOOK_SHOWN = {**BOOK_ROW, "addedAt": "2026-01-02T01:04:05.123456Z"}


def round_trip(database: Database, table: Table, entity: Entity,
               row: dict[str, Any]) -> dict[str, Any]:
    stored = {name: to_db(entity.properties[name], value) for name, value in row.items()}
    selection = select(*(table.c[name].label(name) for name in entity.properties))
    with database.write() as connection:
        connection.execute(insert(table).values(stored))
        found = connection.execute(selection.where(table.c[entity.id] == stored[entity.id]))
        result = dict(found.mappings().one())
        connection.execute(table.delete())
    return {name: from_db(entity.properties[name], value) for name, value in result.items()
            if value is not None}


def test_values_come_back_as_they_were_sent(database: Database) -> None:
    assert round_trip(database, BOOK, ENTITIES["Book"], BOOK_ROW) == BOOK_SHOWN


@pytest.mark.parametrize(("sent", "shown"), [
    ("2026-01-01T00:00:00-05:00", "2026-01-01T05:00:00Z"),
    ("2025-12-31T23:59:59.999999Z", "2025-12-31T23:59:59.999999Z"),
    ("2026-06-15T08:30:00+00:00", "2026-06-15T08:30:00Z"),
])
def test_timestamps_are_stored_in_utc_and_read_back_with_z(database: Database, sent: str,
                                                           shown: str) -> None:
    row = {"id": str(uuid.uuid4()), "title": "t", "addedAt": sent}
    assert round_trip(database, BOOK, ENTITIES["Book"], row)["addedAt"] == shown


def test_extreme_numbers_keep_their_value(database: Database) -> None:
    row = {"id": str(uuid.uuid4()), "title": "t", "year": -(2**31), "pages": -(2**63),
           "price": 1.7976931348623157e308}
    shown = round_trip(database, BOOK, ENTITIES["Book"], row)
    assert (shown["year"], shown["pages"], shown["price"]) == (
        -(2**31), -(2**63), 1.7976931348623157e308)


def test_the_longest_values_allowed_are_kept(database: Database) -> None:
    """What the limits promise, on each database: TEXT_LENGTH four-byte characters (MariaDB's
    TEXT holds 65,535 bytes), JSON nested MAX_JSON_DEPTH levels, the 64-bit integers' ends."""
    row = {"id": str(uuid.uuid4()), "title": "t", "notes": "\U0001f600" * TEXT_LENGTH,
           "meta": nested(MAX_JSON_DEPTH - 2, {"ends": [2**64 - 1, -(2**63)]})}
    assert round_trip(database, BOOK, ENTITIES["Book"], row) == row
    if database.dialect == "mysql":  # why the depth stops there
        with pytest.raises(InvalidValue):
            round_trip(database, BOOK, ENTITIES["Book"], {**row, "meta": [row["meta"]]})


def test_a_long_max_length_is_kept(database: Database) -> None:
    schemas = {f"Ttab{os.getpid()}Essay": {
        "type": "object", "x-entity": {"table": f"{P}essay"},
        "properties": {"id": {"type": "integer"}, "body": {"type": "string", "maxLength": 20000}}}}
    entities = read_entities({"components": {"schemas": schemas}})[0]
    metadata = build_tables(entities)
    try:
        with database.write() as connection:
            metadata.create_all(connection)
        row = {"id": 1, "body": "\U0001f600" * 20000}
        entity = next(iter(entities.values()))
        assert round_trip(database, metadata.tables[f"{P}essay"], entity, row) == row
    finally:
        with database.write() as connection:
            metadata.drop_all(connection, checkfirst=True)


def test_an_integral_number_reads_back_as_an_integer(database: Database) -> None:
    row = {"id": str(uuid.uuid4()), "title": "t", "price": 3}
    shown = round_trip(database, BOOK, ENTITIES["Book"], row)
    assert shown["price"] == 3 and type(shown["price"]) is int


def test_an_index_over_text_and_another_column_can_be_created(
        database: Database, tmp_path: Path) -> None:
    """MariaDB/MySQL limit an index key to 3072 bytes: a keyed VARCHAR(768) in utf8mb4 fills
    it alone, so an index naming it and any other column must still fit."""
    name = f"{P}pair"
    schemas = {"Pair": {"type": "object", "x-entity": {"table": name, "indexes": [
        {"properties": ["label", "rank"], "name": f"{P}ix_label_rank"}]},
        "properties": {"id": {"type": "integer"}, "label": {"type": "string"},
                       "rank": {"type": "integer"}}}}
    entities = read_entities({"components": {"schemas": schemas}})[0]
    metadata = build_tables(entities)
    try:
        with database.write() as connection:
            metadata.create_all(connection)
        shown = round_trip(database, metadata.tables[name], entities["Pair"],
                           {"id": 1, "label": "x" * 700, "rank": 2})
        assert shown == {"id": 1, "label": "x" * 700, "rank": 2}
    finally:
        with database.write() as connection:
            metadata.drop_all(connection, checkfirst=True)


def test_integrity_is_enforced(database: Database) -> None:
    """The keys `build_tables` declares hold on the database itself."""
    with database.write() as connection:
        shelf = connection.execute(insert(SHELF).values(name="a")).inserted_primary_key[0]
        connection.execute(insert(LABEL).values(shelfId=shelf, text="one"))
    try:
        with pytest.raises(UniqueViolation) as unique, database.write() as connection:
            connection.execute(insert(LABEL).values(shelfId=shelf, text="two"))
        assert unique.value.message == "A row with the same shelf_id already exists."
        with pytest.raises(InvalidReference), database.write() as connection:
            connection.execute(insert(LABEL).values(shelfId=shelf + 1000, text="three"))
    finally:
        with database.write("delete") as connection:
            connection.execute(LABEL.delete())
            connection.execute(SHELF.delete())


def test_keys_refer_to_the_referred_tables_column() -> None:
    assert [fk.target_fullname for fk in LABEL.foreign_keys] == [f"{P}shelf.id"]
    assert [fk.target_fullname for fk in BOOK.foreign_keys] == [f"{P}shelf.id"]


def test_a_has_one_key_may_also_be_declared_unique(database: Database) -> None:
    """The hasOne relation makes Profile.authorId unique; so does the spec's own `unique`. The
    two must not become two keys of one name (PostgreSQL and MariaDB refuse the second)."""
    author, profile = f"Ttab{os.getpid()}Author", f"Ttab{os.getpid()}Profile"
    schemas = {
        author: {"type": "object", "x-entity": {"relations": {
            "profile": {"hasOne": profile, "keyTo": "authorId"}}},
                 "properties": {"id": {"type": "integer"}}},
        profile: {"type": "object", "x-entity": {"unique": [["authorId"]]},
                  "properties": {"id": {"type": "integer"}, "authorId": {"type": "integer"}}},
    }
    entities, problems = read_entities({"components": {"schemas": schemas}})
    assert problems == []
    metadata = build_tables(entities)
    try:
        with database.write() as connection:
            metadata.create_all(connection)
        tables = {entity.name: metadata.tables[entity.table] for entity in entities.values()}
        with database.write() as connection:
            connection.execute(insert(tables[author]).values(id=1))
            connection.execute(insert(tables[profile]).values(id=1, authorId=1))
        with pytest.raises(UniqueViolation), database.write() as connection:
            connection.execute(insert(tables[profile]).values(id=2, authorId=1))
    finally:
        with database.write() as connection:
            metadata.drop_all(connection, checkfirst=True)
