"""Filters: one matrix of LoopBack filters gives the same rows on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import event as tally
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, text
from sqlalchemy.pool import StaticPool

from server.data.database import normalize_url
from server.data.entities import Entity, read_entities
from server.data.filters import Filters, Source
from server.data.tables import build_tables, to_db
from server.errors import InvalidParameterValue
from tests.databases import DIALECTS, server_url

TABLE = f"filters_gadget_{os.getpid()}"  # this module's own table, even beside a parallel run
DOCUMENT: dict[str, Any] = {"components": {"schemas": {
    "Gadget": {
        "type": "object",
        "x-entity": {"table": TABLE, "generated": False, "hidden": ["secret"],
                     "relations": {"parts": {"hasMany": "Part"}}},
        "required": ["name"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "maxLength": 40},
            "note": {"type": "string"},
            "count": {"type": "integer", "format": "int32"},
            "big": {"type": "integer", "format": "int64"},
            "price": {"type": "number"},
            "active": {"type": "boolean"},
            "madeAt": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "size": {"type": "string", "enum": ["small", "medium", "large"]},
            "ref": {"type": "string", "format": "uuid"},
            "meta": {"type": "object"},
            "secret": {"type": "string"},
        },
    },
    "Part": {"type": "object", "x-entity": {"table": f"{TABLE}_part"},
             "properties": {"id": {"type": "integer"}, "gadgetId": {"type": "integer"}}},
}}}
ENTITIES = read_entities(DOCUMENT)[0]
GADGET: Entity = ENTITIES["Gadget"]
GADGETS: Table = build_tables(ENTITIES).tables[TABLE]

U1 = "00000000-0000-4000-8000-000000000001"
U4 = "123e4567-e89b-42d3-a456-426614174000"
COLUMNS = ("id", "name", "note", "count", "big", "price", "active", "madeAt", "day", "size",
           "ref", "meta", "secret")
ROWS = [dict(zip(COLUMNS, row, strict=True)) for row in [
    (1, "Alpha", "plain", 1, 10, 1.5, True, "2026-01-01T00:00:00Z", "2026-01-01", "small", U1,
     {"a": 1}, "s1"),
    (2, "alpha", None, 2, -5, 2.0, False, "2026-01-01T12:00:00+02:00", "2026-01-02", "medium",
     None, None, None),
    (3, "ALPHA beta", "100%", None, 2**62, -3.25, None, None, None, None, None, [1, 2], None),
    (4, "under_score", "a_b", 4, None, None, True, "2025-12-31T23:59:59.999999Z", "2025-12-31",
     "large", U4, None, None),
    (5, "back\\slash", "ends with \\", 5, 0, 0.0, False, "2026-06-15T08:30:00Z", "2026-06-15",
     "small", None, {}, None),
    (6, "Émile", "naïve café", -1, 2**63 - 1, 1e20, True, "2026-01-01T00:00:00.000001Z",
     "2026-01-01", "medium", None, None, None),
    (7, "日本語", "٣ 😀", 2**31 - 1, -(2**63), 99.99, None, "2027-03-01T00:00:00Z", "2027-03-01",
     None, None, None, None),
    (8, "percent%sign", "", -(2**31), 3, -0.5, False, None, "2026-02-28", "large", None, None,
     None),
    (9, "line\nbreak", "x\n", 9, 9, 9.0, True, "2026-01-01T00:00:00Z", None, "small", None, None,
     None),
    (10, "zeta", "Zeta", 0, None, None, None, None, None, None, None, None, None),
]]
ALL = list(range(1, 11))
NON_NULL_BIG = [1, 2, 3, 5, 6, 7, 8, 9]


def sqlite_engine() -> Engine:
    engine = create_engine("sqlite://", poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    return engine


def stored(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the repository would write it."""
    return {name: to_db(GADGET.properties[name], value) for name, value in row.items()}


@dataclass
class Database:
    """One database holding the gadgets, and the filters that query them."""

    name: str
    connection: Connection
    filters: Filters

    def ids(self, filter_: dict[str, Any]) -> list[int]:
        """The ids the filter finds, in its order; `fields` must keep the columns it names."""
        source = Source("filter", filter_)
        names = self.filters.fields(filter_.get("fields"), replace(source, at="/fields"))
        limit, offset = self.filters.page(filter_, source)
        columns = [GADGETS.c[name].label(name) for name in names or ()]
        query = (select(GADGETS.c.id.label("_row"), *columns)
                 .order_by(*self.filters.order(filter_.get("order"), replace(source, at="/order")))
                 .limit(limit).offset(offset))
        where = self.filters.where(filter_.get("where"), replace(source, at="/where"))
        if where is not None:
            query = query.where(where)
        rows = self.connection.execute(query).mappings().all()
        assert all(set(row) == {"_row", *(names or ())} for row in rows)
        return [row["_row"] for row in rows]


@pytest.fixture(scope="module", params=DIALECTS)
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    name = request.param
    engine = sqlite_engine() if name == "sqlite" else create_engine(
        normalize_url(server_url(name)), connect_args={"connect_timeout": 5})
    connection = engine.connect()
    try:
        GADGETS.drop(connection, checkfirst=True)
        GADGETS.create(connection)
        connection.execute(GADGETS.insert(), [stored(row) for row in ROWS])
        connection.commit()
        yield Database(name, connection, Filters(GADGET, GADGETS, max_limit=100))
    finally:
        connection.rollback()
        GADGETS.drop(connection, checkfirst=True)
        connection.commit()
        connection.close()
        engine.dispose()


MATRIX: list[tuple[dict[str, Any], list[int]]] = [
    ({}, ALL),
    # equality, NULL, neq
    ({"where": {"name": "alpha"}}, [2]),
    ({"where": {"name": {"eq": "Alpha"}, "id": {"lt": 5}}}, [1]),
    ({"where": {"note": None}}, [2]),
    ({"where": {"note": {"neq": None}}}, [1, 3, 4, 5, 6, 7, 8, 9, 10]),
    ({"where": {"note": ""}}, [8]),
    ({"where": {"count": {"neq": 1}}}, [2, 4, 5, 6, 7, 8, 9, 10]),
    ({"where": {"id": "3"}}, [3]),
    # comparisons, several operators on one property
    ({"where": {"count": {"gt": 1, "lte": 9}}}, [2, 4, 5, 9]),
    ({"where": {"price": {"lt": 0}}}, [3, 8]),
    ({"where": {"price": {"gte": 2}}}, [2, 6, 7, 9]),
    ({"where": {"count": {"between": [0, 5]}}}, [1, 2, 4, 5, 10]),
    ({"where": {"madeAt": {"between": ["2026-01-01T00:00:00Z", "2026-01-01T10:00:00Z"]}}},
     [1, 2, 6, 9]),
    ({"where": {"madeAt": {"lt": "2026-01-01T01:00:00.000001+01:00"}}}, [1, 4, 9]),
    ({"where": {"day": {"gte": "2026-01-02"}}}, [2, 5, 7, 8]),
    ({"where": {"name": {"gt": "Émile"}}}, [7]),
    # numbers no column holds
    ({"where": {"big": {"lt": 2**70}}}, NON_NULL_BIG),
    ({"where": {"big": {"gt": -(2**64)}}}, NON_NULL_BIG),
    ({"where": {"or": [{"big": -(2**63) - 1}, {"big": {"lt": -(2**63)}}]}}, []),
    ({"where": {"big": {"gte": -(2**63), "neq": 2**70}}}, NON_NULL_BIG),
    ({"where": {"big": {"inq": [2**63 - 1, 2**70, -(2**63)]}}}, [6, 7]),
    ({"where": {"big": {"gt": 9.5}}}, [1, 3, 6]),
    ({"where": {"count": {"inq": [1.0, 2.5, 2**40, 2**31 - 1]}}}, [1, 7]),
    ({"where": {"or": [{"count": 1.5}, {"price": 2**2000}]}}, []),
    # lists
    ({"where": {"count": {"inq": [1, 5, 99, None]}}}, [1, 3, 5]),
    ({"where": {"count": {"nin": [1, 5]}}}, [2, 4, 6, 7, 8, 9, 10]),
    ({"where": {"count": {"inq": []}}}, []),
    ({"where": {"count": {"nin": []}}}, ALL),
    ({"where": {"size": {"inq": ["small", "large"]}}}, [1, 4, 5, 8, 9]),
    # booleans, exists, JSON
    ({"where": {"active": True}}, [1, 4, 6, 9]),
    ({"where": {"active": {"neq": "true"}}}, [2, 5, 8]),
    ({"where": {"active": {"exists": False}}}, [3, 7, 10]),
    ({"where": {"meta": {"exists": True}}}, [1, 3, 5]),
    # like and friends: case, wildcards, escapes, Unicode
    ({"where": {"name": {"like": "%lpha%"}}}, [1, 2]),
    ({"where": {"name": {"like": "_lpha"}}}, [1, 2]),
    ({"where": {"name": {"ilike": "alpha%"}}}, [1, 2, 3]),
    ({"where": {"name": {"nlike": "%a%"}}}, [4, 6, 7, 8]),
    ({"where": {"name": {"nilike": "%A%"}}}, [4, 6, 7, 8]),
    ({"where": {"name": {"like": "%\\%%"}}}, [8]),
    ({"where": {"name": {"like": "%\\_%"}}}, [4]),
    ({"where": {"or": [{"name": {"like": "back\\\\slash"}}, {"note": {"like": "%with \\"}}]}},
     [5]),
    ({"where": {"name": {"like": "日_語"}}, "order": "name"}, [7]),
    ({"where": {"ref": {"like": "%-0000-%"}}}, [1]),
    # regexp: the portable subset means the same everywhere
    ({"where": {"name": {"regexp": "^[a-z]+$"}}}, [2, 10]),
    ({"where": {"name": {"regexp": "/^al/i"}}}, [1, 2, 3]),
    ({"where": {"name": {"regexp": "/^ÉMILE$/i"}}}, [6]),
    ({"where": {"name": {"regexp": "/^émile$/i"}}}, []),
    ({"where": {"note": {"regexp": "x$"}}}, []),
    ({"where": {"name": {"regexp": "^line.break"}}}, []),
    ({"where": {"note": {"regexp": "\\d"}}}, [3]),
    ({"where": {"name": {"regexp": "(?:a|e)\\w$|[%\\\\]"}}}, [5, 8, 9]),
    # and, or, nesting
    ({"where": {"or": [{"count": 1}, {"and": [{"active": False}, {"price": {"lt": 1}}]}]}},
     [1, 5, 8]),
    ({"where": {"and": []}}, ALL),
    ({"where": {"or": []}}, []),
    ({"where": {"or": [{"or": [{"and": [{"name": "zeta"}]}]}, {"id": 3}]}}, [3, 10]),
    # hostile values are only values
    ({"where": {"name": "'; DROP TABLE gadget; --"}}, []),
    ({"where": {"name": {"like": "%' OR '1'='1"}, "note": {"regexp": "' OR 1=1 --"}}}, []),
    # order: NULLs first ascending, last descending, the id breaks ties
    ({"order": "price DESC"}, [6, 7, 9, 2, 1, 5, 8, 3, 4, 10]),
    ({"order": "price"}, [4, 10, 3, 8, 5, 1, 2, 9, 7, 6]),
    ({"order": ["active DESC", "name"]}, [1, 9, 4, 6, 2, 5, 8, 3, 10, 7]),
    ({"order": "name"}, [3, 1, 2, 5, 9, 8, 4, 10, 6, 7]),
    ({"order": "day desc, id DESC"}, [7, 5, 8, 2, 6, 1, 4, 10, 9, 3]),
    ({"order": "size"}, [3, 7, 10, 4, 8, 2, 6, 1, 5, 9]),
    # paging and fields
    ({"order": "madeAt DESC", "limit": 3, "fields": ["madeAt"]}, [7, 5, 2]),
    ({"order": "id DESC", "skip": 2, "limit": 3, "fields": {"name": True}}, [8, 7, 6]),
    ({"offset": 8, "fields": {"meta": False, "note": False}}, [9, 10]),
    ({"limit": 2, "where": {"active": True}}, [1, 4]),
]


@pytest.mark.parametrize(("filter_", "expected"), MATRIX,
                         ids=[json.dumps(f, ensure_ascii=False)[:60] for f, _ in MATRIX])
def test_filter_finds_the_same_rows_on_every_database(
        database: Database, filter_: dict[str, Any], expected: list[int]) -> None:
    assert database.ids(filter_) == expected


def test_hostile_filters_leave_the_table_alone(database: Database) -> None:
    hostile = {"name": {"like": f"%'; DELETE FROM {TABLE}; --"}}
    condition = database.filters.where(hostile, Source("where", hostile))
    assert condition is not None and "DELETE" not in str(condition)
    assert database.ids({"where": hostile}) == []
    assert database.connection.execute(select(func.count()).select_from(GADGETS)).scalar() == 10


def test_trailing_spaces_are_significant(database: Database) -> None:
    connection = database.connection
    connection.execute(GADGETS.insert(), [stored({"id": 11, "name": "zeta "})])
    try:
        assert database.ids({"where": {"name": "zeta"}}) == [10]
        assert database.ids({"where": {"name": {"gt": "zeta"}}, "fields": ["name"]}) == [6, 7, 11]
    finally:
        connection.rollback()


# Exact error details -------------------------------------------------------------------------

FILTERS = Filters(GADGET, GADGETS, prohibited_keys=["password"])


def error_of(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(InvalidParameterValue) as caught:
        call()
    [detail] = caught.value.details or []
    assert isinstance(detail, dict)
    return dict(detail)


def where_error(where: Any, parameter: str = "where") -> tuple[str, str, dict[str, Any]]:
    detail = error_of(lambda: FILTERS.where(where, Source(parameter, where)))
    assert detail["code"] == "filter"
    return detail["path"], detail["message"], detail["info"]


NUMBER = {"property": "count"}


@pytest.mark.parametrize(("where", "path", "message", "info"), [
    ("x", "", "where must be an object", {}),
    ({"colour": "red"}, "/colour", "Gadget has no property 'colour' to filter by",
     {"property": "colour"}),
    ({"secret": "s1"}, "/secret", "Gadget has no property 'secret' to filter by",
     {"property": "secret"}),
    ({"parts": {"exists": True}}, "/parts",
     "'parts' is a relation of Gadget, not a property to filter by", {"property": "parts"}),
    ({"name; DROP TABLE x": 1}, "/name; DROP TABLE x",
     "Gadget has no property 'name; DROP TABLE x' to filter by",
     {"property": "name; DROP TABLE x"}),
    ({"and": {"id": 1}}, "/and", "'and' needs an array of where objects", {}),
    ({"or": [{"id": 1}, 2]}, "/or/1", "each item of 'or' must be a where object", {}),
    ({"name": {"foo": 1}}, "/name/foo", "'foo' is not a where operator", {"property": "name"}),
    ({"name": {}}, "/name", "'name' needs a value or an operator object", {"property": "name"}),
    ({"name": ["a", "b"]}, "/name", "'name' needs a single value; 'inq' matches any of several",
     {"property": "name"}),
    ({"count": "abc"}, "/count", "'count' needs a value of type integer", NUMBER),
    ({"count": {"gt": "1" * 5000}}, "/count/gt", "'gt' needs a value of type integer", NUMBER),
    ({"count": {"lt": True}}, "/count/lt", "'lt' needs a value of type integer", NUMBER),
    ({"count": {"eq": None, "gte": None}}, "/count/gte", "'gte' needs a value of type integer",
     NUMBER),
    ({"price": {"eq": float("nan")}}, "/price/eq", "'eq' needs a value of type number",
     {"property": "price"}),
    ({"active": {"inq": [True, 1]}}, "/active/inq/1", "'inq' needs a value of type boolean",
     {"property": "active"}),
    ({"madeAt": {"gt": "yesterday"}}, "/madeAt/gt", "'gt' needs a value of type date-time",
     {"property": "madeAt"}),
    ({"madeAt": {"gt": "0001-01-01T00:00:00+01:00"}}, "/madeAt/gt",
     "'gt' needs a value of type date-time", {"property": "madeAt"}),
    ({"day": "2026-02-30"}, "/day", "'day' needs a value of type date", {"property": "day"}),
    ({"name": "a\x00b"}, "/name", "'name' cannot hold a NUL character or a lone surrogate",
     {"property": "name"}),
    ({"active": {"gt": True}}, "/active/gt", "'gt' does not apply to boolean property 'active'",
     {"property": "active"}),
    ({"count": {"like": "1%"}}, "/count/like", "'like' does not apply to integer property 'count'",
     {"property": "count"}),
    ({"meta": {"eq": {"a": 1}}}, "/meta/eq",
     "'eq' does not apply to JSON property 'meta'; only 'exists' does", {"property": "meta"}),
    ({"name": {"like": 5}}, "/name/like", "'like' needs a value of type string",
     {"property": "name"}),
    ({"count": {"inq": 1}}, "/count/inq", "'inq' needs an array of values", NUMBER),
    ({"count": {"between": [1]}}, "/count/between",
     "'between' needs an array of exactly two values", NUMBER),
    ({"count": {"between": [1, None]}}, "/count/between/1",
     "'between' needs a value of type integer", NUMBER),
    ({"note": {"exists": "yes"}}, "/note/exists", "'exists' needs true or false",
     {"property": "note"}),
    ({"name": {"regexp": 5}}, "/name/regexp", "'regexp' needs a pattern string",
     {"property": "name"}),
    ({"name": {"regexp": "(a"}}, "/name/regexp",
     "'(a' is not a portable regular expression: missing )",
     {"property": "name"}),
    ({"name": {"regexp": "a}"}}, "/name/regexp",
     "'a}' is not a regular expression as the published `format: regex` means it (ECMA-262)",
     {"property": "name"}),
    ({"name": {"regexp": "\\\u00e1"}}, "/name/regexp",
     "'\\\u00e1' is not a regular expression as the published `format: regex` means it "
     "(ECMA-262)", {"property": "name"}),
    ({"name": {"regexp": "/a/g"}}, "/name/regexp",
     "'g' is not a supported regexp flag; only 'i' is", {"property": "name"}),
    ({"name": {"regexp": "\\bword"}}, "/name/regexp",
     "'\\bword' is not a portable regular expression: '\\b', which does not mean the same on "
     "every database", {"property": "name"}),
    ({"name": {"regexp": "(?=a)"}}, "/name/regexp",
     "'(?=a)' is not a portable regular expression: a '(?=' group",
     {"property": "name"}),
    ({"name": {"regexp": "[[:alpha:]]"}}, "/name/regexp",
     "'[[:alpha:]]' is not a portable regular expression: an unescaped '[' inside [...]",
     {"property": "name"}),
    ({"name": {"regexp": "[\\W]"}}, "/name/regexp",
     "'[\\W]' is not a portable regular expression: '\\W' inside [...]",
     {"property": "name"}),
    ({"name": {"regexp": "a{1,300}"}}, "/name/regexp",
     "'a{1,300}' is not a portable regular expression: a repetition count above 255",
     {"property": "name"}),
    ({"name": {"regexp": "(a+)+$"}}, "/name/regexp",
     "'(a+)+$' is not a portable regular expression: a repetition inside a repetition can take "
     "exponential time", {"property": "name"}),
    ({"name": {"regexp": "a*+"}}, "/name/regexp",
     "'a*+' is not a portable regular expression: a possessive repetition",
     {"property": "name"}),
    ({"name": {"regexp": "\\x00"}}, "/name/regexp",
     "'regexp' cannot hold a NUL character or a lone surrogate", {"property": "name"}),
    ({"id": {"inq": list(range(10_001))}}, "/id/inq/10000", "where holds more than 10000 values",
     {}),
])
def test_bad_where_details(where: Any, path: str, message: str, info: dict[str, Any]) -> None:
    assert where_error(where) == (path, message, info)


@pytest.mark.parametrize(("where", "path", "message"), [
    ({"__proto__": {"x": 1}}, "/__proto__", 'JSON string cannot contain "__proto__" key.'),
    ({"constructor": {"prototype": {}}}, "/constructor",
     'JSON string cannot contain "constructor.prototype" key.'),
    ({"and": [{"name": {"eq": {"__proto__.x": 1}}}]}, "/and/0/name/eq/__proto__.x",
     'JSON string cannot contain "__proto__.x" key.'),
    ({"password": "hunter2"}, "/password", 'JSON string cannot contain "password" key.'),
    ({"or": [{"password.length": 3}]}, "/or/0/password.length",
     'JSON string cannot contain "password.length" key.'),
    # innermost first, as JSON.parse's reviver meets them
    ({"__proto__": {"password": 1}}, "/__proto__/password",
     'JSON string cannot contain "password" key.'),
])
def test_prohibited_keys(where: Any, path: str, message: str) -> None:
    assert where_error(where) == (path, message, {})


def test_a_where_nests_at_most_100_levels() -> None:
    where: dict[str, Any] = {"id": 1}
    for _ in range(60):
        where = {"and": [where]}
    assert where_error(where) == ("/and/0" * 50, "where nests deeper than 100 levels", {})


def test_an_error_names_the_whole_parameter_and_the_part_at_fault() -> None:
    filter_ = {"include": [{"relation": "parts", "scope": {"where": {"colour": 1}}}]}
    source = Source("filter", filter_, "/include/0/scope/where")
    with pytest.raises(InvalidParameterValue) as caught:
        FILTERS.where({"colour": 1}, source)
    assert caught.value.message == (
        'Invalid data {"include":[{"relation":"parts","scope":{"where":{"colour":1}}}]} for '
        'parameter "filter".')
    assert caught.value.details == [{
        "path": "/include/0/scope/where/colour", "code": "filter",
        "message": "Gadget has no property 'colour' to filter by", "info": {"property": "colour"},
    }]


@pytest.mark.parametrize(("order", "path", "message", "info"), [
    (5, "/order", "order must be a string or an array of strings", {}),
    (["name", 5], "/order/1", "order must be a string or an array of strings", {}),
    ("name DOWN", "/order", "'name DOWN' is not a property and a direction", {}),
    (["name", "id ASC DESC"], "/order/1", "'id ASC DESC' is not a property and a direction", {}),
    ("name,", "/order", "'' is not a property and a direction", {}),
    ("colour", "/order", "Gadget has no property 'colour' to order by", {"property": "colour"}),
    ("password", "/order", "Gadget has no property 'password' to order by",
     {"property": "password"}),
    (["secret DESC"], "/order/0", "Gadget has no property 'secret' to order by",
     {"property": "secret"}),
    ("meta", "/order", "Gadget cannot be ordered by JSON property 'meta'", {"property": "meta"}),
])
def test_bad_order_details(order: Any, path: str, message: str, info: dict[str, Any]) -> None:
    source = Source("filter", {"order": order}, "/order")
    assert error_of(lambda: FILTERS.order(order, source)) == {
        "path": path, "code": "filter", "message": message, "info": info}


@pytest.mark.parametrize(("fields", "path", "message", "info"), [
    ("name", "/fields", "fields must be an object or an array", {}),
    (["name", 1], "/fields/1", "fields must name properties", {}),
    (["name", "colour"], "/fields/1", "Gadget has no property 'colour' to select",
     {"property": "colour"}),
    ({"secret": True}, "/fields/secret", "Gadget has no property 'secret' to select",
     {"property": "secret"}),
    ({"parts": True}, "/fields/parts", "'parts' is a relation of Gadget, not a property to select",
     {"property": "parts"}),
    ({"name": "yes"}, "/fields/name", "'name' must be true or false", {"property": "name"}),
])
def test_bad_fields_details(fields: Any, path: str, message: str, info: dict[str, Any]) -> None:
    source = Source("filter", {"fields": fields}, "/fields")
    assert error_of(lambda: FILTERS.fields(fields, source)) == {
        "path": path, "code": "filter", "message": message, "info": info}


VISIBLE = ("id", "name", "note", "count", "big", "price", "active", "madeAt", "day", "size", "ref",
           "meta")


@pytest.mark.parametrize(("fields", "expected"), [
    (None, None),
    ({}, None),
    ([], None),
    (["size", "name"], ("name", "size")),
    ({"size": True, "name": "true", "note": False}, ("name", "size")),
    ({"meta": False, "note": "false"}, tuple(n for n in VISIBLE if n not in ("meta", "note"))),
    ({name: False for name in VISIBLE}, ()),
])
def test_fields_keep_schema_order(fields: Any, expected: tuple[str, ...] | None) -> None:
    assert FILTERS.fields(fields, Source("filter", {})) == expected


@pytest.mark.parametrize(("filter_", "expected"), [
    ({}, (1000, 0)),
    ({"limit": 10, "skip": 5}, (10, 5)),
    ({"limit": 5000}, (1000, 0)),
    ({"offset": 7}, (1000, 7)),
    ({"skip": 2, "offset": 7}, (1000, 2)),
    ({"limit": "3", "skip": 4.0}, (3, 4)),
    ({"skip": 2**70}, (1000, 2**63 - 1)),
])
def test_page(filter_: dict[str, Any], expected: tuple[int, int]) -> None:
    assert FILTERS.page(filter_, Source("filter", filter_)) == expected


@pytest.mark.parametrize(("filter_", "path", "message"), [
    ({"limit": 0}, "/limit", "'limit' must be an integer of at least 1"),
    ({"limit": 1.5}, "/limit", "'limit' must be an integer of at least 1"),
    ({"limit": True}, "/limit", "'limit' must be an integer of at least 1"),
    ({"skip": -1}, "/skip", "'skip' must be an integer of at least 0"),
    ({"offset": "x"}, "/offset", "'offset' must be an integer of at least 0"),
])
def test_bad_page_details(filter_: dict[str, Any], path: str, message: str) -> None:
    assert error_of(lambda: FILTERS.page(filter_, Source("filter", filter_))) == {
        "path": path, "code": "filter", "message": message, "info": {}}


def test_order_ends_with_the_id_unless_it_names_it() -> None:
    source = Source("filter", {})
    assert [str(t) for t in FILTERS.order(None, source)] == [f"{TABLE}.id ASC"]
    assert [str(t) for t in FILTERS.order("name DESC", source)] == [
        f"{TABLE}.name DESC", f"{TABLE}.id ASC"]  # name is required: no NULLs to place
    assert [str(t) for t in FILTERS.order(["id desc"], source)] == [f"{TABLE}.id DESC"]


def test_no_condition_is_none_and_an_impossible_one_is_false() -> None:
    source = Source("where", {})
    assert FILTERS.where(None, source) is None
    assert FILTERS.where({}, source) is None
    assert FILTERS.where({"and": [{"or": [{"and": []}]}]}, source) is None
    assert str(FILTERS.where({"id": {"inq": []}, "name": "a"}, source)) == "false"


# Random where objects against a pure-Python evaluation --------------------------------------


class Invalid(Exception):
    """The reference evaluator's verdict on a where the compiler must refuse."""


KINDS = {name: prop.kind for name, prop in GADGET.properties.items() if not prop.hidden}
VALUES: dict[str, list[Any]] = {name: [row[name] for row in ROWS] for name in KINDS}
PY_ROWS = [{**stored(row), "madeAt": stored(row)["madeAt"] and stored(row)["madeAt"].astimezone(
    dt.UTC)} for row in ROWS]

REGEXP_ATOMS = ["a", "A", "l", "p", "h", "e", "é", "日", ".", "[a-e]", "[^a]", "\\d", "\\w",
                "\\s", "\\W", "(?:a|e)", "(b|%)", "\\\\", "_", "%"]
REGEXP_QUANTIFIERS = ["", "", "", "*", "+", "?", "{1,2}"]
INVALID_REGEXPS = ["(", "[a", "a**", "\\b", "/a/m", "(?=a)"]


@st.composite
def regexps(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(INVALID_REGEXPS))
    pieces = [draw(st.sampled_from(REGEXP_ATOMS)) + draw(st.sampled_from(REGEXP_QUANTIFIERS))
              for _ in range(draw(st.integers(0, 4)))]
    pattern = ("^" if draw(st.booleans()) else "") + "".join(pieces) + (
        "$" if draw(st.booleans()) else "")
    return f"/{pattern}/i" if draw(st.booleans()) else pattern


def operands(kind: str, name: str, op: str) -> st.SearchStrategy[Any]:
    known = st.sampled_from([v for v in VALUES[name] if v is not None] or [None])
    wrong = st.sampled_from([None, True, 1, 1.5, "x", [1], {"a": 1}])
    if op == "regexp":
        return regexps()
    if op in ("like", "nlike", "ilike", "nilike"):
        return st.text(alphabet="aAlLpé_%\\ \n日", max_size=5) | wrong
    typed: st.SearchStrategy[Any]
    if kind in ("int32", "int64"):
        typed = st.integers(-(2**65), 2**65) | st.floats(-1e20, 1e20) | st.sampled_from(
            [0, 1, 2**31, 2**63, -(2**63) - 1, "5", "1e1"])
    elif kind == "number":
        typed = st.floats(-1e21, 1e21) | st.integers(-(2**70), 2**70)
    elif kind == "boolean":
        typed = st.booleans() | st.sampled_from(["true", "false"])
    elif kind == "datetime":
        typed = st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00",
                                 "2026-01-01", "2026-06-15T08:30:00.000001Z", "bad"])
    elif kind == "date":
        typed = st.sampled_from(["2026-01-01", "2025-12-31", "2027-01-01", "2026-13-01"])
    else:
        typed = st.text(alphabet="aAlphé日%_\\\n ", max_size=4)
    return st.one_of(known, typed, wrong)


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from([*KINDS, "nope"]))
    kind = KINDS.get(name, "string")
    op = draw(st.sampled_from(["eq", "eq", "neq", "gt", "gte", "lt", "lte", "inq", "nin",
                               "between", "exists", "like", "nlike", "ilike", "nilike", "regexp",
                               "shorthand", "foo"]))
    values = operands(kind, name if name in KINDS else "name", op)
    if op == "shorthand":
        return {name: draw(values)}
    if op in ("inq", "nin"):
        operand: Any = draw(st.lists(values, max_size=3))
    elif op == "between":
        operand = draw(st.lists(values, min_size=1, max_size=3))
    elif op == "exists":
        operand = draw(st.sampled_from([True, False, "true", 1]))
    else:
        operand = draw(values)
    return {name: {op: operand}}


wheres = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(["and", "or"]), st.lists(inner, max_size=3), min_size=1),
        st.lists(inner, min_size=2, max_size=3).map(
            lambda parts: {k: v for part in parts for k, v in part.items()}),
    ),
    max_leaves=6,
)

Predicate = Callable[[dict[str, Any]], bool]


def reference(where: Any) -> Predicate:
    """The where as a Python predicate over stored rows; `Invalid` when it must be refused."""
    if not isinstance(where, dict):
        raise Invalid
    predicates: list[Predicate] = []
    for key, value in where.items():
        if key in ("and", "or"):
            if not isinstance(value, list) or not all(isinstance(w, dict) for w in value):
                raise Invalid
            parts = [reference(w) for w in value]
            combine = all if key == "and" else any
            predicates.append(lambda row, ps=parts, c=combine: c(p(row) for p in ps))
        elif key not in KINDS:
            raise Invalid
        elif isinstance(value, dict):
            if not value:
                raise Invalid
            predicates += [operation(key, op, operand) for op, operand in value.items()]
        elif isinstance(value, list):
            raise Invalid
        else:
            predicates.append(operation(key, "eq", value))
    return lambda row: all(p(row) for p in predicates)


def operation(name: str, op: str, operand: Any) -> Predicate:
    kind = KINDS[name]
    text_kind = kind in ("string", "enum", "uuid")
    ordered = kind not in ("boolean", "json")
    if (kind == "json" and op != "exists") or (op in ("gt", "gte", "lt", "lte", "between")
                                               and not ordered):
        raise Invalid
    if op in ("like", "nlike", "ilike", "nilike", "regexp") and not text_kind:
        raise Invalid
    if op == "exists":
        if not isinstance(operand, bool) and operand not in ("true", "false"):
            raise Invalid
        wanted = operand in (True, "true")
        return lambda row: (row[name] is not None) == wanted
    if op in ("eq", "neq") and operand is None:
        return lambda row: (row[name] is None) == (op == "eq")
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda v, x: v == x, "neq": lambda v, x: v != x, "gt": lambda v, x: v > x,
        "gte": lambda v, x: v >= x, "lt": lambda v, x: v < x, "lte": lambda v, x: v <= x}
    if op in compare:
        x = convert(kind, operand)
        return lambda row: row[name] is not None and compare[op](row[name], x)
    if op in ("inq", "nin", "between"):
        if not isinstance(operand, list) or (op == "between" and len(operand) != 2):
            raise Invalid
        items = [None if i is None and op != "between" else convert(kind, i) for i in operand]
        if op == "between":
            return lambda row: row[name] is not None and items[0] <= row[name] <= items[1]
        present = [i for i in items if i is not None]
        if op == "inq":
            return lambda row: (row[name] is None and None in items) or (
                row[name] is not None and any(row[name] == i for i in present))
        return lambda row: not items or (
            row[name] is not None and all(row[name] != i for i in present))
    if op not in ("like", "nlike", "ilike", "nilike", "regexp"):
        raise Invalid
    if not isinstance(operand, str):
        raise Invalid
    if op == "regexp":
        search = regexp_reference(operand)
        return lambda row: row[name] is not None and search(row[name])
    fold = op in ("ilike", "nilike")
    like = like_reference(operand, fold)
    negate = op.startswith("n")
    return lambda row: row[name] is not None and like(row[name]) != negate


def convert(kind: str, raw: Any) -> Any:
    if kind in ("string", "enum", "uuid"):
        if not isinstance(raw, str):
            raise Invalid
        return raw
    if kind in ("int32", "int64", "number"):
        if isinstance(raw, str) and re.fullmatch(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?", raw):
            raw = json.loads(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise Invalid
        if kind == "number" and abs(raw) <= 1e308:
            return float(raw)  # a number column compares as a double
        return raw
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        if not isinstance(raw, bool):
            raise Invalid
        return raw
    if not isinstance(raw, str):
        raise Invalid
    try:
        if kind == "date":
            return dt.date.fromisoformat(raw)
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid from None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def like_reference(pattern: str, fold: bool) -> Callable[[str], bool]:
    """LIKE as a full match: `%` any run, `_` any character, `\\` escapes, ASCII case folding."""
    parts, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
    compiled = re.compile("".join(parts), re.DOTALL | (re.IGNORECASE | re.ASCII if fold else 0))
    return lambda value: compiled.fullmatch(value) is not None


def regexp_reference(operand: str) -> Callable[[str], bool]:
    """Python's reading of the generated patterns: ASCII classes and folding, `$` the very end."""
    pattern, flags = operand, ""
    if operand.startswith("/") and operand.count("/") >= 2:
        pattern, _, flags = operand[1:].rpartition("/")
    if operand in INVALID_REGEXPS or set(flags) - {"i"}:
        raise Invalid
    compiled = re.compile(pattern.replace("$", "\\Z"),
                          re.ASCII | (re.IGNORECASE if flags else 0))
    return lambda value: compiled.search(value) is not None


PATTERN_ALPHABET = "ab.^$[]()|*+?{}\\-dwsDWS12,:xA"


@settings(max_examples=100, deadline=None)
@given(pattern=st.text(PATTERN_ALPHABET, max_size=8), fold=st.booleans(),
       subjects=st.lists(st.text("abAB1 -\\_\t", max_size=6), min_size=1, max_size=5))
def test_portable_patterns_match_as_python_reads_them(
        pattern: str, fold: bool, subjects: list[str]) -> None:
    """A pattern is refused, or matches what Python's engine (ASCII mode) matches."""
    where = {"name": {"regexp": f"/{pattern}/i" if fold else pattern}}
    try:
        condition = FILTERS.where(where, Source("where", where))
    except InvalidParameterValue:
        return
    assert condition is not None
    portable = condition.right.value  # type: ignore[attr-defined]
    python = re.compile(pattern, re.ASCII | (re.IGNORECASE if fold else 0))  # never invalid
    for subject in subjects:
        assert (re.search(portable, subject) is None) == (python.search(subject) is None)


@pytest.fixture(scope="module")
def sqlite_database() -> Iterator[Database]:
    engine = sqlite_engine()
    with engine.connect() as connection:
        GADGETS.create(connection)
        connection.execute(GADGETS.insert(), [stored(row) for row in ROWS])
        yield Database("sqlite", connection, Filters(GADGET, GADGETS))
    engine.dispose()


@settings(max_examples=100, deadline=None)
@given(where=wheres)
def test_random_wheres_agree_with_python(sqlite_database: Database, where: Any) -> None:
    try:
        predicate = reference(where)
    except Invalid:
        predicate = None
    try:
        found = sqlite_database.ids({"where": where})
    except InvalidParameterValue:
        tally("refused")
        assert predicate is None, "refused a where the reference accepts"
        return
    assert predicate is not None, "accepted a where the reference refuses"
    tally(f"accepted, {'some' if predicate and found else 'no'} rows")
    assert found == [row["id"] for row in PY_ROWS if predicate(row)]


def test_database_regexp_function_is_installed_on_sqlite(sqlite_database: Database) -> None:
    assert sqlite_database.connection.execute(text("SELECT 'abc' REGEXP '^a'")).scalar() == 1
