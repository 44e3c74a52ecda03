"""Entities: the schemas a spec marks with `x-entity`, read once into typed descriptions.

An entity is a schema in `components.schemas` with an `x-entity` extension:

    Todo:
      type: object
      x-entity:
        table: todo                 # default: the name in snake_case
        id: id                      # default: "id"
        generated: true             # default: true for an integer/number id, or a uuid string
        hidden: [secret]            # stored, written by clients, never sent
        owner: userId               # rows scoped to the request's principal (readOnly property)
                                    # or {property: userId, bypass: [admin]}
        indexes: [[title], {properties: [isComplete], unique: true, name: done}]
        unique: [[title]]           # shorthand for unique indexes
        relations:
          todoList: {belongsTo: TodoList, keyFrom: todoListId}
      x-crud:
        path: /todos
        readonly: false
        security: [{bearerAuth: []}]    # the derived operations' (default: the document's)
        operations: {deleteById: {security: [{bearerAuth: [admin]}]}}   # one operation's own
      properties: {...}

Everything else (the table, the schema variants, the CRUD operations) is derived from these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from server.dialect import NUMERIC_FORMATS
from server.refs import RefError, deref

ENTITY = "x-entity"
CRUD = "x-crud"
COLUMN = "x-column"
EXTENSIONS = frozenset({ENTITY, CRUD, COLUMN})
"""The extensions this layer reads: the published document leaves them out (`Publisher`)."""

Kind = Literal["string", "int32", "int64", "number", "boolean", "date", "datetime", "enum",
               "uuid", "json"]
RelationKind = Literal["hasMany", "belongsTo", "hasOne", "hasManyThrough"]
RELATION_KINDS: tuple[RelationKind, ...] = ("hasMany", "belongsTo", "hasOne", "hasManyThrough")

ORDERED_KINDS = frozenset({"string", "int32", "int64", "number", "date", "datetime", "enum",
                           "uuid"})
"""Kinds whose values compare with `gt`, `lt`, `between` and sort."""

_MISSING: Any = object()


Item = dict[str, Any]
"""One entity's data as the API speaks it: a JSON-ready dict keyed by property name."""

@dataclass(frozen=True)
class Property:
    """One property of an entity, and the column that stores it."""

    name: str
    column: str
    kind: Kind
    schema: Mapping[str, Any]
    required: bool = False
    max_length: int | None = None
    default: Any = _MISSING
    hidden: bool = False
    read_only: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True)
class Through:
    """The entity linking the two ends of a hasManyThrough, and its two keys."""

    entity: str
    key_from: str
    """Its property that refers to the source."""
    key_to: str
    """Its property that refers to the target."""


@dataclass(frozen=True)
class Relation:
    """A LoopBack relation, from `source` to `target`.

    For hasMany and hasOne, `key_to` is the target's property holding the source's `key_from`;
    for belongsTo, `key_from` is the source's property holding the target's `key_to`.
    """

    name: str
    kind: RelationKind
    source: str
    target: str
    key_from: str
    key_to: str
    path: str
    """The segment of its nested route: `/todo-lists/{id}/<path>`."""
    through: Through | None = None

    @property
    def many(self) -> bool:
        return self.kind in ("hasMany", "hasManyThrough")


@dataclass(frozen=True)
class Index:
    properties: tuple[str, ...]
    unique: bool
    name: str


CRUD_ACTIONS = ("create", "find", "updateAll", "count", "findById", "updateById", "replaceById",
                "deleteById")
"""The derived CRUD operations, as `x-crud.operations` names them."""


@dataclass(frozen=True)
class Crud:
    path: str
    readonly: bool = False
    security: list[Any] | None = field(default=None, compare=False)
    """The security requirements of the derived operations, relation routes included; None:
    the document's."""
    operations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    """Per derived operation (`CRUD_ACTIONS`), what it sets for itself: its `security`."""

    def security_of(self, action: str | None = None) -> list[Any] | None:
        """The security a derived operation declares: its own, else the x-crud's, else None."""
        own = self.operations.get(action, {}) if action else {}
        security: list[Any] | None = own.get("security", self.security)
        return security


@dataclass(frozen=True)
class Owner:
    """`x-entity.owner`: the property that holds the id of the principal a row belongs to, and
    the roles that see every row."""

    property: str
    bypass: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Entity:
    """An entity: a named schema stored as a table, with its relations and CRUD routes."""

    name: str
    table: str
    id: str
    generated: bool
    properties: Mapping[str, Property]
    indexes: tuple[Index, ...] = ()
    relations: Mapping[str, Relation] = field(default_factory=dict)
    crud: Crud | None = None
    owner: Owner | None = None

    @property
    def id_property(self) -> Property:
        return self.properties[self.id]

    @property
    def visible(self) -> tuple[str, ...]:
        """The properties a response may show, in schema order."""
        return tuple(name for name, prop in self.properties.items() if not prop.hidden)

    @property
    def singular_path(self) -> str:
        """`TodoListImage` -> `todo-list-image`."""
        return kebab_case(self.name)


def kebab_case(name: str) -> str:
    """`TodoList` -> `todo-list`; `HTMLPage` -> `html-page`."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


def snake_case(name: str) -> str:
    return kebab_case(name).replace("-", "_")


def lower_camel(name: str) -> str:
    """`TodoList` -> `todoList`, LoopBack's default key prefix."""
    return name[:1].lower() + name[1:]


def plural(word: str) -> str:
    """A plain English plural for route names: `todo` -> `todos`, `category` -> `categories`."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def declares_entities(document: Mapping[str, Any]) -> bool:
    """Whether any component schema of a bundled document carries `x-entity` or `x-crud`:
    whether the spec needs the data layer at all (`read_entities` reads them).

    >>> declares_entities({"components": {"schemas": {"Note": {"x-entity": {}}}}})
    True
    >>> declares_entities({"paths": {}})
    False
    """
    schemas = (document.get("components") or {}).get("schemas") or {}
    return any(isinstance(schema, dict) and (ENTITY in schema or CRUD in schema)
               for schema in schemas.values())


def read_entities(document: Mapping[str, Any]) -> tuple[dict[str, Entity], list[str]]:
    """Read every `x-entity` schema of a bundled document; returns `(entities, problems)`.

    >>> doc = {"components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...     "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}}}
    >>> entities, problems = read_entities(doc)
    >>> entities["Note"].table, entities["Note"].generated, problems
    ('note', True, [])
    """
    schemas = (document.get("components") or {}).get("schemas") or {}
    problems: list[str] = []
    entities: dict[str, Entity] = {}
    raw_relations: dict[str, Any] = {}
    for name, schema in schemas.items():
        if not isinstance(schema, dict) or ENTITY not in schema:
            if isinstance(schema, dict) and CRUD in schema:
                problems.append(f"{_where(name)}: x-crud needs x-entity on the same schema")
            continue
        entity, found = _read_entity(document, name, schema)
        problems += found
        if entity is not None:
            entities[name] = entity
            marking = schema.get(ENTITY)
            raw_relations[name] = (marking.get("relations") if isinstance(marking, dict)
                                   else None) or {}
    tables: dict[str, str] = {}
    for entity in entities.values():
        if entity.table in tables:
            problems.append(f"{_where(entity.name)}/x-entity/table: table {entity.table!r} is "
                            f"also {tables[entity.table]}'s")
        tables[entity.table] = entity.name
    for name, relations in raw_relations.items():
        built, found = _read_relations(name, relations, entities)
        problems += found
        entities[name] = replace(entities[name], relations=built)
    for entity in list(entities.values()):
        for relation in entity.relations.values():
            _align_keys(entities, relation)
    return entities, problems


def _where(name: str) -> str:
    return f"/components/schemas/{name}"


def _read_entity(
    document: Mapping[str, Any], name: str, schema: Mapping[str, Any]
) -> tuple[Entity | None, list[str]]:
    where = _where(name)
    marking = schema.get(ENTITY)
    if marking is None or marking is True:
        marking = {}
    if not isinstance(marking, dict):
        return None, [f"{where}/x-entity: must be an object (or true)"]
    unknown = set(marking) - {"table", "id", "generated", "hidden", "indexes", "unique",
                              "relations", "owner"}
    problems = [f"{where}/x-entity: unknown key {key!r}" for key in sorted(unknown)]
    raw_properties = schema.get("properties")
    if schema.get("type") not in ("object", None) or not isinstance(raw_properties, dict):
        return None, [*problems, f"{where}: an entity must be an object schema with properties"]
    required = set(schema.get("required") or [])
    hidden = marking.get("hidden") or []
    if not isinstance(hidden, list):
        problems.append(f"{where}/x-entity/hidden: must be a list of property names")
        hidden = []
    id_name = marking.get("id", "id")
    properties: dict[str, Property] = {}
    columns: dict[str, str] = {}
    for prop_name, raw in raw_properties.items():
        try:
            prop_schema = deref(document, raw)
        except RefError as exc:
            problems.append(f"{where}/properties/{prop_name}: {exc}")
            continue
        prop_schema = prop_schema if isinstance(prop_schema, dict) else {}
        prop = _read_property(prop_name, prop_schema, prop_name in required,
                              prop_name in hidden)
        if prop.column in columns:
            problems.append(f"{where}/properties/{prop_name}: column {prop.column!r} is also "
                            f"property {columns[prop.column]!r}'s")
        columns[prop.column] = prop_name
        properties[prop_name] = prop
        beyond = _beyond_int64(prop)
        if beyond is not None:
            problems.append(f"{where}/properties/{prop_name}: {beyond} is beyond the 64-bit "
                            f"integers a column keeps on every database; keep the declared range "
                            f"within [-2^63, 2^63-1], or the number in a string")
    for hidden_name in hidden:
        if hidden_name not in properties:
            problems.append(f"{where}/x-entity/hidden: no property {hidden_name!r}")
        elif properties[hidden_name].read_only:
            # Hidden is never sent, readOnly never accepted: the published request bodies
            # mark a hidden property writeOnly, which OpenAPI forbids beside readOnly.
            problems.append(f"{where}/properties/{hidden_name}: a hidden property is written "
                            f"by clients and never sent, so it cannot be readOnly")
    if id_name not in properties:
        return None, [*problems, f"{where}/x-entity/id: no property {id_name!r} to be the id"]
    id_prop = properties[id_name]
    if id_prop.kind == "json" or id_prop.hidden:
        problems.append(f"{where}/properties/{id_name}: an id must be a plain value, not hidden")
    default_generated = id_prop.kind in ("int32", "int64", "number", "uuid")
    generated = marking.get("generated", default_generated)
    if not isinstance(generated, bool):
        problems.append(f"{where}/x-entity/generated: must be true or false")
        generated = default_generated
    if generated and id_prop.kind not in ("int32", "int64", "number", "uuid"):
        problems.append(f"{where}/x-entity/generated: only integer, number and uuid ids can be "
                        f"generated; {id_name!r} is {id_prop.kind}")
        generated = False
    if generated and id_prop.kind == "number":
        id_prop = replace(id_prop, kind="int64")  # a generated number id is an integer key
    properties[id_name] = replace(id_prop, required=not generated)
    crud, found = _read_crud(where, schema.get(CRUD))
    problems += found
    table = marking.get("table", snake_case(name))
    if not isinstance(table, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
        problems.append(f"{where}/x-entity/table: {table!r} is not a plain SQL name")
        table = snake_case(name)
    indexes, found = _read_indexes(where, table, marking, properties)
    problems += found
    owner, found = _read_owner(where, marking.get("owner"), properties, id_name)
    problems += found
    return Entity(name=name, table=table, id=id_name, generated=generated,
                  properties=properties, indexes=indexes, crud=crud, owner=owner), problems


def _read_owner(where: str, marking: Any, properties: Mapping[str, Property],
                id_name: str) -> tuple[Owner | None, list[str]]:
    if marking is None:
        return None, []
    at = f"{where}/x-entity/owner"
    if isinstance(marking, str):
        marking = {"property": marking}
    if not (isinstance(marking, dict) and isinstance(marking.get("property"), str)
            and set(marking) <= {"property", "bypass"}):
        return None, [f"{at}: must name the owner's property, as `owner: userId` or "
                      "`{property: userId, bypass: [admin]}`"]
    bypass = marking.get("bypass") or []
    if not (isinstance(bypass, list) and all(isinstance(role, str) for role in bypass)):
        return None, [f"{at}/bypass: must be a list of roles"]
    name = marking["property"]
    prop = properties.get(name)
    if prop is None or name == id_name:
        return None, [f"{at}: no property {name!r} to hold the owner (the id cannot)"]
    if prop.kind not in ("string", "int32", "int64", "uuid"):
        return None, [f"{at}: {name!r} is {prop.kind}; an owner is a string, an integer or a "
                      "uuid, as principals' ids are"]
    if not prop.read_only or prop.required:
        return None, [f"{where}/properties/{name}: the owner is stamped by the server from the "
                      "request's principal, never sent by clients: declare it `readOnly: true`, "
                      "and not required"]
    return Owner(name, frozenset(bypass)), []


def _read_property(name: str, schema: Mapping[str, Any], required: bool, hidden: bool) -> Property:
    column = schema.get(COLUMN) or snake_case(name) or name
    types = schema.get("type")
    if isinstance(types, list):  # 3.1: ["string", "null"]
        non_null = [t for t in types if t != "null"]
        types = non_null[0] if len(non_null) == 1 else None
    fmt = schema.get("format")
    kind: Kind
    max_length = None
    if "enum" in schema and all(isinstance(v, str) or v is None for v in schema["enum"]):
        kind = "enum"
        max_length = max((len(v) for v in schema["enum"] if isinstance(v, str)), default=1)
    elif types == "string":
        formats: dict[str, Kind] = {"date": "date", "date-time": "datetime", "uuid": "uuid"}
        kind = formats.get(str(fmt), "string")
        max_length = schema.get("maxLength") if kind == "string" else None
    elif types == "integer":
        kind = "int32" if fmt == "int32" else "int64"
    elif types == "number":
        kind = "number"
    elif types == "boolean":
        kind = "boolean"
    else:
        kind = "json"
    return Property(name=name, column=str(column), kind=kind, schema=schema, required=required,
                    max_length=max_length if isinstance(max_length, int) else None,
                    default=schema.get("default", _MISSING), hidden=hidden,
                    read_only=bool(schema.get("readOnly")))


def _beyond_int64(prop: Property) -> int | float | None:
    """A bound or listed value of an integer property that lets in a value no BIGINT keeps.

    SQLite keeps larger integers only as rounded REALs, so the same rule holds everywhere.
    An explicit `format: int64` already confines the property, whatever its bounds say.
    """
    schema = prop.schema
    if prop.kind != "int64" or schema.get("format") == "int64":
        return None
    listed = [schema["const"]] if "const" in schema else schema.get("enum")
    reach = [(value, 0) for value in listed] if isinstance(listed, list) else []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        exclusive = key.startswith("exclusive") or schema.get(f"exclusive{key.title()}") is True
        reach.append((schema.get(key), 1 if exclusive else 0))
    low, high = NUMERIC_FORMATS["int64"]["minimum"], NUMERIC_FORMATS["int64"]["maximum"]
    for value, slack in reach:
        if isinstance(value, int | float) and not isinstance(value, bool) and not (
                low - slack <= value <= high + slack):
            return value
    return None


def _read_indexes(
    where: str, table: str, marking: Mapping[str, Any], properties: Mapping[str, Property]
) -> tuple[tuple[Index, ...], list[str]]:
    problems: list[str] = []
    indexes: list[Index] = []
    entries = [(e, False, f"indexes/{i}") for i, e in enumerate(marking.get("indexes") or [])]
    entries += [(e, True, f"unique/{i}") for i, e in enumerate(marking.get("unique") or [])]
    for entry, unique, at in entries:
        index_name = None
        if isinstance(entry, str):
            entry = [entry]
        if isinstance(entry, dict):
            unique = bool(entry.get("unique", unique))
            index_name = entry.get("name")
            entry = entry.get("properties")
        if not isinstance(entry, list) or not entry or not all(isinstance(p, str) for p in entry):
            problems.append(f"{where}/x-entity/{at}: an index is a list of property names")
            continue
        missing = [p for p in entry if p not in properties]
        if missing:
            problems.append(f"{where}/x-entity/{at}: no property {missing[0]!r}")
            continue
        columns = "_".join(properties[p].column for p in entry)
        index_name = str(index_name or f"{'uq' if unique else 'ix'}_{table}_{columns}")
        if any(index.name == index_name for index in indexes):
            problems.append(f"{where}/x-entity/{at}: index {index_name!r} is declared twice")
            continue
        indexes.append(Index(properties=tuple(entry), unique=unique, name=index_name))
    return tuple(indexes), problems


def _read_crud(where: str, marking: Any) -> tuple[Crud | None, list[str]]:
    if marking is None:
        return None, []
    if isinstance(marking, str):
        marking = {"path": marking}
    if not isinstance(marking, dict) or not isinstance(marking.get("path"), str):
        return None, [f"{where}/x-crud: needs a path, e.g. {{path: /todos}}"]
    path = marking["path"]
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", path):
        return None, [f"{where}/x-crud/path: {path!r} must be a plain path such as /todos"]
    readonly = marking.get("readonly", False)
    if not isinstance(readonly, bool):
        return None, [f"{where}/x-crud/readonly: must be true or false"]
    problems = [f"{where}/x-crud: has no {key!r} (it takes path, readonly, security, operations)"
                for key in marking if key not in ("path", "readonly", "security", "operations")]
    security = marking.get("security")
    if security is not None:
        problems += _security_problems(f"{where}/x-crud/security", security)
    operations = marking.get("operations") or {}
    if not isinstance(operations, dict):
        return None, [f"{where}/x-crud/operations: must map operations "
                      f"({', '.join(CRUD_ACTIONS)}) to what they set"]
    for action, settings in operations.items():
        at = f"{where}/x-crud/operations/{action}"
        if action not in CRUD_ACTIONS:
            problems.append(f"{at}: no such derived operation (they are "
                            f"{', '.join(CRUD_ACTIONS)})")
        elif not isinstance(settings, dict) or set(settings) - {"security"}:
            problems.append(f"{at}: an operation sets only its `security`")
        elif "security" in settings:
            problems += _security_problems(f"{at}/security", settings["security"])
    if problems:
        return None, problems
    return Crud(path=path, readonly=readonly, security=security, operations=operations), []


def _security_problems(where: str, security: Any) -> list[str]:
    """An OpenAPI `security` value: a list of requirements, each mapping scheme names to lists
    of scopes."""
    if isinstance(security, list) and all(
            isinstance(requirement, dict) and all(
                isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)
                for scopes in requirement.values())
            for requirement in security):
        return []
    return [f"{where}: must be a list of security requirements, such as [{{bearerAuth: []}}]"]


def _read_relations(
    name: str, raw: Any, entities: Mapping[str, Entity]
) -> tuple[dict[str, Relation], list[str]]:
    where = f"{_where(name)}/x-entity/relations"
    if not isinstance(raw, dict):
        return {}, [f"{where}: must map relation names to {{hasMany: Target, ...}}"]
    source = entities[name]
    relations: dict[str, Relation] = {}
    problems: list[str] = []
    for rel_name, spec in raw.items():
        at = f"{where}/{rel_name}"
        kinds = [k for k in RELATION_KINDS if isinstance(spec, dict) and k in spec]
        if len(kinds) != 1:
            problems.append(f"{at}: name exactly one of {', '.join(RELATION_KINDS)}")
            continue
        kind = kinds[0]
        target_name = spec[kind]
        target = entities.get(target_name) if isinstance(target_name, str) else None
        if target is None:
            problems.append(f"{at}/{kind}: {target_name!r} is not an entity")
            continue
        if rel_name in source.properties:
            problems.append(f"{at}: {rel_name!r} is also a property of {name}")
            continue
        through = None
        if kind == "belongsTo":
            key_from = spec.get("keyFrom", f"{rel_name}Id")
            key_to = spec.get("keyTo", target.id)
            path = spec.get("path", target.singular_path)
            checks = [(source, key_from, "keyFrom"), (target, key_to, "keyTo")]
        else:
            key_from = spec.get("keyFrom", source.id)
            key_to = spec.get("keyTo", f"{lower_camel(name)}Id")
            default_path = plural(target.singular_path) if kind != "hasOne" else (
                target.singular_path)
            path = spec.get("path", default_path)
            checks = [(source, key_from, "keyFrom")]
            if kind == "hasManyThrough":
                raw_through = spec.get("through")
                through_entity = (entities.get(str(raw_through.get("entity")))
                                  if isinstance(raw_through, dict) else None)
                if through_entity is None:
                    problems.append(f"{at}/through: needs {{entity: <an entity>}}")
                    continue
                through = Through(
                    entity=through_entity.name,
                    key_from=raw_through.get("keyFrom", f"{lower_camel(name)}Id"),
                    key_to=raw_through.get("keyTo", f"{lower_camel(target.name)}Id"),
                )
                key_to = target.id
                checks += [(target, key_to, "keyTo"),
                           (through_entity, through.key_from, "through/keyFrom"),
                           (through_entity, through.key_to, "through/keyTo")]
            else:
                checks.append((target, key_to, "keyTo"))
        bad = [f"{at}/{label}: {owner.name} has no property {key!r}"
               for owner, key, label in checks if key not in owner.properties]
        if not isinstance(path, str) or not re.fullmatch(r"[A-Za-z0-9._~-]+", path):
            bad.append(f"{at}/path: {path!r} must be one plain path segment")
        if bad:
            problems += bad
            continue
        relations[rel_name] = Relation(name=rel_name, kind=kind, source=name, target=target.name,
                                       key_from=key_from, key_to=key_to, path=path,
                                       through=through)
    return relations, problems


def _align_keys(entities: dict[str, Entity], relation: Relation) -> None:
    """A foreign key stores what it refers to: LoopBack's `todoListId: number` holds an integer id."""
    for owner, key, referred, referred_key in foreign_keys(relation):
        prop = entities[owner].properties[key]
        kind = entities[referred].properties[referred_key].kind
        if prop.kind == "number" and kind in ("int32", "int64"):
            properties = {**entities[owner].properties, key: replace(prop, kind=kind)}
            entities[owner] = replace(entities[owner], properties=properties)


def foreign_keys(relation: Relation) -> list[tuple[str, str, str, str]]:
    """`(entity, property, referred entity, referred property)` for each key the relation implies."""
    if relation.kind == "belongsTo":
        return [(relation.source, relation.key_from, relation.target, relation.key_to)]
    if relation.through is not None:
        return [(relation.through.entity, relation.through.key_from, relation.source,
                 relation.key_from),
                (relation.through.entity, relation.through.key_to, relation.target,
                 relation.key_to)]
    return [(relation.target, relation.key_to, relation.source, relation.key_from)]
