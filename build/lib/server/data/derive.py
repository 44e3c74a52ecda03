"""Derivation: the schemas and operations a spec's entities imply, added to a copy of the spec.

This is LoopBack 4's `@loopback/rest-crud` and `lb4 relation`, spec-first. For each entity
marked `x-crud: {path: /todos}` (here `Todo`, with `TodoList` hasMany `todos`):

| method | path | operationId |
| --- | --- | --- |
| POST | /todos | TodoController.create |
| GET | /todos | TodoController.find |
| PATCH | /todos | TodoController.updateAll |
| GET | /todos/count | TodoController.count |
| GET | /todos/{id} | TodoController.findById |
| PATCH | /todos/{id} | TodoController.updateById |
| PUT | /todos/{id} | TodoController.replaceById |
| DELETE | /todos/{id} | TodoController.deleteById |
| GET, POST, PATCH, DELETE | /todo-lists/{id}/todos | TodoListTodoController.find, create, patch, delete |
| GET | /todos/{id}/todo-list | TodoTodoListController.getTodoList (belongsTo) |
| GET, POST | /todo-lists/{id}/todo-list-image | TodoListTodoListImageController.get, create (hasOne) |

`readonly: true` keeps find, findById and count (and the relations' GETs). Each operation is
marked `x-charter-derived: {entity, action[, relation]}`, which the runtime binds to a built-in
action unless a handler answers its operationId. What the user wrote wins: a schema name or a
(path, method) already in the document is kept as written, with one addition: an entity's own
schema (PUT's body) says what its table keeps, as the derived bodies do (`schemas.py`). Error
responses the server gives (400, 409, 503...) are added when the spec is published
(`publish.py`), as for any operation.

Responses that hold an item link to the operations on that item (OpenAPI `links`): `POST /todos`
to `GET/PATCH/PUT/DELETE /todos/{id}` (with its ETag as `If-Match`) and to `/todos/{id}/...`
(but for a relation's DELETE, which empties a collection); a relation's create to its target's
item. Clients, and schemathesis's stateful phase, follow the relationships the server has rather
than guessing them from paths.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from server.data.entities import Entity, Relation, plural
from server.data.schemas import (
    COUNT,
    JSON_VALUE,
    count_schema,
    entity_schemas,
    js_safe,
    json_value_schema,
    new_in_source_schema,
    ref,
    stored_properties,
    value_schema,
)
from server.data.tables import text_limits
from server.publish import MORE_ERRORS
from server.refs import escape
from server.spec import HTTP_METHODS
from server.types import Schema

DERIVED = "x-charter-derived"
"""Marks an operation derived here; its value says which built-in action serves it."""
_WRITES = frozenset({"post", "put", "patch", "delete"})

_TEMPLATE = re.compile(r"\{[^{}]*\}")
_ETAG = "ETag"
_ETAG_TAG = r'(?:W/)?"[\x21\x23-\x7E\x80-\xFF]*"'
IF_MATCH_PATTERN = rf"^(?:\*|{_ETAG_TAG}(?:[ \t]*,[ \t]*{_ETAG_TAG})*)$"
"""RFC 9110's If-Match: `*`, or a comma-separated list of (strong or weak) entity tags. An empty
value, which can match nothing, is refused (400) rather than answered 412."""
_GUARDED = ("updateById", "replaceById", "deleteById")


@dataclass(frozen=True)
class _Route:
    path: str
    method: str
    operation: dict[str, Any]


def derive(document: Mapping[str, Any], entities: Mapping[str, Entity]) -> dict[str, Any]:
    """A new document: `document` plus the schemas, responses and operations `entities` imply.

    >>> from server.data.entities import read_entities
    >>> doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
    ...        "components": {"schemas": {"Note": {"type": "object", "x-entity": {},
    ...            "x-crud": {"path": "/notes", "readonly": True},
    ...            "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}}}
    >>> derived = derive(doc, read_entities(doc)[0])
    >>> [(m.upper(), p, op["operationId"]) for p, item in derived["paths"].items()
    ...  for m, op in item.items()]   # doctest: +NORMALIZE_WHITESPACE
    [('GET', '/notes', 'NoteController.find'), ('GET', '/notes/count', 'NoteController.count'),
     ('GET', '/notes/{id}', 'NoteController.findById')]
    >>> doc["paths"], "NewNote" in derived["components"]["schemas"]
    ({}, True)
    """
    derived = copy.deepcopy(dict(document))
    version = "3.1" if str(document.get("openapi", "")).startswith("3.1") else "3.0"
    components = derived["components"] = derived.get("components") or {}
    schemas = components["schemas"] = components.get("schemas") or {}
    responses = components.get("responses") or {}
    limits = text_limits(entities)
    for entity in entities.values():
        variants = entity_schemas(entity, document, version, limits[entity.name])
        for name, schema in variants.items():
            schemas.setdefault(name, schema)
        _add_storage_rules(schemas.get(entity.name), entity, document, limits[entity.name])
    schemas.setdefault(COUNT, count_schema())
    if any(prop.kind == "json" for entity in entities.values()
           for prop in entity.properties.values()):
        schemas.setdefault(JSON_VALUE, json_value_schema())
    routes = [route for entity in entities.values() if entity.crud is not None
              for route in _routes(entity, entities, document, version, schemas, limits)]
    paths = derived["paths"] = derived.get("paths") or {}
    added = _add_routes(paths, routes)
    _add_links(added, entities)
    for entity in entities.values():
        name = f"{entity.name}.NotFound"
        if any(_refers_to(route.operation, name) for route in added):
            # Without content: the server's error body, in its configured format, is added
            # when the spec is published.
            responses.setdefault(name, {"description": f"No {entity.name} has this id "
                                                      f"(code ENTITY_NOT_FOUND)"})
    if responses:
        components["responses"] = responses
    _add_tags(derived, added)
    return derived


def _add_storage_rules(schema: Any, entity: Entity, document: Mapping[str, Any],
                       limits: Mapping[str, int]) -> None:
    """The entity's own schema (in the derived copy) with what its columns keep, as the derived
    bodies have it: it is PUT's body, and should not accept what the table refuses. Nor does
    the table keep a property the schema does not name: where the schema says nothing of
    others, it says `additionalProperties: false` (LoopBack's strict models)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return
    if not {"additionalProperties", "unevaluatedProperties", "patternProperties"} & set(schema):
        schema["additionalProperties"] = False
    stored = stored_properties(entity, document, limits)
    schema["properties"] = {name: stored.get(name, prop)
                            for name, prop in schema["properties"].items()}


def _routes(entity: Entity, entities: Mapping[str, Entity], document: Mapping[str, Any],
            version: str, schemas: dict[str, Any], limits: Mapping[str, Mapping[str, int]]
            ) -> Iterator[_Route]:
    yield from _crud_routes(entity, version)
    targets = [relation.target for relation in entity.relations.values()]
    for relation in entity.relations.values():
        # Two relations to one target would share `<Source><Target>Controller`'s operationIds.
        middle = relation.target if targets.count(relation.target) == 1 else _upper_first(
            relation.name)
        controller = f"{entity.name}{middle}Controller"
        yield from _relation_routes(entity, relation, entities, controller, document, version,
                                    schemas, limits[relation.target])


def _crud_routes(entity: Entity, version: str) -> Iterator[_Route]:
    """LoopBack's CrudRestController: eight operations, three when read-only."""
    assert entity.crud is not None
    name, path = entity.name, entity.crud.path
    item = f"{path}/{{id}}"
    writable = not entity.crud.readonly
    controller = f"{name}Controller"

    def operation(action: str, **parts: Any) -> dict[str, Any]:
        assert entity.crud is not None
        return _operation(controller, action, {"entity": name, "action": action},
                          summary=summaries[action], security=entity.crud.security_of(action),
                          **parts)

    many = plural(name)
    summaries = {"create": f"Create a {name}", "find": f"Find {many}",
                 "updateAll": f"Update every {name} that matches `where`",
                 "count": f"Count the {many} that match `where`",
                 "findById": f"Find a {name} by id",
                 "updateById": f"Update some properties of a {name} by id",
                 "replaceById": f"Replace a {name} by id", "deleteById": f"Delete a {name} by id"}

    id_ = _id_parameter(entity, version)
    found = {"404": _not_found(name)}
    if writable:
        yield _Route(path, "post", operation(
            "create", body=f"New{name}",
            responses={"200": _entity_response(f"{name} model instance", name)}))
    yield _Route(path, "get", operation(
        "find", parameters=[_content_parameter("filter", f"{name}.Filter")],
        responses={"200": _list_response(f"Array of {name} model instances", name)}))
    if writable:
        yield _Route(path, "patch", operation(
            "updateAll", parameters=[_content_parameter("where", f"{name}.Where")],
            body=f"{name}Partial", responses={"200": _count_response(f"{name} PATCH success count")}))
    yield _Route(f"{path}/count", "get", operation(
        "count", parameters=[_content_parameter("where", f"{name}.Where")],
        responses={"200": _count_response(f"{name} model count")}))
    yield _Route(item, "get", operation(
        "findById", parameters=[id_, _content_parameter("filter", f"{name}.Filter1")],
        responses={"200": _entity_response(f"{name} model instance", name), **found}))
    if not writable:
        return
    guarded = {**found, "412": {"description": f"The {name} changed since the ETag sent in "
                                               f"If-Match"}}
    for method, action, body, word in (("patch", "updateById", f"{name}Partial", "PATCH"),
                                       ("put", "replaceById", name, "PUT"),
                                       ("delete", "deleteById", None, "DELETE")):
        yield _Route(item, method, operation(
            action, parameters=[_id_parameter(entity, version), _if_match(name)], body=body,
            responses={"204": _no_content(f"{name} {word} success"), **copy.deepcopy(guarded)}))


def _relation_routes(source: Entity, relation: Relation, entities: Mapping[str, Entity],
                     controller: str, document: Mapping[str, Any], version: str,
                     schemas: dict[str, Any], limits: Mapping[str, int]) -> Iterator[_Route]:
    """`lb4 relation`'s controller for one relation, under `{crud path}/{id}/{relation path}`."""
    assert source.crud is not None
    target = entities[relation.target]
    path = f"{source.crud.path}/{{id}}/{relation.path}"
    writable = not source.crud.readonly and not (target.crud and target.crud.readonly)
    to = target.name

    def operation(action: str, summary: str, **parts: Any) -> dict[str, Any]:
        assert source.crud is not None
        marker = {"entity": source.name, "action": action, "relation": relation.name}
        parts["parameters"] = [_id_parameter(source, version), *parts.get("parameters", ())]
        return _operation(controller, action, marker, summary=summary,
                          security=source.crud.security_of(), **parts)

    owned = f"a {source.name}'s {relation.name}"  # "a TodoList's todos"

    new = f"New{to}In{source.name}"
    if writable and relation.kind != "belongsTo" and new not in _schema_names(document):
        body = new_in_source_schema(relation, target, document, limits)
        if schemas.setdefault(new, body) != body:  # another relation's, to the same target
            new = f"New{to}In{source.name}{_upper_first(relation.name)}"
            schemas.setdefault(new, {**body, "title": new})
    created = {"200": _entity_response(f"{to} model instance", to)}
    if relation.kind == "belongsTo":
        yield _Route(path, "get", operation(
            f"get{to}", f"Get {owned}",
            responses={"200": _entity_response(f"{to} belonging to {source.name}", to),
                       "404": _not_found(to)}))
    elif relation.kind == "hasOne":
        yield _Route(path, "get", operation(
            "get", f"Get {owned}", parameters=[_content_parameter("filter", f"{to}.Filter1")],
            responses={"200": _entity_response(f"{source.name} has one {to}", to),
                       "404": _not_found(to)}))
        if writable:
            yield _Route(path, "post", operation(
                "create", f"Create {owned}", body=new, responses=created))
    else:
        yield _Route(path, "get", operation(
            "find", f"Find {owned}", parameters=[_content_parameter("filter", f"{to}.Filter")],
            responses={"200": _list_response(f"Array of {source.name} has many {to}", to)}))
        if not writable:
            return
        where = [_content_parameter("where", f"{to}.Where")]
        yield _Route(path, "post", operation(
            "create", f"Create one of {owned}", body=new, responses=created))
        yield _Route(path, "patch", operation(
            "patch", f"Update {owned} that match `where`", parameters=where, body=f"{to}Partial",
            responses={"200": _count_response(f"{source.name}.{to} PATCH success count")}))
        yield _Route(path, "delete", operation(
            "delete", f"Delete {owned} that match `where`", parameters=copy.deepcopy(where),
            responses={"200": _count_response(f"{source.name}.{to} DELETE success count")}))


def _operation(controller: str, action: str, marker: dict[str, Any], *, summary: str,
               parameters: list[dict[str, Any]] | None = None, body: str | None = None,
               responses: dict[str, Any], security: list[Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [controller],
        "summary": summary,
        "operationId": f"{controller}.{action}",
        "x-controller-name": controller,
        "x-operation-name": action,
        DERIVED: marker,
    }
    if security is not None:
        operation["security"] = copy.deepcopy(security)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": ref(body)}}}
    operation["responses"] = responses
    return operation


def _id_parameter(entity: Entity, version: str) -> dict[str, Any]:
    """The id as the user declared it: LoopBack's `@param.path.number('id')` takes `1.5` (a 404)."""
    declared = {key: value for key, value in entity.id_property.schema.items()
                if key in ("type", "format", "enum", "pattern", "minimum", "maximum")}
    return {"name": "id", "in": "path", "required": True,
            "schema": js_safe(declared) if declared else value_schema(entity.id_property, version)}


def _content_parameter(name: str, schema: str) -> dict[str, Any]:
    """LoopBack's `@param.filter(Todo)` and `@param.where(Todo)`: JSON in the query (the server
    also reads the deepObject form, `filter[where][id]=1`)."""
    # The example is what the explorer's "Try it out" sends unless edited: a request that works.
    example: dict[str, Any] = {"limit": 10} if name == "filter" and not schema.endswith(
        "1") else {}
    return {"name": name, "in": "query",
            "content": {"application/json": {"schema": ref(schema), "example": example}}}


def _if_match(name: str) -> dict[str, Any]:
    return {"name": "If-Match", "in": "header", "required": False,
            "description": f"Change the {name} only if its ETag is still this one (or `*`)",
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN}}


def _etag() -> dict[str, Any]:
    return {_ETAG: {"description": "The entity's version, for If-Match",
                    "schema": {"type": "string"}}}


def _entity_response(description: str, entity: str) -> dict[str, Any]:
    return {"description": description, "headers": _etag(),
            "content": {"application/json": {"schema": ref(f"{entity}WithRelations")}}}


def _list_response(description: str, entity: str) -> dict[str, Any]:
    items: Schema = {"type": "array", "items": ref(f"{entity}WithRelations")}
    return {"description": description, "content": {"application/json": {"schema": items}}}


def _count_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(COUNT)}}}


def _no_content(description: str) -> dict[str, Any]:
    return {"description": description, "headers": _etag()}


def _not_found(entity: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/{entity}.NotFound"}


def _refers_to(operation: Mapping[str, Any], response: str) -> bool:
    target = f"#/components/responses/{response}"
    return any(isinstance(r, Mapping) and r.get("$ref") == target
               for r in (operation.get("responses") or {}).values())


def _add_routes(paths: dict[str, Any], routes: list[_Route]) -> list[_Route]:
    """Add each route whose (path, method) and operationId the document does not have yet.

    A path the user wrote with other parameter names (`/todos/{todoId}`) is the same path: its
    methods are the user's, and the derived ones it lacks are left out, since the built-in
    actions read the `id` parameter.
    """
    taken = {op.get("operationId") for item in paths.values() if isinstance(item, Mapping)
             for method in HTTP_METHODS if isinstance(op := item.get(method), Mapping)}
    shapes = {_TEMPLATE.sub("{}", path): path for path in paths}
    added: list[_Route] = []
    for route in routes:
        written = shapes.setdefault(_TEMPLATE.sub("{}", route.path), route.path)
        if written != route.path or route.operation["operationId"] in taken:
            continue
        item = paths.get(route.path)
        if item is None:
            item = paths[route.path] = {}
        if route.method in item:
            continue
        item[route.method] = route.operation
        route.operation[MORE_ERRORS] = _more_errors(route.method, route.operation)
        taken.add(route.operation["operationId"])
        added.append(route)
    return added


def _more_errors(method: str, operation: Mapping[str, Any]) -> list[int]:
    """What a derived operation answers besides the server's own errors: 503 when the database
    is unavailable, 409 when a write breaks a unique index or a reference, 412 when it takes
    `If-Match` and the entity changed."""
    errors = [503]
    if method in _WRITES:
        errors.append(409)
    if any(isinstance(p, Mapping) and p.get("in") == "header"
           and str(p.get("name", "")).lower() == "if-match"
           for p in operation.get("parameters") or ()):
        errors.append(412)
    return errors


def _add_links(added: list[_Route], entities: Mapping[str, Entity]) -> None:
    """Link each added response that holds an item to the added operations on that item.

    Only operations derived here are linked to: their `id` and `If-Match` parameters are known.
    """
    operations = {_key(route.operation[DERIVED]): route.operation["operationId"]
                  for route in added}
    for route in added:
        marker = route.operation[DERIVED]
        produced = _produced(marker, entities, route.method)
        if produced is None:
            continue
        item, id_expression = produced
        status = "204" if route.method in ("patch", "put") and not marker.get("relation") else "200"
        response = route.operation["responses"].get(status)
        links = _item_links(entities[item], id_expression, operations)
        if route.method == "get":  # reading again tells nothing new
            links.pop(route.operation["operationId"], None)
        if isinstance(response, dict) and links:
            response["links"] = links


def _key(marker: Mapping[str, Any]) -> tuple[str, str, str | None]:
    return marker["entity"], marker["action"], marker.get("relation")


def _produced(marker: Mapping[str, Any], entities: Mapping[str, Entity], method: str
              ) -> tuple[str, str] | None:
    """The entity whose item a response is about, and a link expression for its id."""
    entity = entities[marker["entity"]]
    relation_name = marker.get("relation")
    action = marker["action"]
    if relation_name is None:
        if action == "create":
            return entity.name, f"$response.body#/{escape(entity.id)}"
        if action in ("findById", "updateById", "replaceById"):
            return entity.name, "$request.path.id"
        return None
    relation = entity.relations[relation_name]
    one = method == "get" and not relation.many  # hasOne's and belongsTo's GET
    if action == "create" or one:
        target = entities[relation.target]
        return target.name, f"$response.body#/{escape(target.id)}"
    return None


def _item_links(entity: Entity, id_expression: str,
                operations: Mapping[tuple[str, str, str | None], str]) -> dict[str, Any]:
    """Links to the operations on one item: by id (writes with its ETag), and its relations'.

    Not to a relation's DELETE (`/todo-lists/{id}/todos`): it empties a collection that lives on,
    and a client following links reads a DELETE as the end of what its path names (so does
    schemathesis's use_after_free, which `--checks all` keeps on whatever the configuration).
    Nor to a hasOne's or belongsTo's GET (`/todo-lists/{id}/todo-list-image`): the item may have
    none, and a link promises that what it leads to is there (schemathesis's ST302 reads a 404
    after a create as a created resource not found).
    """
    links: dict[str, Any] = {}
    for (name, action, relation), operation_id in operations.items():
        if name != entity.name or (relation is None and action not in ("findById", *_GUARDED)):
            continue
        if relation is not None and (action == "delete" or (
                action.startswith("get") and not entity.relations[relation].many)):
            continue
        parameters: dict[str, str] = {"id": id_expression}
        if relation is None and action in _GUARDED:
            parameters["header.If-Match"] = f"$response.header.{_ETAG}"
        links[operation_id] = {"operationId": operation_id, "parameters": parameters}
    return links


def _add_tags(document: dict[str, Any], added: list[_Route]) -> None:
    """One tag per derived controller, as LoopBack lists its controllers, saying what it serves."""
    tags = document.get("tags") or []
    known = {tag.get("name") for tag in tags if isinstance(tag, Mapping)}
    for route in added:
        controller = route.operation["x-controller-name"]
        if controller not in known:
            known.add(controller)
            marker = route.operation[DERIVED]
            entity, relation = marker["entity"], marker.get("relation")
            served = (f"A {entity}'s {relation}" if relation
                      else f"Create, read, update and delete {plural(entity)}")
            tags.append({"name": controller, "description": served})
    if tags:
        document["tags"] = tags


def _schema_names(document: Mapping[str, Any]) -> Mapping[str, Any]:
    return (document.get("components") or {}).get("schemas") or {}


def _upper_first(name: str) -> str:
    return name[:1].upper() + name[1:]
