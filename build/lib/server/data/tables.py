"""Tables: the SQL table of each entity, with column types that behave alike on every database.

SQLite, PostgreSQL and MariaDB/MySQL differ in how they compare and sort text, store
timestamps and size numbers. The column types below make them agree, so that one filter gives
the same rows everywhere:

- text compares and sorts by code point (`COLLATE "C"`, `utf8mb4_bin`, SQLite's BINARY);
- `date-time` is stored in UTC with microseconds and always read back timezone-aware;
- `number` is a double everywhere (MySQL's FLOAT would be single precision);
- `object`, `array` and untyped properties are JSON.

What a column keeps is also the same everywhere, and `storage_errors` refuses the rest before
anything is written, so that a value that can be stored can be read back: text without NUL (which
PostgreSQL cannot hold) and within `text_limits` (MariaDB's TEXT holds 65,535 bytes), JSON whose
numbers orjson writes back as they were sent, nested no deeper than MariaDB's JSON keeps and
orjson writes.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from server.data.entities import Entity, Property, foreign_keys
from server.data.entities import Index as IndexSpec
from server.data.patterns import storable_text
from server.errors import InvalidValue
from server.refs import escape
from server.types import ErrorDetail

INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
JSON_NUMBERS = (-(2**63), 2**64 - 1)
"""The numbers a JSON column keeps: the 64-bit integers, signed or unsigned, that orjson reads as
integers and writes back. An integer beyond them would come back as a float, or not at all."""
TEXT_LENGTH = 16383
"""The most characters a string property without `maxLength` holds: a MariaDB/MySQL TEXT column
keeps 65,535 bytes, 4 per utf8mb4 character. Published as the property's `maxLength`."""
MAX_JSON_DEPTH = 31
"""The deepest nesting `max_json_depth` may allow: MariaDB refuses JSON nested 32 levels deep
(MySQL 100; orjson writes 254, and a response wraps a value in a few more)."""
NUL_FREE = "^[^\\u0000]*$"
"""Text a column can hold: no NUL character, which PostgreSQL cannot store (refused everywhere)."""
_MYSQL_KEY_LENGTH = 768  # the longest utf8mb4 VARCHAR a MySQL index can hold (3072 bytes)
_MYSQL_MEDIUMTEXT_LENGTH = (2**24 - 1) // 4  # characters a utf8mb4 MEDIUMTEXT holds
_POSTGRESQL_VARCHAR_LENGTH = 10485760  # the longest VARCHAR(n) PostgreSQL declares
_MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin",
                "mariadb_charset": "utf8mb4", "mariadb_collate": "utf8mb4_bin"}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp stored in UTC; naive values are taken to be UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite hands back what it stored
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


class _Text(TypeDecorator[str]):
    """Text compared by code point on every database, trailing spaces included.

    `keyed`: how many columns the widest index holding it has (0: none). MySQL cannot index TEXT,
    and its keys hold 3072 bytes, so a keyed text column gets a VARCHAR of its share.
    """

    impl = Text()
    cache_ok = True

    def __init__(self, length: int | None, keyed: int) -> None:
        super().__init__()
        self.length = length
        self.keyed = keyed

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        length = self.length
        if dialect.name == "postgresql":
            return dialect.type_descriptor(
                postgresql.VARCHAR(length, collation="C")
                if length and length <= _POSTGRESQL_VARCHAR_LENGTH
                else postgresql.TEXT(collation="C"))
        if dialect.name in ("mysql", "mariadb"):
            # utf8mb4_bin ignores trailing spaces ('a' = 'a '); MariaDB's NO PAD variant does not.
            collation = ("utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False)
                         else "utf8mb4_0900_bin")
            if length and length > TEXT_LENGTH and not self.keyed:
                # Longer than a utf8mb4 VARCHAR or TEXT holds (the `maxLength` is still enforced).
                wide = (mysql.MEDIUMTEXT(collation=collation)
                        if length <= _MYSQL_MEDIUMTEXT_LENGTH
                        else mysql.LONGTEXT(collation=collation))
                return dialect.type_descriptor(wide)
            if length or self.keyed:
                key_length = _MYSQL_KEY_LENGTH // max(self.keyed, 1)
                return dialect.type_descriptor(
                    mysql.VARCHAR(length or key_length, collation=collation))
            return dialect.type_descriptor(mysql.TEXT(collation=collation))
        return dialect.type_descriptor(String(length) if length else Text())


def column_type(prop: Property, keyed: int = 0) -> TypeEngine[Any]:
    """The SQL type that stores a property; `keyed`: the widest index holding it (0: none)."""
    if prop.kind in ("string", "enum"):
        return _Text(prop.max_length, keyed)
    if prop.kind == "uuid":
        return _Text(36, keyed)
    if prop.kind == "int32":
        return Integer()
    if prop.kind == "int64":
        # SQLite auto-increments only an INTEGER PRIMARY KEY (its 64-bit rowid).
        return BigInteger().with_variant(Integer(), "sqlite")
    if prop.kind == "number":
        return Double()
    if prop.kind == "boolean":
        return Boolean()
    if prop.kind == "date":
        return Date()
    if prop.kind == "datetime":
        return UTCDateTime()
    return JSON(none_as_null=True)


def build_tables(entities: Mapping[str, Entity], metadata: MetaData | None = None) -> MetaData:
    """One table per entity, with its indexes, unique constraints and foreign keys.

    >>> from server.data.entities import read_entities
    >>> doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...     "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}}}
    >>> [c.name for c in build_tables(read_entities(doc)[0]).tables["note"].columns]
    ['id', 'text']
    """
    metadata = metadata if metadata is not None else MetaData()
    keys, unique_keys = _keys(entities)
    for entity in entities.values():
        keyed = _key_widths(entity, keys, unique_keys)
        columns = [
            Column(prop.column, column_type(prop, keyed.get(name, 0)), key=name,
                   primary_key=name == entity.id,
                   autoincrement=(entity.generated and prop.kind in ("int32", "int64")
                                  and name == entity.id),
                   nullable=name != entity.id and not prop.required)
            for name, prop in entity.properties.items()
        ]
        constraints: list[SchemaItem] = [
            ForeignKeyConstraint([prop], [f"{referred.table}.{referred.properties[rp].column}"],
                                 name=f"fk_{entity.table}_{entity.properties[prop].column}")
            for prop, referred, rp in keys[entity.name]
        ]
        declared_unique = {index.properties for index in entity.indexes if index.unique}
        constraints += [
            UniqueConstraint(prop, name=f"uq_{entity.table}_{entity.properties[prop].column}")
            for prop in sorted(unique_keys[entity.name]) if (prop,) not in declared_unique
        ]
        # AUTOINCREMENT: SQLite would otherwise hand a deleted row's id to the next row, so that
        # links to the old row point at the new one; PostgreSQL and MySQL never reuse an id.
        counted = entity.generated and entity.properties[entity.id].kind in ("int32", "int64")
        table = Table(entity.table, metadata, *columns, *constraints,  # type: ignore[call-overload]
                      sqlite_autoincrement=counted, **_MYSQL_TABLE)
        for index in entity.indexes:
            Index(index.name, *(table.c[p] for p in index.properties), unique=index.unique,
                  **_mysql_prefixes(entity, index, keyed))
    return metadata


_ForeignKeys = dict[str, list[tuple[str, Entity, str]]]
"""Per entity: `(property, referred entity, referred property)` for each of its foreign keys."""


def _keys(entities: Mapping[str, Entity]) -> tuple[_ForeignKeys, dict[str, set[str]]]:
    """Each entity's foreign keys, and the properties a hasOne makes unique."""
    keys: _ForeignKeys = {name: [] for name in entities}
    unique_keys: dict[str, set[str]] = {name: set() for name in entities}
    for entity in entities.values():
        for relation in entity.relations.values():
            for owner, prop, referred, referred_prop in foreign_keys(relation):
                entry = (prop, entities[referred], referred_prop)
                if entry not in keys[owner]:
                    keys[owner].append(entry)
            if relation.kind == "hasOne":
                unique_keys[relation.target].add(relation.key_to)
    return keys, unique_keys


def _key_widths(entity: Entity, keys: _ForeignKeys, unique_keys: Mapping[str, set[str]]
                ) -> dict[str, int]:
    """How many columns share an index with each keyed property: MySQL keys hold 3072 bytes."""
    keyed = dict.fromkeys({entity.id, *unique_keys[entity.name]}, 1)
    keyed.update(dict.fromkeys((prop for prop, _, _ in keys[entity.name]), 1))
    keyed.update(dict.fromkeys(
        (rp for other in keys.values() for _, e, rp in other if e is entity), 1))
    for index in entity.indexes:  # a unique key must hold whole values; others take prefixes
        for p in index.properties:
            keyed[p] = max(keyed.get(p, 1), len(index.properties) if index.unique else 1)
    return keyed


def text_limits(entities: Mapping[str, Entity]) -> dict[str, dict[str, int]]:
    """The most characters each text property holds on every database, by entity and property.

    Its `maxLength` when it has one (which sizes its column); otherwise what MariaDB/MySQL give
    it: the share of a 3072-byte index key when an index holds it, else TEXT's `TEXT_LENGTH`.

    >>> from server.data.entities import read_entities
    >>> doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...     "properties": {"id": {"type": "string"}, "text": {"type": "string"},
    ...                    "code": {"type": "string", "maxLength": 8}}}}}}
    >>> text_limits(read_entities(doc)[0])
    {'Note': {'id': 768, 'text': 16383, 'code': 8}}
    """
    keys, unique_keys = _keys(entities)
    limits: dict[str, dict[str, int]] = {}
    for name, entity in entities.items():
        keyed = _key_widths(entity, keys, unique_keys)
        limits[name] = {
            p: prop.max_length or (_MYSQL_KEY_LENGTH // keyed[p] if p in keyed else TEXT_LENGTH)
            for p, prop in entity.properties.items() if prop.kind in ("string", "enum")}
    return limits


def _mysql_prefixes(entity: Entity, index: IndexSpec, keyed: Mapping[str, int]) -> dict[str, Any]:
    """MySQL's index key holds 3072 bytes: long text columns of a wider index are indexed by a
    prefix of their share (never for a unique index, whose columns were sized to fit)."""
    share = _MYSQL_KEY_LENGTH // len(index.properties)
    if index.unique or len(index.properties) == 1:
        return {}
    lengths = {}
    for name in index.properties:
        prop = entity.properties[name]
        if prop.kind in ("string", "enum") and (prop.max_length or
                                                 _MYSQL_KEY_LENGTH // keyed[name]) > share:
            lengths[prop.column] = share
    return {"mysql_length": lengths, "mariadb_length": lengths} if lengths else {}


def to_db(prop: Property, value: Any) -> Any:
    """A JSON value (as validated by the spec) in the form its column stores.

    >>> from server.data.entities import Property
    >>> to_db(Property("at", "at", "datetime", {}), "2026-01-02T03:04:05Z").isoformat()
    '2026-01-02T03:04:05+00:00'
    """
    if value is None:
        return None
    kind = prop.kind
    try:
        if kind in ("int32", "int64"):
            return _whole(prop, value, INT32 if kind == "int32" else INT64)
        if kind == "datetime" and isinstance(value, str):
            # Stored in UTC: what a create answers is then what a read finds.
            moment = dt.datetime.fromisoformat(value.replace("z", "Z"))
            return (moment.astimezone(dt.UTC) if moment.tzinfo
                    else moment.replace(tzinfo=dt.UTC))
        if kind == "date" and isinstance(value, str):
            return dt.date.fromisoformat(value)
        if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
    except (ValueError, OverflowError):
        raise InvalidValue(f"{prop.name}: {value!r} cannot be stored as a {kind}") from None
    return value


def _whole(prop: Property, sent: Any, bounds: tuple[int, int]) -> int:
    value = sent
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        value = int(value)
    if not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise InvalidValue(f"{prop.name}: {sent!r} is outside the range a {prop.kind} column "
                           f"can store")
    return value


def storage_errors(prop: Property, value: Any, *, max_length: int | None = None,
                   max_depth: int = MAX_JSON_DEPTH) -> list[ErrorDetail]:
    """Why `prop`'s column cannot keep `value` as sent, as AJV-style details; empty when it can.

    Text: no NUL or lone surrogate, at most `max_length` characters. JSON: numbers within
    `JSON_NUMBERS`, arrays and objects nested at most `max_depth` levels, text keys.

    >>> [(e["path"], e["message"]) for e in storage_errors(
    ...     Property("tag", "tag", "json", {}), {"a": [[2**64]]}, max_depth=2)]
    [('/tag/a/0', 'must NOT be nested deeper than 2 levels')]
    """
    at = "/" + escape(prop.name)
    if prop.kind in ("string", "enum") and isinstance(value, str):
        if "\x00" in value:  # storable_text's first rule, said as the published pattern says it
            return [_detail(at, "pattern", f'must match pattern "{NUL_FREE}"',
                            {"pattern": NUL_FREE})]
        if not storable_text(value):
            return [_detail(at, "type", "must be text without lone surrogates",
                            {"type": "string"})]
        if max_length is not None and len(value) > max_length:
            return [_detail(at, "maxLength", f"must NOT have more than {max_length} characters",
                            {"limit": max_length})]
    elif prop.kind == "json" and value is not None:
        found = _json_error(value, at, max_depth)
        return [found] if found is not None else []
    return []


def _json_error(value: Any, at: str, max_depth: int) -> ErrorDetail | None:
    """The first part of a JSON value, in document order, that a JSON column cannot keep.

    Iterative, so that no nesting a Python caller builds can exhaust the stack.
    """
    pending: list[tuple[Any, str, int]] = [(value, at, 0)]  # (node, pointer, containers above)
    while pending:
        node, pointer, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth >= max_depth:
                return _detail(pointer, "maxDepth",
                               f"must NOT be nested deeper than {max_depth} levels",
                               {"limit": max_depth})
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            if isinstance(node, dict):
                wrong = next((k for k in node if not isinstance(k, str) or not _unicode(k)), None)
                if wrong is not None:
                    return _detail(pointer, "propertyNames", "must have text property names",
                                   {"propertyName": str(wrong)})
            pending += [(child, f"{pointer}/{escape(str(key))}", depth + 1)
                        for key, child in reversed(children)]
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int | float):
            if isinstance(node, float) and not math.isfinite(node):
                return _detail(pointer, "type", "must be a finite number", {"type": "number"})
            if node < JSON_NUMBERS[0]:
                return _detail(pointer, "minimum", f"must be >= {JSON_NUMBERS[0]}",
                               {"comparison": ">=", "limit": JSON_NUMBERS[0]})
            if node > JSON_NUMBERS[1]:
                return _detail(pointer, "maximum", f"must be <= {JSON_NUMBERS[1]}",
                               {"comparison": "<=", "limit": JSON_NUMBERS[1]})
        elif isinstance(node, str):
            if not _unicode(node):  # a NUL is fine: JSON escapes it
                return _detail(pointer, "type", "must be text without lone surrogates",
                               {"type": "string"})
        else:
            return _detail(pointer, "type", "must be a JSON value",
                           {"type": type(node).__name__})
    return None


def _unicode(text: str) -> bool:
    """Text UTF-8 can encode: no lone surrogate, which orjson would refuse to write back."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _detail(path: str, code: str, message: str, info: dict[str, Any]) -> ErrorDetail:
    return {"path": path, "code": code, "message": message, "info": info}


def from_db(prop: Property, value: Any) -> Any:
    """A stored value as JSON shows it: timestamps as RFC 3339 strings, dates as ISO dates."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if prop.kind == "number" and isinstance(value, float) and value.is_integer() and (
            abs(value) < 2**53):
        return int(value)  # JavaScript shows 1.0 as 1, and so does LoopBack
    return value


def new_id(prop: Property) -> Any:
    """A generated id for kinds the database does not generate itself (uuid)."""
    return str(uuid.uuid4()) if prop.kind == "uuid" else None
