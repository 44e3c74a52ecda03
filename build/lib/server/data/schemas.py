"""Schema variants: the named schemas LoopBack derives from a model, derived from an entity.

For an entity `Todo` (LoopBack's names, `@loopback/repository-json-schema`):

| name | what | LoopBack |
| --- | --- | --- |
| `NewTodo` | create's body: no generated id | `getModelSchemaRef(Todo, {exclude: ['id']})` |
| `TodoPartial` | PATCH bodies: nothing required | `{partial: true}` |
| `TodoWithRelations` | responses: visible properties, relations; none required | `{includeRelations: true}` |
| `Todo.Where` | `where`, typed operator by operator | `getWhereSchemaFor` (a free-form object) |
| `Todo.Fields`, `Todo.Order`, `Todo.OrderKey` | the filter's parts | `getFieldsJsonSchemaFor`... |
| `Todo.Filter`, `Todo.Filter1` | find's filter, and findById's (no `where`) | `getFilterSchemaFor` |
| `Todo.IncludeItem` | one `include` entry, with the target's filter as `scope` | |
| `NewTodoInTodoList` | a relation's create body: no generated id, no foreign key | `lb4 relation` |

Hidden properties (LoopBack's `hidden`) are stored and written by clients, never sent: request
bodies publish them `writeOnly: true` (the entity's own schema too, as PUT's body), and they
never appear in a response schema or in what a filter can name. Responses name nothing as
required: a `fields` projection may drop anything.

Request bodies also say what the columns keep, so that clients (and schemathesis) know what a
write refuses with 422 on every database: free text has a `maxLength` (the column's, or
`TEXT_LENGTH`) and, in `allOf`, the NUL-free pattern; an untyped property is a
`Charter.JsonValue` (numbers within 64 bits). Typed object and array properties keep their
schema (a recursive schema inside `allOf` sends openapi-spec-validator into endless
recursion); the repository refuses what their column cannot keep all the same. A number whose
declared range passes JavaScript's safe integers gets an `example` inside them, or the explorer
would send a number JavaScript rounded.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from server.data.entities import ORDERED_KINDS, Entity, Property, Relation
from server.data.tables import JSON_NUMBERS, NUL_FREE, TEXT_LENGTH
from server.refs import escape
from server.types import Schema

COUNT = "loopback.Count"
JSON_VALUE = "Charter.JsonValue"
JS_SAFE_INTEGER = 2**53 - 1
"""JavaScript's `Number.MAX_SAFE_INTEGER`: beyond it, a browser sends a rounded number."""
STRING_KINDS = frozenset({"string", "enum", "uuid"})
"""Kinds that `like`, `ilike` and `regexp` apply to."""

_TYPES = {"string": "string", "enum": "string", "uuid": "string", "date": "string",
          "datetime": "string", "int32": "integer", "int64": "integer", "number": "number",
          "boolean": "boolean"}
# An integer's format says the range the server keeps (an unformatted integer means int64).
_FORMATS = {"date": "date", "datetime": "date-time", "uuid": "uuid", "int32": "int32",
            "int64": "int64"}
_KEPT_FORMATS: dict[str, set[str] | None] = {"string": None, "number": {"float", "double"}}
"""The user's own formats a value keeps, per kind (None: any)."""
TEXT_PATTERN = NUL_FREE
"""Text a filter may compare or a column store: no NUL character, which PostgreSQL cannot hold
(on every database alike, so that one filter means the same everywhere)."""

_MATCHING = ("like", "nlike", "ilike", "nilike", "regexp")
# What the server's bounds on a filter are, for clients: the values are settings, and the
# derived spec is built before settings are read, so the text names them with their defaults.
# The depth cannot be a schema (the scopes are recursive), and a limit past the cap is capped,
# not refused, so neither is a `maxItems` or a `maximum`.
LIMIT_DESCRIPTION = ("At most this many items, and never more than CHARTER_MAX_LIMIT (1000 "
                     "unless configured). In an include's scope: for each parent item.")
INCLUDE_DESCRIPTION = (
    "Relations to add to each item, nested through scopes at most CHARTER_MAX_INCLUDE_DEPTH "
    "levels deep (3 unless configured). A scope's limit and skip apply to each parent item, and "
    "a relation adds at most CHARTER_MAX_LIMIT items to each. A relation named again must have "
    "the same scope, and is included once. A response holds at most CHARTER_MAX_RESPONSE_ROWS "
    "items (10000 unless configured), each included item counted wherever it appears. Past "
    "these bounds the answer is 400.")


def ref(name: str) -> Schema:
    """`ref("Todo.Where")` is `{"$ref": "#/components/schemas/Todo.Where"}`."""
    return {"$ref": f"#/components/schemas/{escape(name)}"}


def count_schema() -> Schema:
    """LoopBack's `CountSchema`, the answer of count, updateAll and relation PATCH/DELETE."""
    return {"title": COUNT, "type": "object", "properties": {"count": {"type": "number"}}}


def entity_schemas(entity: Entity, document: Mapping[str, Any], version: str,
                   limits: Mapping[str, int] | None = None) -> dict[str, Schema]:
    """Every named variant of one entity's schema, for a document of OpenAPI `version`.

    >>> from server.data.entities import read_entities
    >>> doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...     "required": ["text"],
    ...     "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}}}
    >>> entities, _ = read_entities(doc)
    >>> schemas = entity_schemas(entities["Note"], doc, "3.1")
    >>> schemas["NewNote"]["properties"]["text"]["maxLength"], schemas["Note.OrderKey"]["enum"][:3]
    (16383, ['id', 'id ASC', 'id DESC'])

    `limits`: the most characters each text property holds (`tables.text_limits`).
    """
    name = entity.name
    dropped = {entity.id} if entity.generated else set()
    schemas = {
        f"New{name}": new_schema(entity, document, f"New{name}", dropped, limits),
        f"{name}Partial": _object(f"{name}Partial", stored_properties(entity, document, limits)),
        f"{name}WithRelations": _with_relations(entity, document),
        f"{name}.Where": _where(entity, version),
        f"{name}.Fields": _fields(entity),
        f"{name}.OrderKey": _order_key(entity),
        f"{name}.Order": {"title": f"{name}.Order", "anyOf": [
            ref(f"{name}.OrderKey"), {"type": "array", "items": ref(f"{name}.OrderKey")}]},
        f"{name}.Filter": _filter(entity, with_where=True),
        f"{name}.Filter1": _filter(entity, with_where=False),
    }
    if entity.relations:
        schemas[f"{name}.IncludeItem"] = _include_item(entity)
    return schemas


def new_in_source_schema(relation: Relation, target: Entity, document: Mapping[str, Any],
                         limits: Mapping[str, int] | None = None) -> Schema:
    """The body of a relation's create: the target without its generated id, and for hasMany
    and hasOne without the key that the path's `{id}` sets (`NewTodoInTodoList`)."""
    dropped = {target.id} if target.generated else set()
    if relation.kind in ("hasMany", "hasOne"):
        dropped.add(relation.key_to)
    return new_schema(target, document, f"New{target.name}In{relation.source}", dropped, limits)


def new_schema(entity: Entity, document: Mapping[str, Any], title: str, dropped: set[str],
               limits: Mapping[str, int] | None = None) -> Schema:
    """The entity's own properties and `required`, less `dropped`; nothing else accepted."""
    stored = stored_properties(entity, document, limits)
    properties = {p: schema for p, schema in stored.items() if p not in dropped}
    declared = _declared(entity, document).get("required") or []
    required = [p for p in declared if p in properties]
    return _object(title, properties, required)


def stored_properties(entity: Entity, document: Mapping[str, Any],
                      limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The properties as a request body publishes them: as the user wrote them, plus what their
    columns keep (`stored_schema`), in schema order. New copies: no YAML aliases."""
    limits = limits or {}
    stored = {name: stored_schema(entity.properties[name], schema, limits.get(name))
              for name, schema in _raw_properties(entity, document).items()}
    return {name: write_only(schema) if entity.properties[name].hidden else schema
            for name, schema in stored.items()}


def write_only(schema: Any) -> Any:
    """A hidden property's schema in a request body: `writeOnly`, so that clients may set it and
    know that no response holds it. A `$ref` goes in `allOf` (OpenAPI 3.0 ignores its siblings).

    >>> write_only({"type": "string"})
    {'type': 'string', 'writeOnly': True}
    >>> write_only({"$ref": "#/components/schemas/Cost"})
    {'allOf': [{'$ref': '#/components/schemas/Cost'}], 'writeOnly': True}
    """
    if not isinstance(schema, Mapping) or "$ref" in schema:
        return {"allOf": [schema], "writeOnly": True}
    return {**schema, "writeOnly": True}


def stored_schema(prop: Property, schema: Any, max_length: int | None = None) -> Any:
    """One property's schema as written, plus what its column keeps, for a request body.

    Free text: at most `max_length` characters (the column's; `TEXT_LENGTH` when unknown) and
    no NUL. The pattern goes in `allOf`, so that the user's own `pattern` stays as written; as
    Swagger UI merges allOf and samples patterns at random, plain text gets `example: "string"`,
    its sample without one. Untyped JSON: a `Charter.JsonValue`. A `$ref` is kept whole.

    >>> from server.data.entities import Property
    >>> code = stored_schema(Property("code", "code", "string", {}),
    ...                      {"type": "string", "pattern": "^[A-Z]+$"}, 8)
    >>> code["pattern"], code["maxLength"], code["allOf"] == [{"pattern": TEXT_PATTERN}]
    ('^[A-Z]+$', 8, True)
    >>> stored_schema(Property("tag", "tag", "json", {}), {})
    {'$ref': '#/components/schemas/Charter.JsonValue'}
    """
    if prop.kind == "string":
        limit = max_length or prop.max_length or TEXT_LENGTH
        if not isinstance(schema, Mapping) or "$ref" in schema:  # 3.0 ignores $ref's siblings
            return {"allOf": [copy.deepcopy(schema), {"maxLength": limit,
                                                      "pattern": TEXT_PATTERN}]}
        out = copy.deepcopy(dict(schema))
        out.setdefault("maxLength", limit)
        out["allOf"] = [*out.get("allOf", ()), {"pattern": TEXT_PATTERN}]
        if not _SAMPLED & out.keys() and out.get("minLength", 0) <= len(_TEXT_EXAMPLE):
            # Swagger UI merges allOf, then samples a pattern at random: keep its "string".
            out["example"] = _TEXT_EXAMPLE[:out["maxLength"]]
        return out
    if prop.kind == "json" and isinstance(schema, Mapping) and set(schema) <= _ANNOTATIONS:
        if not schema:
            return ref(JSON_VALUE)
        value = json_value_schema()
        del value["title"], value["description"]
        return {**value, **copy.deepcopy(dict(schema))}
    return js_safe(schema)


_TEXT_EXAMPLE = "string"
_SAMPLED = frozenset({"example", "examples", "default", "enum", "const", "pattern", "format"})
"""What the explorer samples text from before its type: a text without them gets `example`."""
_ANNOTATIONS = frozenset({"title", "description", "example", "default", "nullable", "readOnly",
                          "writeOnly", "deprecated", "externalDocs", "xml"})
"""Keywords that say nothing about which values are valid: a schema of only these is untyped."""


def json_value_schema() -> Schema:
    """What a JSON column keeps: any JSON value whose numbers are 64-bit integers (or lie within
    their range), so that each comes back as it was sent. The nesting limit is the server's
    setting, which no JSON Schema keyword states."""
    return {
        "title": JSON_VALUE,
        "description": ("Any JSON value whose numbers lie within [-2^63, 2^64-1], nested at most "
                        "CHARTER_MAX_JSON_DEPTH levels (16 unless configured)."),
        "minimum": JSON_NUMBERS[0],
        "maximum": JSON_NUMBERS[1],
        "items": ref(JSON_VALUE),
        "additionalProperties": ref(JSON_VALUE),
        "example": {},
    }


def js_safe(schema: Any) -> Any:
    """A number schema whose declared range passes JavaScript's safe integers, with an `example`
    inside them: the explorer otherwise sends the range's bound, which JavaScript rounds out of
    the range. Other schemas are returned as they are.

    >>> js_safe({"type": ["integer", "null"], "minimum": -2**63, "maximum": 2**63 - 1})["example"]
    1
    """
    declared = schema.get("type") if isinstance(schema, Mapping) else None
    types = declared if isinstance(declared, list) else [declared]  # 3.1: ["integer", "null"]
    if not isinstance(schema, Mapping) or not {"integer", "number"} & set(types) or (
            "example" in schema or "default" in schema or "enum" in schema):
        return copy.deepcopy(schema)
    bounds = [schema.get(key) for key in ("minimum", "maximum", "exclusiveMinimum",
                                          "exclusiveMaximum")]
    if not any(isinstance(b, int | float) and not isinstance(b, bool) and abs(b) > JS_SAFE_INTEGER
               for b in bounds):
        return copy.deepcopy(schema)
    low, high = schema.get("minimum"), schema.get("maximum")
    for candidate in (1, 0, low, high, -JS_SAFE_INTEGER, JS_SAFE_INTEGER):
        if (isinstance(candidate, int) and abs(candidate) <= JS_SAFE_INTEGER
                and _within(candidate, schema)):
            return {**copy.deepcopy(schema), "example": candidate}
    return copy.deepcopy(schema)


def _within(value: int, schema: Mapping[str, Any]) -> bool:
    """Whether `value` satisfies the schema's bounds (3.0's boolean exclusives and 3.1's numbers)."""
    low, high = schema.get("minimum"), schema.get("maximum")
    low_out, high_out = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and (value < low or (low_out is True and value == low)):
        return False
    if high is not None and (value > high or (high_out is True and value == high)):
        return False
    if isinstance(low_out, int | float) and not isinstance(low_out, bool) and value <= low_out:
        return False
    return not (isinstance(high_out, int | float) and not isinstance(high_out, bool)
                and value >= high_out)


def value_schema(prop: Property, version: str, *, nullable: bool = False) -> Schema:
    """What one value of a property is, as stored: type, format and enum, nothing else.

    A generated `number` id is an integer key (its kind says so), and its value says so too.

    >>> from server.data.entities import Property
    >>> value_schema(Property("due", "due", "datetime", {"type": "string",
    ...     "format": "date-time", "description": "when"}), "3.0", nullable=True)
    {'type': 'string', 'format': 'date-time', 'nullable': True}
    """
    out: Schema = {"type": _TYPES[prop.kind]}
    declared = prop.schema.get("format")
    kept = _KEPT_FORMATS.get(prop.kind, set())
    format_ = _FORMATS.get(prop.kind) or (
        declared if isinstance(declared, str) and (kept is None or declared in kept) else None)
    if format_:
        out["format"] = format_
    if prop.kind == "enum":
        out["enum"] = [value for value in prop.schema["enum"] if value is not None]
    return _or_null(out, version) if nullable else out


def _or_null(schema: Schema, version: str) -> Schema:
    out = dict(schema)
    if version == "3.0":
        out["nullable"] = True
    else:
        out["type"] = [out["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _declared(entity: Entity, document: Mapping[str, Any]) -> Mapping[str, Any]:
    schema = ((document.get("components") or {}).get("schemas") or {}).get(entity.name)
    return schema if isinstance(schema, Mapping) else {}


def _raw_properties(entity: Entity, document: Mapping[str, Any]) -> dict[str, Any]:
    """The property schemas as the user wrote them (`$ref`s kept), in schema order."""
    raw = _declared(entity, document).get("properties") or {}
    return {name: raw[name] for name in entity.properties if name in raw}


def _object(title: str, properties: dict[str, Any], required: list[str] | None = None) -> Schema:
    out: Schema = {"title": title, "type": "object", "properties": properties}
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


def _with_relations(entity: Entity, document: Mapping[str, Any]) -> Schema:
    raw = _raw_properties(entity, document)
    properties = {p: js_safe(raw[p]) for p in entity.visible if p in raw}
    for relation in entity.relations.values():
        target = ref(f"{relation.target}WithRelations")
        properties[relation.name] = {"type": "array", "items": target} if relation.many else target
    return _object(f"{entity.name}WithRelations", properties)


def _where(entity: Entity, version: str) -> Schema:
    """Each visible property's condition, and `and`/`or` of whole conditions."""
    properties: dict[str, Any] = {}
    for name in entity.visible:
        prop = entity.properties[name]
        properties[name] = _condition(prop, version, plain_null=not prop.required
                                      and name != entity.id)
    for combinator in ("and", "or"):
        properties[combinator] = {"type": "array", "items": ref(f"{entity.name}.Where")}
    return {"title": f"{entity.name}.Where", "type": "object", "properties": properties,
            "additionalProperties": False}


def _condition(prop: Property, version: str, *, plain_null: bool) -> Schema:
    """`value`, or `{operator: operand}`: a value branch first, so a deepObject string such as
    `filter[where][id]=1` coerces to the value and `filter[where][id][gt]=2` to the operators."""
    if prop.kind == "json":
        return _operators({"exists": {"type": "boolean"}})

    def value(nullable: bool = False) -> Schema:  # a fresh copy each use: no YAML aliases
        schema = value_schema(prop, version, nullable=nullable)
        return schema | {"pattern": TEXT_PATTERN} if prop.kind == "string" else schema

    operators: dict[str, Any] = {"eq": value(True), "neq": value(True)}
    if prop.kind in ORDERED_KINDS:
        operators |= {op: value() for op in ("gt", "gte", "lt", "lte")}
    operators |= {"inq": {"type": "array", "items": value()},
                  "nin": {"type": "array", "items": value()}}
    if prop.kind in ORDERED_KINDS:
        operators["between"] = {"type": "array", "items": value(), "minItems": 2, "maxItems": 2}
    operators["exists"] = {"type": "boolean"}
    if prop.kind in STRING_KINDS:
        operators |= {op: {"type": "string", "pattern": TEXT_PATTERN} for op in _MATCHING}
        operators["regexp"]["format"] = "regex"
    return {"anyOf": [value(plain_null), _operators(operators)]}


def _operators(operators: dict[str, Any]) -> Schema:
    return {"type": "object", "properties": operators, "additionalProperties": False,
            "minProperties": 1}


def _fields(entity: Entity) -> Schema:
    names = list(entity.visible)
    return {"title": f"{entity.name}.Fields", "anyOf": [
        {"type": "object", "properties": {p: {"type": "boolean"} for p in names},
         "additionalProperties": False},
        {"type": "array", "items": {"type": "string", "enum": names}, "uniqueItems": True},
    ]}


def _order_key(entity: Entity) -> Schema:
    sortable = [p for p in entity.visible if entity.properties[p].kind != "json"]
    keys = [key for p in sortable for key in (p, f"{p} ASC", f"{p} DESC")]
    return {"title": f"{entity.name}.OrderKey", "type": "string", "enum": keys}


def _filter(entity: Entity, *, with_where: bool) -> Schema:
    name = entity.name
    properties: dict[str, Any] = {
        "offset": {"type": "integer", "format": "int64", "minimum": 0},
        "limit": {"type": "integer", "format": "int64", "minimum": 1, "example": 100,
                  "description": LIMIT_DESCRIPTION},
        "skip": {"type": "integer", "format": "int64", "minimum": 0},
        "order": ref(f"{name}.Order"),
    }
    if with_where:
        properties["where"] = ref(f"{name}.Where")
    properties["fields"] = ref(f"{name}.Fields")
    if entity.relations:
        properties["include"] = {"type": "array", "items": ref(f"{name}.IncludeItem"),
                                 "description": INCLUDE_DESCRIPTION}
    # Each named schema has a title of its own: generators name their models after titles, and
    # openapi-python-client drops the second of two schemas that share one.
    title = f"{name}.Filter" if with_where else f"{name}.Filter1"
    return {"title": title, "type": "object", "properties": properties,
            "additionalProperties": False}


def _include_item(entity: Entity) -> Schema:
    """A relation's name, or `{relation, scope}` whose scope is that relation's target's filter:
    one object branch per target, so that each scope is checked against the right entity."""
    by_target: dict[str, list[str]] = {}
    for relation in entity.relations.values():
        by_target.setdefault(relation.target, []).append(relation.name)
    branches: list[Schema] = [{"type": "string", "enum": list(entity.relations)}]
    for target, names in by_target.items():
        branches.append({
            "type": "object",
            "required": ["relation"],
            "properties": {"relation": {"type": "string", "enum": names},
                           "scope": ref(f"{target}.Filter")},
            "additionalProperties": False,
        })
    return {"title": f"{entity.name}.IncludeItem", "anyOf": branches}
