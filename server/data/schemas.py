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

Hidden properties are accepted in request bodies and never appear in what responses or filters
can name. Responses name nothing as required: a `fields` projection may drop anything.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from server.data.entities import ORDERED_KINDS, Entity, Property, Relation
from server.refs import escape
from server.types import Schema

COUNT = "loopback.Count"
STRING_KINDS = frozenset({"string", "enum", "uuid"})
"""Kinds that `like`, `ilike` and `regexp` apply to."""

_TYPES = {"string": "string", "enum": "string", "uuid": "string", "date": "string",
          "datetime": "string", "int32": "integer", "int64": "integer", "number": "number",
          "boolean": "boolean"}
_FORMATS = {"date": "date", "datetime": "date-time", "uuid": "uuid", "int32": "int32"}
_KEPT_FORMATS: dict[str, set[str] | None] = {"string": None, "int64": {"int64"},
                                              "number": {"float", "double"}}
"""The user's own formats a value keeps, per kind (None: any)."""
TEXT_PATTERN = "^[^\\u0000]*$"
"""Text a filter may compare: no NUL character, which PostgreSQL cannot hold (on every database
alike, so that one filter means the same everywhere)."""

_MATCHING = ("like", "nlike", "ilike", "nilike", "regexp")


def ref(name: str) -> Schema:
    """`ref("Todo.Where")` is `{"$ref": "#/components/schemas/Todo.Where"}`."""
    return {"$ref": f"#/components/schemas/{escape(name)}"}


def count_schema() -> Schema:
    """LoopBack's `CountSchema`, the answer of count, updateAll and relation PATCH/DELETE."""
    return {"title": COUNT, "type": "object", "properties": {"count": {"type": "number"}}}


def entity_schemas(entity: Entity, document: Mapping[str, Any], version: str) -> dict[str, Schema]:
    """Every named variant of one entity's schema, for a document of OpenAPI `version`.

    >>> from server.data.entities import read_entities
    >>> doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...     "required": ["text"],
    ...     "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}}}
    >>> entities, _ = read_entities(doc)
    >>> schemas = entity_schemas(entities["Note"], doc, "3.1")
    >>> schemas["NewNote"]["properties"], schemas["Note.OrderKey"]["enum"][:3]
    ({'text': {'type': 'string'}}, ['id', 'id ASC', 'id DESC'])
    """
    name = entity.name
    raw = _raw_properties(entity, document)
    dropped = {entity.id} if entity.generated else set()
    schemas = {
        f"New{name}": new_schema(entity, document, f"New{name}", dropped),
        f"{name}Partial": _object(f"{name}Partial", {p: copy.deepcopy(raw[p]) for p in raw}),
        f"{name}WithRelations": _with_relations(entity, raw),
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


def new_in_source_schema(relation: Relation, target: Entity, document: Mapping[str, Any]
                         ) -> Schema:
    """The body of a relation's create: the target without its generated id, and for hasMany
    and hasOne without the key that the path's `{id}` sets (`NewTodoInTodoList`)."""
    dropped = {target.id} if target.generated else set()
    if relation.kind in ("hasMany", "hasOne"):
        dropped.add(relation.key_to)
    return new_schema(target, document, f"New{target.name}In{relation.source}", dropped)


def new_schema(entity: Entity, document: Mapping[str, Any], title: str, dropped: set[str]
               ) -> Schema:
    """The entity's own properties and `required`, less `dropped`; nothing else accepted."""
    raw = _raw_properties(entity, document)
    properties = {p: copy.deepcopy(schema) for p, schema in raw.items() if p not in dropped}
    declared = _declared(entity, document).get("required") or []
    required = [p for p in declared if p in properties]
    return _object(title, properties, required)


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


def _with_relations(entity: Entity, raw: Mapping[str, Any]) -> Schema:
    properties = {p: copy.deepcopy(raw[p]) for p in entity.visible if p in raw}
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
        "offset": {"type": "integer", "minimum": 0},
        "limit": {"type": "integer", "minimum": 1, "example": 100},
        "skip": {"type": "integer", "minimum": 0},
        "order": ref(f"{name}.Order"),
    }
    if with_where:
        properties["where"] = ref(f"{name}.Where")
    properties["fields"] = ref(f"{name}.Fields")
    if entity.relations:
        properties["include"] = {"type": "array", "items": ref(f"{name}.IncludeItem")}
    return {"title": f"{name}.Filter", "type": "object", "properties": properties,
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
