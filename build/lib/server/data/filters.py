"""Filters: LoopBack's filter language (`where`, `order`, `fields`, `limit`/`skip`) compiled to SQL.

`Filters(entity, table)` is built once per entity; each call turns one part of a filter into
SQLAlchemy Core expressions whose values are all bound parameters, and whose columns all come
from the table, so no part of a filter can inject SQL. A bad filter is a 400
(`InvalidParameterValue`) whose one detail points into the parameter, e.g.
`{"path": "/where/title", "code": "filter", "message": ..., "info": {"property": "title"}}`.

The same filter gives the same rows on SQLite, PostgreSQL and MariaDB:

- values are checked and converted by property kind; a number as a string (`"2"`, as the
  deepObject form `?filter[where][id]=2` sends it) counts as the number, `"true"`/`"false"` as
  the boolean. A number no column can hold (`2**70`, `1.5` for an integer) is decided here
  rather than sent: `eq` matches nothing, `lt 2**70` matches every non-null row;
- `neq`, `nin`, `nlike`, `nilike` and comparisons never match NULL, as in SQL; `{"eq": null}`
  is IS NULL, `{"neq": null}` IS NOT NULL, and a `null` in `inq` matches NULL rows;
- `like` is case-sensitive everywhere (`%`, `_`, a backslash escapes the next character);
  `ilike` folds case with each database's lower(): ASCII letters only on SQLite and
  PostgreSQL (`COLLATE "C"`), all of Unicode on MariaDB;
- `regexp` takes a portable subset of regular expressions (literals, `.`, `^`, `$`, `[...]`,
  `\\d \\w \\s` and their negations, groups, `|`, `* + ? {m,n}`), rewritten into a form that
  PostgreSQL's, MariaDB's (PCRE2) and SQLite's (RE2, linear-time) engines read alike: `.` is
  any character but a newline, `$` the very end, `\\d` ASCII digits, and the `i` flag folds
  ASCII letters only;
- NULLs sort first ascending and last descending, and the id breaks ties.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Table, and_, bindparam, false, or_, true

from server.data.entities import ORDERED_KINDS, Entity, Property
from server.data.patterns import (
    Unportable,
    is_regex_format,
    like_pattern,
    portable_regexp,
    storable_text,
)
from server.data.tables import INT32, INT64, to_db
from server.errors import InvalidParameterValue, InvalidValue
from server.refs import pointer

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "inq", "nin", "between", "exists", "like",
             "nlike", "ilike", "nilike", "regexp")
"""LoopBack's where operators, all of which are understood."""

MAX_DEPTH = 100
"""How deeply a where may nest (objects and arrays both count)."""
MAX_VALUES = 10_000
"""How many values one where may hold: SQLite binds at most 32766 parameters per statement."""
MAX_PATTERN = 1000
"""The longest `regexp` pattern: each database compiles it for every statement."""

_FLOAT_MAX = int(sys.float_info.max)
_TEXT_KINDS = frozenset({"string", "enum", "uuid"})
_TEXT_OPERATORS = frozenset({"like", "nlike", "ilike", "nilike", "regexp"})
_RANGE_OPERATORS = frozenset({"gt", "gte", "lt", "lte", "between"})
_TYPE_NAMES = {"string": "string", "enum": "string", "uuid": "string", "int32": "integer",
               "int64": "integer", "number": "number", "boolean": "boolean", "date": "date",
               "datetime": "date-time", "json": "JSON"}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_COMPARE: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "eq": lambda column, value: column == value,
    "neq": lambda column, value: column != value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
}

_LIKE: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "like": lambda column, pattern: column.like(pattern, escape="\\"),
    "nlike": lambda column, pattern: column.not_like(pattern, escape="\\"),
    "ilike": lambda column, pattern: column.ilike(pattern, escape="\\"),
    "nilike": lambda column, pattern: column.not_ilike(pattern, escape="\\"),
}

Condition = ColumnElement[bool]
Tokens = tuple[str | int, ...]
Shape = tuple[Any, ...]
"""A where condition's form, with its values taken out: `("and" | "or", *parts)`, `("true",)`,
`("false",)`, `("null", property, is_null)`, or `(operator, property, slot)`, the slot
numbering a value kept aside. Filters that differ only in their values share a shape, and so
can share one statement."""
OrderKey = tuple[tuple[str, bool], ...]
"""A checked order: `(property, descending)` pairs."""
TRUE: Shape = ("true",)
FALSE: Shape = ("false",)


@dataclass(frozen=True)
class Source:
    """Where a filter came from, for the 400 that a bad one gets."""

    parameter: str
    """The query parameter's name: "filter" or "where"."""
    raw: Any
    """The parameter's whole value, shown in the message."""
    at: str = ""
    """The JSON pointer of this part inside `raw`, e.g. "/where" or "/include/0/scope/where"."""


class Filters:
    """The compiled filter vocabulary of one entity: its columns, by property name.

    >>> from sqlalchemy.dialects import sqlite
    >>> from server.data.entities import read_entities
    >>> from server.data.tables import build_tables
    >>> doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...     "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}}}}
    >>> note = read_entities(doc)[0]["Note"]
    >>> filters = Filters(note, build_tables({"Note": note}).tables["note"], max_limit=50)
    >>> source = Source("filter", {})
    >>> str(filters.where({"title": {"like": "a%"}}, source).compile(dialect=sqlite.dialect()))
    "note.title LIKE ? ESCAPE '\\\\'"
    >>> filters.page({"limit": 500, "offset": 20}, source)
    (50, 20)
    """

    def __init__(self, entity: Entity, table: Table, *, max_limit: int = 1000,
                 prohibited_keys: Iterable[str] = ()) -> None:
        self.entity = entity
        self.max_limit = max_limit
        self.prohibited_keys = ("__proto__", "constructor.prototype", *prohibited_keys)
        self.columns = {name: table.c[name] for name in entity.visible}
        self._id = table.c[entity.id]

    def where(self, where: Any, source: Source) -> Condition | None:
        """The condition a where object states, or None when it states none (`None`, `{}`).

        >>> from sqlalchemy.dialects import postgresql
        >>> filters = Filters(*_example())
        >>> condition = filters.where({"or": [{"title": None}, {"id": {"inq": [1, 2]}}]},
        ...                           Source("where", {}))
        >>> print(condition.compile(dialect=postgresql.dialect()))
        note.title IS NULL OR note.id IN (__[POSTCOMPILE_id_1])
        """
        shape, values = self.where_shape(where, source)
        return None if shape is None else build(shape, self.columns, values)

    def where_shape(self, where: Any, source: Source) -> tuple[Shape | None, list[Any]]:
        """A where object checked, as its shape (None when it states no condition) and the
        values of the shape's slots: every 400 is raised here.

        >>> Filters(*_example()).where_shape({"id": {"gt": "2"}, "title": None},
        ...                                  Source("where", {}))
        (('and', ('gt', 'id', 0), ('null', 'title', True)), [2])
        """
        if where is None:
            return None, []
        if not isinstance(where, Mapping):
            _fail(source, (), "where must be an object")
        self._refuse_prohibited_keys(where, source, (), 1)
        compiler = _WhereCompiler(self, source)
        shape = compiler.object(where, ())
        return (None if shape == TRUE else shape), compiler.values

    def order(self, order: Any, source: Source) -> list[ColumnElement[Any]]:
        """ORDER BY terms for `"title DESC"`, `["done", "title ASC"]` or `"done,title"`.

        NULLs come first ascending and last descending on every database; the id comes last,
        ascending, unless the order names it already.

        >>> filters = Filters(*_example())
        >>> [str(term) for term in filters.order("title DESC", Source("filter", {}))]
        ['note.title IS NULL ASC', 'note.title DESC', 'note.id ASC']
        """
        return self.order_terms(self.order_key(order, source))

    def order_key(self, order: Any, source: Source) -> OrderKey:
        """An order checked, as `(property, descending)` pairs: every 400 is raised here.

        >>> Filters(*_example()).order_key("title DESC,id", Source("filter", {}))
        (('title', True), ('id', False))
        """
        if order is None:
            return ()
        if isinstance(order, str):
            keys: list[tuple[Any, Tokens]] = (
                [(key, ()) for key in order.split(",")] if order.strip() else [])
        elif isinstance(order, list):
            keys = [(key, (i,)) for i, key in enumerate(order)]
        else:
            _fail(source, (), "order must be a string or an array of strings")
        pairs: list[tuple[str, bool]] = []
        for key, tokens in keys:
            if not isinstance(key, str):
                _fail(source, tokens, "order must be a string or an array of strings")
            words = key.split()
            if not 1 <= len(words) <= 2 or (len(words) == 2
                                             and words[1].upper() not in ("ASC", "DESC")):
                _fail(source, tokens, f"'{key.strip()}' is not a property and a direction")
            prop = self._property(words[0], source, tokens, "order by")
            if prop.kind == "json":
                _fail(source, tokens, f"{self.entity.name} cannot be ordered by JSON property "
                      f"'{prop.name}'", prop.name)
            pairs.append((prop.name, len(words) == 2 and words[1].upper() == "DESC"))
        return tuple(pairs)

    def order_terms(self, key: OrderKey) -> list[ColumnElement[Any]]:
        """The ORDER BY terms of a checked order (`order_key`)."""
        terms: list[ColumnElement[Any]] = []
        for name, descending in key:
            column = self.columns[name]
            if column.nullable:
                # MySQL has no NULLS FIRST; a boolean sorts false before true everywhere.
                is_null = column.is_(None)
                terms.append(is_null.asc() if descending else is_null.desc())
            terms.append(column.desc() if descending else column.asc())
        if not any(name == self.entity.id for name, _ in key):
            terms.append(self._id.asc())
        return terms

    def fields(self, fields: Any, source: Source) -> tuple[str, ...] | None:
        """The properties to keep, in schema order; None keeps every visible one.

        `{"a": true}` keeps `a`, `{"a": false}` keeps all but `a`, `["a", "b"]` keeps both.

        >>> filters = Filters(*_example())
        >>> source = Source("filter", {})
        >>> filters.fields({"title": False}, source), filters.fields([], source)
        (('id',), None)
        """
        if fields is None:
            return None
        chosen: dict[str, bool] = {}
        if isinstance(fields, list):
            for i, name in enumerate(fields):
                if not isinstance(name, str):
                    _fail(source, (i,), "fields must name properties")
                chosen[self._property(name, source, (i,), "select").name] = True
        elif isinstance(fields, Mapping):
            for name, keep in fields.items():
                self._property(name, source, (name,), "select")
                flag = _boolean(keep)
                if flag is None:
                    _fail(source, (name,), f"'{name}' must be true or false", name)
                chosen[name] = flag
        else:
            _fail(source, (), "fields must be an object or an array")
        if not chosen:
            return None
        if any(chosen.values()):
            return tuple(name for name in self.columns if chosen.get(name))
        return tuple(name for name in self.columns if name not in chosen)

    def page(self, filter_: Mapping[str, Any], source: Source) -> tuple[int, int]:
        """`(limit, offset)`: the limit capped at `max_limit`; `skip`, or its synonym `offset`.

        >>> Filters(*_example(), max_limit=100).page({"skip": "3"}, Source("filter", {}))
        (100, 3)
        """
        if not isinstance(filter_, Mapping):
            _fail(source, (), "filter must be an object")
        limit = _count(filter_, "limit", 1, source)
        skip = _count(filter_, "skip", 0, source)
        offset = _count(filter_, "offset", 0, source)
        start = skip if skip is not None else offset or 0
        return min(limit or self.max_limit, self.max_limit), min(start, INT64[1])

    def _property(self, name: str, source: Source, tokens: Tokens, purpose: str) -> Property:
        """A visible property by name; hidden and prohibited ones are as good as absent."""
        prop = self.entity.properties.get(name) if isinstance(name, str) else None
        if prop is None or prop.hidden or any(_matches(name, p) for p in self.prohibited_keys):
            if name in self.entity.relations:
                _fail(source, tokens, f"'{name}' is a relation of {self.entity.name}, not a "
                      f"property to {purpose}", name)
            _fail(source, tokens, f"{self.entity.name} has no property '{name}' to {purpose}",
                  name)
        return prop

    def _refuse_prohibited_keys(self, value: Any, source: Source, tokens: Tokens,
                                depth: int) -> None:
        """LoopBack's `parseJson` rules, innermost key first as `JSON.parse`'s reviver meets them."""
        if depth > MAX_DEPTH and isinstance(value, list | Mapping):
            _fail(source, tokens, f"where nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, list):
            for i, item in enumerate(value):
                self._refuse_prohibited_keys(item, source, (*tokens, i), depth + 1)
        elif isinstance(value, Mapping):
            for key, child in value.items():
                at = (*tokens, key)
                self._refuse_prohibited_keys(child, source, at, depth + 1)
                if key == "constructor" and isinstance(child, Mapping) and any(
                        _matches(str(inner), "prototype") for inner in child):
                    _fail(source, at, 'JSON string cannot contain "constructor.prototype" key.')
                if any(_matches(str(key), pattern) for pattern in self.prohibited_keys):
                    _fail(source, at, f'JSON string cannot contain "{key}" key.')


class _WhereCompiler:
    """One where object's compilation: its source, for errors, its budget of values, and the
    values found, in the order the shape's slots number them."""

    def __init__(self, filters: Filters, source: Source) -> None:
        self.filters = filters
        self.source = source
        self.values_left = MAX_VALUES
        self.values: list[Any] = []

    def fail(self, tokens: Tokens, message: str, prop: str | None = None) -> NoReturn:
        _fail(self.source, tokens, message, prop)

    def slot(self, value: Any) -> int:
        """Keep a value for the statement; its slot's number."""
        self.values.append(value)
        return len(self.values) - 1

    def object(self, where: Mapping[str, Any], tokens: Tokens) -> Shape:
        conditions = []
        for key, value in where.items():
            at = (*tokens, key)
            if key in ("and", "or"):
                if not isinstance(value, list):
                    self.fail(at, f"'{key}' needs an array of where objects")
                parts = []
                for i, item in enumerate(value):
                    if not isinstance(item, Mapping):
                        self.fail((*at, i), f"each item of '{key}' must be a where object")
                    parts.append(self.object(item, (*at, i)))
                conditions.append(_all(parts) if key == "and" else _any(parts))
            else:
                conditions.append(self.property(key, value, at))
        return _all(conditions)

    def property(self, name: str, value: Any, at: Tokens) -> Shape:
        prop = self.filters._property(name, self.source, at, "filter by")
        if isinstance(value, Mapping):
            if not value:
                self.fail(at, f"'{name}' needs a value or an operator object", name)
            return _all([self.operation(prop, op, operand, (*at, op), op)
                         for op, operand in value.items()])
        if isinstance(value, list):
            self.fail(at, f"'{name}' needs a single value; 'inq' matches any of several", name)
        return self.operation(prop, "eq", value, at, name)

    def operation(self, prop: Property, op: str, operand: Any, at: Tokens,
                  label: str) -> Shape:
        """`label` names the operator, or the property in the `{prop: value}` shorthand."""
        name, kind = prop.name, prop.kind
        if op not in OPERATORS:
            self.fail(at, f"'{op}' is not a where operator", name)
        if kind == "json" and op != "exists":
            self.fail(at, f"'{op}' does not apply to JSON property '{name}'; only 'exists' does",
                      name)
        if (op in _RANGE_OPERATORS and kind not in ORDERED_KINDS) or (
                op in _TEXT_OPERATORS and kind not in _TEXT_KINDS):
            self.fail(at, f"'{op}' does not apply to {_TYPE_NAMES[kind]} property '{name}'",
                      name)
        if op == "exists":
            flag = _boolean(operand)
            if flag is None:
                self.fail(at, "'exists' needs true or false", name)
            return ("null", name, not flag)
        if op in ("eq", "neq") and operand is None:
            return ("null", name, op == "eq")
        if op in _COMPARE:
            return self.compare(prop, op, self.value(prop, operand, at, label))
        if op in ("inq", "nin", "between"):
            items = operand if isinstance(operand, list) else None
            if op == "between" and (items is None or len(items) != 2):
                self.fail(at, "'between' needs an array of exactly two values", name)
            if items is None:
                self.fail(at, f"'{op}' needs an array of values", name)
            if op == "between":
                low, high = (self.value(prop, item, (*at, i), op) for i, item in enumerate(items))
                return _all([self.compare(prop, "gte", low), self.compare(prop, "lte", high)])
            values = [None if item is None else self.value(prop, item, (*at, i), op)
                      for i, item in enumerate(items)]
            return self.membership(prop, op, values)
        text = self.value(prop, operand, at, op)
        if op == "regexp":
            return ("regexp", name, self.slot(self.regexp(text, at, name)))
        return (op, name, self.slot(like_pattern(text)))

    def compare(self, prop: Property, op: str, value: Any) -> Shape:
        """`prop <op> value`, decided here when no stored value could compare otherwise."""
        name = prop.name
        if prop.kind in ("int32", "int64"):
            if isinstance(value, float) and not value.is_integer():
                if op in ("eq", "neq"):
                    return ("null", name, False) if op == "neq" else FALSE
                # No integer lies strictly between: x > 1.5 is x >= 2, x < 1.5 is x <= 1.
                value, op = (math.ceil(value), "gte") if op in ("gt", "gte") else (
                    math.floor(value), "lte")
            low, high = INT32 if prop.kind == "int32" else INT64
            value = int(value)
        elif prop.kind == "number" and isinstance(value, int):
            low, high = -_FLOAT_MAX, _FLOAT_MAX
        else:
            return (op, name, self.slot(value))
        if low <= value <= high:
            return (op, name, self.slot(float(value) if prop.kind == "number" else value))
        # Beyond every stored value: "not equal" holds, and so does "less than something above
        # them all" or "more than something below them all"; "equal" never does.
        holds = op == "neq" or (op in ("lt", "lte") and value > high) or (
            op in ("gt", "gte") and value < low)
        return ("null", name, False) if holds else FALSE

    def membership(self, prop: Property, op: str, values: list[Any]) -> Shape:
        """`inq` / `nin`: a null in the list stands for NULL rows; other values must be storable.
        The values kept fill one slot, whatever their number."""
        name = prop.name
        kept = [v for v in values if v is not None and _comparable(prop, v)]
        kept = [float(v) if prop.kind == "number" else int(v) if isinstance(v, float) else v
                for v in kept]
        if op == "inq":
            parts: list[Shape] = [("inq", name, self.slot(kept))] if kept else []
            return _any([*parts, ("null", name, True)] if None in values else parts)
        if not values:
            return TRUE
        return ("nin", name, self.slot(kept)) if kept else ("null", name, False)

    def value(self, prop: Property, raw: Any, at: Tokens, label: str) -> Any:
        """A JSON value as the column compares it; `label` names what needed it."""
        self.values_left -= 1
        if self.values_left < 0:
            self.fail(at, f"where holds more than {MAX_VALUES} values")
        kind = prop.kind
        needed = "a pattern string" if label == "regexp" else (
            f"a value of type {_TYPE_NAMES[kind]}")
        value: Any = None
        if kind in _TEXT_KINDS:
            if isinstance(raw, str):
                if not storable_text(raw):
                    self.fail(at, f"'{label}' cannot hold a NUL character or a lone surrogate",
                              prop.name)
                value = raw
        elif kind in ("int32", "int64", "number"):
            value = _number(raw)
        elif kind == "boolean":
            value = _boolean(raw)
        elif isinstance(raw, str) and storable_text(raw):  # date, datetime
            try:
                value = to_db(prop, raw)
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    value = value.astimezone(dt.UTC)
            except (InvalidValue, OverflowError):
                value = None
        if value is None:
            self.fail(at, f"'{label}' needs {needed}", prop.name)
        return value

    def regexp(self, text: str, at: Tokens, name: str) -> str:
        """A `regexp` operand (`pattern` or `/pattern/flags`) as a pattern all databases share."""
        pattern, flags = text, ""
        delimited = re.fullmatch(r"/(.*)/([A-Za-z]*)", text, re.DOTALL)
        if delimited:
            pattern, flags = delimited.groups()
        for flag in flags:
            if flag != "i":
                self.fail(at, f"'{flag}' is not a supported regexp flag; only 'i' is", name)
        if len(pattern) > MAX_PATTERN:
            self.fail(at, f"a regexp pattern is limited to {MAX_PATTERN} characters", name)
        try:
            portable = portable_regexp(pattern, fold="i" in flags)
        except Unportable as error:
            self.fail(at, f"'{pattern}' is not a portable regular expression: {error}", name)
        if not is_regex_format(text):  # what the subset reads as a literal, ECMA-262 may refuse
            self.fail(at, f"'{text}' is not a regular expression as the published "
                          f"`format: regex` means it (ECMA-262)", name)
        if not storable_text(portable):
            self.fail(at, "'regexp' cannot hold a NUL character or a lone surrogate", name)
        return portable


def _fail(source: Source, tokens: Tokens, message: str, prop: str | None = None) -> NoReturn:
    raise InvalidParameterValue(source.parameter, source.raw, details=[{
        "path": source.at + pointer(list(tokens)), "code": "filter", "message": message,
        "info": {"property": prop} if prop is not None else {}}])


def _all(parts: list[Shape]) -> Shape:
    kept = [part for part in parts if part != TRUE]
    if FALSE in kept:
        return FALSE
    return kept[0] if len(kept) == 1 else ("and", *kept) if kept else TRUE


def _any(parts: list[Shape]) -> Shape:
    kept = [part for part in parts if part != FALSE]
    if TRUE in kept:
        return TRUE
    return kept[0] if len(kept) == 1 else ("or", *kept) if kept else FALSE


def build(shape: Shape, columns: Mapping[str, ColumnElement[Any]],
          values: Sequence[Any] | None = None) -> Condition:
    """The SQL condition of a where shape: with `values`, each slot bound to its value; without,
    each slot a named parameter (`w0`, `w1`, ...) to supply when the statement runs.

    >>> from sqlalchemy import column
    >>> columns = {"id": column("id"), "title": column("title")}
    >>> shape = ("or", ("null", "title", True), ("inq", "id", 0))
    >>> print(build(shape, columns))
    title IS NULL OR id IN (__[POSTCOMPILE_w0])
    """
    tag = shape[0]
    if tag == "and" or tag == "or":
        parts = [build(part, columns, values) for part in shape[1:]]
        return and_(*parts) if tag == "and" else or_(*parts)
    if tag == "true" or tag == "false":
        return true() if tag == "true" else false()
    column = columns[shape[1]]
    if tag == "null":
        return column.is_(None) if shape[2] else column.is_not(None)
    slot: int = shape[2]
    if tag in ("inq", "nin"):
        members: Any = (values[slot] if values is not None
                        else bindparam(f"w{slot}", expanding=True))
        return column.in_(members) if tag == "inq" else column.not_in(members)
    value: Any = values[slot] if values is not None else bindparam(f"w{slot}")
    if tag in _COMPARE:
        return _COMPARE[tag](column, value)
    if tag == "regexp":
        return column.regexp_match(value)
    return _LIKE[tag](column, value)


def slots(values: Sequence[Any]) -> dict[str, Any]:
    """The parameters a statement built without values (`build`) runs with."""
    return {f"w{slot}": value for slot, value in enumerate(values)}


def _comparable(prop: Property, value: Any) -> bool:
    """Whether a column of the property could hold a value equal to this one."""
    if prop.kind in ("int32", "int64"):
        low, high = INT32 if prop.kind == "int32" else INT64
        return (not isinstance(value, float) or value.is_integer()) and low <= value <= high
    if prop.kind == "number" and isinstance(value, int):
        return abs(value) <= _FLOAT_MAX
    return True


def _number(raw: Any) -> int | float | None:
    """A finite JSON number, or a string holding one, as LoopBack coerces query strings."""
    if isinstance(raw, str) and _JSON_NUMBER.fullmatch(raw):
        try:
            raw = float(raw) if raw.strip("-0123456789") else int(raw)
        except ValueError:  # more digits than Python converts
            return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return raw if isinstance(raw, int) or math.isfinite(raw) else None


def _boolean(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    return {"true": True, "false": False}.get(raw) if isinstance(raw, str) else None


def _count(filter_: Mapping[str, Any], key: str, least: int, source: Source) -> int | None:
    raw = filter_.get(key)
    if raw is None:
        return None
    number = _number(raw)
    if number is None or number < least or (isinstance(number, float)
                                            and not number.is_integer()):
        _fail(source, (key,), f"'{key}' must be an integer of at least {least}")
    return int(number)


def _matches(key: str, pattern: str) -> bool:
    return key == pattern or key.startswith(pattern + ".")


def _example() -> tuple[Entity, Table]:
    """A `Note` entity (`id`, `title`) and its table, for the examples above."""
    from server.data.entities import read_entities
    from server.data.tables import build_tables

    doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
           "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}}}}
    note = read_entities(doc)[0]["Note"]
    return note, build_tables({"Note": note}).tables["note"]
