"""Derivation: the schemas and LoopBack operations that x-entity and x-crud imply."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from server.data.derive import IF_MATCH_PATTERN, derive
from server.data.entities import read_entities
from server.data.schemas import INCLUDE_DESCRIPTION, LIMIT_DESCRIPTION
from server.errors import InvalidParameterValue
from server.parameters import RequestParts, compile_parameters
from server.publish import Publisher
from server.spec import Spec
from server.validation import SchemaValidators

# TodoList hasMany Todo and hasOne TodoListImage; Todo belongsTo TodoList and hasManyThrough Tag
# (through TodoTag). TodoListImage and TodoTag have no routes of their own.
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "todo-list", "version": "1.0.0"},
    "paths": {},
    "components": {"schemas": {
        "TodoList": {
            "type": "object",
            "x-entity": {"relations": {"todos": {"hasMany": "Todo"},
                                       "image": {"hasOne": "TodoListImage"}}},
            "x-crud": {"path": "/todo-lists"},
            "properties": {"id": {"type": "number"}, "title": {"type": "string"},
                           "color": {"type": "string"}},
            "required": ["title"],
        },
        "Todo": {
            "type": "object",
            "x-entity": {"hidden": ["secret"], "relations": {
                "todoList": {"belongsTo": "TodoList"},
                "tags": {"hasManyThrough": "Tag", "through": {"entity": "TodoTag"}}}},
            "x-crud": {"path": "/todos"},
            "properties": {
                "id": {"type": "number"},
                "title": {"type": "string", "maxLength": 80},
                "isComplete": {"type": "boolean"},
                "dueAt": {"type": "string", "format": "date-time"},
                "priority": {"$ref": "#/components/schemas/Priority"},
                "tag": {},
                "secret": {"type": "string"},
                "todoListId": {"type": "number"},
            },
            "required": ["title"],
            "additionalProperties": False,
        },
        "Priority": {"type": "string", "enum": ["low", "high"]},
        "TodoListImage": {
            "type": "object",
            "x-entity": {"relations": {"todoList": {"belongsTo": "TodoList"}}},
            "properties": {"id": {"type": "integer"}, "value": {"type": "string"},
                           "todoListId": {"type": "integer"}},
            "required": ["value"],
        },
        "Tag": {
            "type": "object",
            "x-entity": {},
            "x-crud": {"path": "/tags"},
            "properties": {"id": {"type": "string", "format": "uuid"},
                           "name": {"type": "string"}},
            "required": ["name"],
        },
        "TodoTag": {
            "type": "object",
            "x-entity": {},
            "properties": {"id": {"type": "integer"}, "todoId": {"type": "integer"},
                           "tagId": {"type": "string", "format": "uuid"}},
        },
    }},
}


def derived(document: dict[str, Any] = DOCUMENT) -> dict[str, Any]:
    entities, problems = read_entities(document)
    assert problems == []
    return derive(document, entities)


def operations(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(method.upper(), path, operation["operationId"])
            for path, item in document["paths"].items() for method, operation in item.items()]


def problems_of(document: dict[str, Any]) -> list[str]:
    version = document["openapi"][:3]
    validator = OpenAPIV31SpecValidator if version == "3.1" else OpenAPIV30SpecValidator
    return [error.message for error in validator(document).iter_errors()]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def to_31(document: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(document)
    result["openapi"] = "3.1.0"
    return result


# -- operations ---------------------------------------------------------------------------------

CRUD = [
    ("POST", "create"), ("GET", "find"), ("PATCH", "updateAll"), ("GET", "count"),
    ("GET", "findById"), ("PATCH", "updateById"), ("PUT", "replaceById"), ("DELETE", "deleteById"),
]


def crud(path: str, controller: str) -> list[tuple[str, str, str]]:
    paths = {"create": path, "find": path, "updateAll": path, "count": f"{path}/count"}
    return [(method, paths.get(action, f"{path}/{{id}}"), f"{controller}.{action}")
            for method, action in CRUD]


def test_operations_are_loopbacks_crud_and_relation_controllers() -> None:
    assert operations(derived()) == [
        *crud("/todo-lists", "TodoListController"),
        ("GET", "/todo-lists/{id}/todos", "TodoListTodoController.find"),
        ("POST", "/todo-lists/{id}/todos", "TodoListTodoController.create"),
        ("PATCH", "/todo-lists/{id}/todos", "TodoListTodoController.patch"),
        ("DELETE", "/todo-lists/{id}/todos", "TodoListTodoController.delete"),
        ("GET", "/todo-lists/{id}/todo-list-image", "TodoListTodoListImageController.get"),
        ("POST", "/todo-lists/{id}/todo-list-image", "TodoListTodoListImageController.create"),
        *crud("/todos", "TodoController"),
        ("GET", "/todos/{id}/todo-list", "TodoTodoListController.getTodoList"),
        ("GET", "/todos/{id}/tags", "TodoTagController.find"),
        ("POST", "/todos/{id}/tags", "TodoTagController.create"),
        ("PATCH", "/todos/{id}/tags", "TodoTagController.patch"),
        ("DELETE", "/todos/{id}/tags", "TodoTagController.delete"),
        *crud("/tags", "TagController"),
    ]


def test_each_operation_names_its_controller_and_is_marked_derived() -> None:
    document = derived()
    find = document["paths"]["/todos"]["get"]
    assert {k: v for k, v in find.items() if k not in ("parameters", "responses")} == {
        "tags": ["TodoController"],
        "summary": "Find Todos",
        "operationId": "TodoController.find",
        "x-controller-name": "TodoController",
        "x-operation-name": "find",
        "x-charter-derived": {"entity": "Todo", "action": "find"},
        "x-charter-errors": [503],
    }
    get_list = document["paths"]["/todos/{id}/todo-list"]["get"]
    assert get_list["x-charter-derived"] == {"entity": "Todo", "action": "getTodoList",
                                             "relation": "todoList"}
    assert get_list["tags"] == ["TodoTodoListController"]
    assert [tag["name"] for tag in document["tags"]] == [
        "TodoListController", "TodoListTodoController", "TodoListTodoListImageController",
        "TodoController", "TodoTodoListController", "TodoTagController", "TagController"]
    assert [tag["description"] for tag in document["tags"][:3]] == [
        "Create, read, update and delete TodoLists", "A TodoList's todos", "A TodoList's image"]


def test_each_operation_names_the_errors_the_database_adds() -> None:
    # 503 when it is unavailable; 409 for a write it refuses; 412 where If-Match is taken.
    paths = derived()["paths"]
    assert paths["/todos/{id}"]["get"]["x-charter-errors"] == [503]
    assert paths["/todos"]["post"]["x-charter-errors"] == [503, 409]
    assert paths["/todos/{id}"]["put"]["x-charter-errors"] == [503, 409, 412]
    assert paths["/todo-lists/{id}/todos"]["delete"]["x-charter-errors"] == [503, 409]


def test_every_operation_has_a_summary() -> None:
    summaries = [(method.upper(), path, operation["summary"])
                 for path, item in derived()["paths"].items()
                 for method, operation in item.items() if "TodoList" in operation["tags"][0]]
    assert summaries == [
        ("POST", "/todo-lists", "Create a TodoList"),
        ("GET", "/todo-lists", "Find TodoLists"),
        ("PATCH", "/todo-lists", "Update every TodoList that matches `where`"),
        ("GET", "/todo-lists/count", "Count the TodoLists that match `where`"),
        ("GET", "/todo-lists/{id}", "Find a TodoList by id"),
        ("PATCH", "/todo-lists/{id}", "Update some properties of a TodoList by id"),
        ("PUT", "/todo-lists/{id}", "Replace a TodoList by id"),
        ("DELETE", "/todo-lists/{id}", "Delete a TodoList by id"),
        ("GET", "/todo-lists/{id}/todos", "Find a TodoList's todos"),
        ("POST", "/todo-lists/{id}/todos", "Create one of a TodoList's todos"),
        ("PATCH", "/todo-lists/{id}/todos", "Update a TodoList's todos that match `where`"),
        ("DELETE", "/todo-lists/{id}/todos", "Delete a TodoList's todos that match `where`"),
        ("GET", "/todo-lists/{id}/todo-list-image", "Get a TodoList's image"),
        ("POST", "/todo-lists/{id}/todo-list-image", "Create a TodoList's image"),
        ("GET", "/todos/{id}/todo-list", "Get a Todo's todoList"),
    ]


def test_x_crud_security_goes_on_the_derived_operations_and_their_relation_routes() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["TodoList"]["x-crud"] = {
        "path": "/todo-lists", "security": [{"bearer": []}],
        "operations": {"find": {"security": []}, "deleteById": {"security": [{"bearer": ["admin"]}]}}}
    paths = derived(document)["paths"]
    assert paths["/todo-lists"]["post"]["security"] == [{"bearer": []}]
    assert paths["/todo-lists"]["get"]["security"] == []
    assert paths["/todo-lists/{id}"]["delete"]["security"] == [{"bearer": ["admin"]}]
    assert paths["/todo-lists/{id}/todos"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/todos"]["get"]  # the document's, whatever it is


def test_collection_operations() -> None:
    paths = derived()["paths"]
    assert paths["/todos"]["post"]["requestBody"] == {
        "required": True, "content": {"application/json": {"schema": ref("NewTodo")}}}
    created = paths["/todos"]["post"]["responses"]
    assert list(created) == ["200"]
    assert {k: v for k, v in created["200"].items() if k != "links"} == {
        "description": "Todo model instance",
        "headers": {"ETag": {"description": "The entity's version, for If-Match",
                             "schema": {"type": "string"}}},
        "content": {"application/json": {"schema": ref("TodoWithRelations")}}}
    # The examples are what the explorer sends unless edited: requests that work.
    assert paths["/todos"]["get"]["parameters"] == [{
        "name": "filter", "in": "query",
        "content": {"application/json": {"schema": ref("Todo.Filter"), "example": {"limit": 10}}}}]
    assert paths["/todos"]["get"]["responses"] == {"200": {
        "description": "Array of Todo model instances",
        "content": {"application/json": {"schema": {"type": "array",
                                                    "items": ref("TodoWithRelations")}}}}}
    where = [{"name": "where", "in": "query",
              "content": {"application/json": {"schema": ref("Todo.Where"), "example": {}}}}]
    assert paths["/todos/count"]["get"]["parameters"] == where
    assert paths["/todos/count"]["get"]["responses"] == {"200": {
        "description": "Todo model count",
        "content": {"application/json": {"schema": ref("loopback.Count")}}}}
    update_all = paths["/todos"]["patch"]
    assert update_all["parameters"] == where
    assert update_all["requestBody"]["content"]["application/json"]["schema"] == ref(
        "TodoPartial")
    assert update_all["responses"]["200"]["description"] == "Todo PATCH success count"


def test_item_operations_take_the_id_as_stored_and_guard_writes_with_if_match() -> None:
    document = derived()
    item = document["paths"]["/todos/{id}"]
    # The id as declared: LoopBack's `@param.path.number('id')` (1.5 is a 404, not a 400).
    id_parameter = {"name": "id", "in": "path", "required": True, "schema": {"type": "number"}}
    assert item["get"]["parameters"] == [id_parameter, {
        "name": "filter", "in": "query",
        "content": {"application/json": {"schema": ref("Todo.Filter1"), "example": {}}}}]
    assert item["get"]["responses"]["200"]["content"]["application/json"]["schema"] == ref(
        "TodoWithRelations")
    assert item["get"]["responses"]["404"] == {"$ref": "#/components/responses/Todo.NotFound"}
    assert document["components"]["responses"]["Todo.NotFound"] == {
        "description": "No Todo has this id (code ENTITY_NOT_FOUND)"}
    if_match = {"name": "If-Match", "in": "header", "required": False,
                "description": "Change the Todo only if its ETag is still this one (or `*`)",
                "schema": {"type": "string", "pattern": IF_MATCH_PATTERN}}
    for method, body, word in (("patch", "TodoPartial", "PATCH"), ("put", "Todo", "PUT"),
                               ("delete", None, "DELETE")):
        operation = item[method]
        assert operation["parameters"] == [id_parameter, if_match]
        assert sorted(operation["responses"]) == ["204", "404", "412"]
        assert operation["responses"]["204"]["description"] == f"Todo {word} success"
        assert "ETag" in operation["responses"]["204"]["headers"]
        body_schema = operation.get("requestBody", {}).get("content", {}).get(
            "application/json", {}).get("schema")
        assert body_schema == (ref(body) if body else None)
    tag_id = document["paths"]["/tags/{id}"]["get"]["parameters"][0]["schema"]
    assert tag_id == {"type": "string", "format": "uuid"}


def test_relation_operations() -> None:
    document = derived()
    paths = document["paths"]
    todos = paths["/todo-lists/{id}/todos"]
    source_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "number"}}
    assert todos["get"]["parameters"] == [source_id, {
        "name": "filter", "in": "query",
        "content": {"application/json": {"schema": ref("Todo.Filter"), "example": {"limit": 10}}}}]
    assert todos["get"]["responses"]["200"]["description"] == "Array of TodoList has many Todo"
    assert todos["post"]["requestBody"]["content"]["application/json"]["schema"] == ref(
        "NewTodoInTodoList")
    assert todos["patch"]["parameters"][1]["content"]["application/json"]["schema"] == ref(
        "Todo.Where")
    assert todos["patch"]["requestBody"]["content"]["application/json"]["schema"] == ref(
        "TodoPartial")
    assert todos["delete"]["responses"]["200"]["content"]["application/json"]["schema"] == ref(
        "loopback.Count")
    todo_list = paths["/todos/{id}/todo-list"]["get"]
    assert todo_list["parameters"] == [source_id]
    assert todo_list["responses"]["200"]["content"]["application/json"]["schema"] == ref(
        "TodoListWithRelations")
    assert todo_list["responses"]["404"] == {"$ref": "#/components/responses/TodoList.NotFound"}
    image = paths["/todo-lists/{id}/todo-list-image"]
    assert image["get"]["parameters"][1]["content"]["application/json"]["schema"] == ref(
        "TodoListImage.Filter1")
    assert image["get"]["responses"]["404"] == {
        "$ref": "#/components/responses/TodoListImage.NotFound"}
    assert image["post"]["requestBody"]["content"]["application/json"]["schema"] == ref(
        "NewTodoListImageInTodoList")

    schemas = document["components"]["schemas"]
    # hasMany: the path's {id} sets todoListId; hasManyThrough: the link is made, the id generated.
    assert schemas["NewTodoInTodoList"] == {
        "title": "NewTodoInTodoList", "type": "object",
        "properties": {k: v for k, v in STORED.items() if k not in ("id", "todoListId")},
        "required": ["title"], "additionalProperties": False}
    assert schemas["NewTodoListImageInTodoList"]["properties"] == {"value": text(16383)}
    assert schemas["NewTagInTodo"] == {
        "title": "NewTagInTodo", "type": "object", "properties": {"name": text(16383)},
        "required": ["name"], "additionalProperties": False}


# -- schemas ------------------------------------------------------------------------------------

TODO = DOCUMENT["components"]["schemas"]["Todo"]["properties"]
VISIBLE = ["id", "title", "isComplete", "dueAt", "priority", "tag", "todoListId"]
NUL_FREE = "^[^\\u0000]*$"
"""Text a filter compares or a column stores holds no NUL character (PostgreSQL stores none)."""


def text(limit: int, **declared: Any) -> dict[str, Any]:
    """A free-text property as request bodies publish it: the column's length, no NUL, and the
    explorer's usual sample (Swagger UI would sample the pattern at random)."""
    return {"type": "string", **declared, "maxLength": declared.get("maxLength", limit),
            "allOf": [{"pattern": NUL_FREE}], "example": "string"}


STORED = {**TODO, "title": text(80, maxLength=80), "tag": ref("Charter.JsonValue"),
          "secret": {**text(16383), "writeOnly": True}}
"""Todo's properties as request bodies publish them: what the columns keep; the hidden one
written by clients, never sent."""


def test_new_partial_and_with_relations() -> None:
    schemas = derived()["components"]["schemas"]
    assert schemas["NewTodo"] == {
        "title": "NewTodo", "type": "object",
        "properties": {k: v for k, v in STORED.items() if k != "id"},
        "required": ["title"], "additionalProperties": False}
    assert schemas["TodoPartial"] == {
        "title": "TodoPartial", "type": "object", "properties": STORED,
        "additionalProperties": False}
    assert schemas["TodoWithRelations"] == {
        "title": "TodoWithRelations", "type": "object",
        "properties": {**{k: TODO[k] for k in VISIBLE},
                       "todoList": ref("TodoListWithRelations"),
                       "tags": {"type": "array", "items": ref("TagWithRelations")}},
        "additionalProperties": False}
    assert schemas["TodoListWithRelations"]["properties"]["image"] == ref(
        "TodoListImageWithRelations")
    # An id that is not generated is the client's to give.
    assert list(schemas["NewTodoTag"]["properties"]) == ["todoId", "tagId"]


def test_filter_fields_order_and_include() -> None:
    schemas = derived()["components"]["schemas"]
    paging = {"offset": {"type": "integer", "format": "int64", "minimum": 0},
              "limit": {"type": "integer", "format": "int64", "minimum": 1, "example": 100,
                        "description": LIMIT_DESCRIPTION},
              "skip": {"type": "integer", "format": "int64", "minimum": 0}}
    include = {"type": "array", "items": ref("Todo.IncludeItem"),
               "description": INCLUDE_DESCRIPTION}
    assert schemas["Todo.Filter"] == {
        "title": "Todo.Filter", "type": "object",
        "properties": {**paging, "order": ref("Todo.Order"), "where": ref("Todo.Where"),
                       "fields": ref("Todo.Fields"), "include": include},
        "additionalProperties": False}
    assert schemas["Todo.Filter1"] == {
        "title": "Todo.Filter1", "type": "object",
        "properties": {**paging, "order": ref("Todo.Order"), "fields": ref("Todo.Fields"),
                       "include": include},
        "additionalProperties": False}
    # The bounds that JSON Schema cannot state are stated in words, naming their settings.
    assert "CHARTER_MAX_LIMIT" in LIMIT_DESCRIPTION
    assert all(name in INCLUDE_DESCRIPTION for name in (
        "CHARTER_MAX_INCLUDE_DEPTH", "CHARTER_MAX_LIMIT", "CHARTER_MAX_RESPONSE_ROWS"))
    assert "include" not in schemas["Tag.Filter"]["properties"]
    assert schemas["Todo.Fields"] == {"title": "Todo.Fields", "anyOf": [
        {"type": "object", "properties": {p: {"type": "boolean"} for p in VISIBLE},
         "additionalProperties": False},
        {"type": "array", "items": {"type": "string", "enum": VISIBLE}, "uniqueItems": True}]}
    sortable = [p for p in VISIBLE if p != "tag"]
    assert schemas["Todo.OrderKey"] == {
        "title": "Todo.OrderKey", "type": "string",
        "enum": [key for p in sortable for key in (p, f"{p} ASC", f"{p} DESC")]}
    assert schemas["Todo.Order"] == {"title": "Todo.Order", "anyOf": [
        ref("Todo.OrderKey"), {"type": "array", "items": ref("Todo.OrderKey")}]}
    # Each relation's scope is its own target's filter.
    assert schemas["Todo.IncludeItem"] == {"title": "Todo.IncludeItem", "anyOf": [
        {"type": "string", "enum": ["todoList", "tags"]},
        {"type": "object", "required": ["relation"], "additionalProperties": False,
         "properties": {"relation": {"type": "string", "enum": ["todoList"]},
                        "scope": ref("TodoList.Filter")}},
        {"type": "object", "required": ["relation"], "additionalProperties": False,
         "properties": {"relation": {"type": "string", "enum": ["tags"]},
                        "scope": ref("Tag.Filter")}}]}
    assert schemas["loopback.Count"] == {"title": "loopback.Count", "type": "object",
                                         "properties": {"count": {"type": "number"}}}


def operators(**operands: Any) -> dict[str, Any]:
    return {"type": "object", "properties": operands, "additionalProperties": False,
            "minProperties": 1}


def conditions(value: dict[str, Any], null: dict[str, Any], *, ordered: bool = True,
               matching: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"eq": null, "neq": null}
    if ordered:
        found |= {"gt": value, "gte": value, "lt": value, "lte": value}
    found |= {"inq": {"type": "array", "items": value}, "nin": {"type": "array", "items": value}}
    if ordered:
        found["between"] = {"type": "array", "items": value, "minItems": 2, "maxItems": 2}
    found["exists"] = {"type": "boolean"}
    if matching:
        found |= {op: {"type": "string", "pattern": NUL_FREE}
                  for op in ("like", "nlike", "ilike", "nilike", "regexp")}
        found["regexp"] = {**found["regexp"], "format": "regex"}
    return operators(**found)


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_where_is_typed_operator_by_operator(version: str) -> None:
    document = DOCUMENT if version == "3.0" else to_31(DOCUMENT)
    where = derived(document)["components"]["schemas"]["Todo.Where"]

    def null(schema: dict[str, Any]) -> dict[str, Any]:
        if version == "3.0":
            out = {**schema, "nullable": True}
        else:
            out = {**schema, "type": [schema["type"], "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out

    integer = {"type": "integer", "format": "int64"}
    string = {"type": "string", "pattern": NUL_FREE}  # free text only; an enum needs none
    boolean = {"type": "boolean"}
    date_time = {"type": "string", "format": "date-time"}
    priority = {"type": "string", "enum": ["low", "high"]}
    assert where["title"] == "Todo.Where"
    assert where["additionalProperties"] is False
    assert where["properties"] == {
        # The id is never null; required properties are not either.
        "id": {"anyOf": [integer, conditions(integer, null(integer))]},
        "title": {"anyOf": [string, conditions(string, null(string), matching=True)]},
        "isComplete": {"anyOf": [null(boolean),
                                 conditions(boolean, null(boolean), ordered=False)]},
        "dueAt": {"anyOf": [null(date_time), conditions(date_time, null(date_time))]},
        "priority": {"anyOf": [null(priority),
                               conditions(priority, null(priority), matching=True)]},
        "tag": operators(exists={"type": "boolean"}),
        "todoListId": {"anyOf": [null(integer), conditions(integer, null(integer))]},
        "and": {"type": "array", "items": ref("Todo.Where")},
        "or": {"type": "array", "items": ref("Todo.Where")},
    }


def test_bodies_publish_what_the_columns_keep() -> None:
    document = copy.deepcopy(DOCUMENT)
    todo = document["components"]["schemas"]["Todo"]
    todo["properties"] |= {
        "code": {"type": "string", "pattern": "^[A-Z]+$", "allOf": [{"minLength": 2}]},
        "note": {"$ref": "#/components/schemas/Note"},
        "meta": {"type": "object", "properties": {"n": {"type": "integer"}}},
        "extra": {"description": "anything"},
    }
    document["components"]["schemas"]["Note"] = {"type": "string", "maxLength": 500}
    before = copy.deepcopy(document)
    result = derived(document)
    assert document == before
    schemas = result["components"]["schemas"]
    stored = schemas["NewTodo"]["properties"]
    # The user's own pattern stays where it was; the NUL rule joins their allOf.
    # (The explorer samples their pattern: no example is made up that could break it.)
    assert stored["code"] == {"type": "string", "pattern": "^[A-Z]+$", "maxLength": 16383,
                              "allOf": [{"minLength": 2}, {"pattern": NUL_FREE}]}
    # 3.0 ignores a $ref's siblings: the rules go beside it, in allOf.
    assert stored["note"] == {"allOf": [{"$ref": "#/components/schemas/Note"},
                                        {"maxLength": 500, "pattern": NUL_FREE}]}
    # Untyped JSON is a JsonValue; a typed one is kept (the repository checks it all the same).
    assert stored["tag"] == ref("Charter.JsonValue")
    assert stored["extra"] == {
        "minimum": -(2**63), "maximum": 2**64 - 1, "items": ref("Charter.JsonValue"),
        "additionalProperties": ref("Charter.JsonValue"), "example": {},
        "description": "anything"}
    assert stored["meta"] == {"type": "object", "properties": {"n": {"type": "integer"}}}
    # An enum's values are the user's; a date-time's format excludes NUL already.
    assert stored["priority"] == TODO["priority"] and stored["dueAt"] == TODO["dueAt"]
    # The entity's own schema is PUT's body: it says the same, the rest as written.
    own = schemas["Todo"]
    assert own["properties"] == {**schemas["TodoPartial"]["properties"]}
    assert {k: v for k, v in own.items() if k != "properties"} == {
        k: v for k, v in before["components"]["schemas"]["Todo"].items() if k != "properties"}
    assert schemas["Note"] == {"type": "string", "maxLength": 500}
    # openapi-spec-validator, which checks every spec at start-up, follows `items` inside
    # `allOf` without end: the recursive JsonValue must never be inside one.
    # Responses keep what the user wrote: a stored value satisfies it already.
    assert schemas["TodoWithRelations"]["properties"]["title"] == TODO["title"]
    assert problems_of(result) == []



def test_a_json_value_is_one_that_comes_back_as_sent() -> None:
    schemas = derived()["components"]["schemas"]
    assert schemas["Charter.JsonValue"] == {
        "title": "Charter.JsonValue",
        "description": ("Any JSON value whose numbers lie within [-2^63, 2^64-1], nested at most "
                        "CHARTER_MAX_JSON_DEPTH levels (16 unless configured)."),
        "minimum": -(2**63), "maximum": 2**64 - 1,
        "items": ref("Charter.JsonValue"), "additionalProperties": ref("Charter.JsonValue"),
        "example": {}}
    validator = SchemaValidators(derived(), "3.0").compile(ref("NewTodo"), direction="request")
    assert validator.errors({"title": "t", "tag": {"a": [2**64 - 1, -(2**63), 1.5, "x", None]}}) == []
    assert validator.errors({"title": "t", "tag": {"a": [[2**64]]}}) == [{
        "path": "/tag/a/0/0", "code": "maximum", "message": "must be <= 18446744073709551615",
        "info": {"comparison": "<=", "limit": 2**64 - 1}}]
    # No JSON property, no JsonValue.
    document = copy.deepcopy(DOCUMENT)
    del document["components"]["schemas"]["Todo"]["properties"]["tag"]
    assert "Charter.JsonValue" not in derived(document)["components"]["schemas"]


def test_integers_beyond_javascripts_get_an_example_javascript_keeps() -> None:
    """Swagger UI's sample of `maximum: 2**63-1` is that number, which JavaScript rounds up
    past the maximum: "Try it out" would send a body the server refuses."""
    document = to_31(DOCUMENT)
    schemas_in = document["components"]["schemas"]
    int64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
    schemas_in["TodoList"]["properties"]["id"] = {**int64}
    schemas_in["Todo"]["properties"] |= {
        "todoListId": {**int64},
        "big": {"type": "integer", "minimum": 2**60},
        "huge": {"type": "integer", "minimum": -(2**62), "maximum": -(2**61)},
        "given": {**int64, "example": 7},
        "rank": {"type": "integer", "exclusiveMinimum": 0, "maximum": 2**63 - 1},
        "small": {"type": "integer", "maximum": 2**31 - 1},
    }
    result = derived(document)
    schemas = result["components"]["schemas"]
    for variant in ("NewTodo", "TodoPartial", "TodoWithRelations", "Todo", "NewTodoInTodoList"):
        properties = schemas[variant]["properties"]
        if "todoListId" in properties:
            assert properties["todoListId"] == {**int64, "example": 1}, variant
        assert properties["big"] == {"type": "integer", "minimum": 2**60}, variant  # none safe
        assert "example" not in properties["huge"], variant
        assert properties["given"]["example"] == 7
        assert properties["rank"]["example"] == 1
        assert "example" not in properties["small"]
    id_parameter = result["paths"]["/todo-lists/{id}"]["get"]["parameters"][0]
    assert id_parameter["schema"] == {"type": "integer", "format": "int64",
                                      "minimum": -(2**63), "maximum": 2**63 - 1, "example": 1}
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["Todo"]["properties"]["low"] = {
        "type": "integer", "minimum": 5, "maximum": 2**63 - 1}
    assert derived(document)["components"]["schemas"]["NewTodo"]["properties"]["low"][
        "example"] == 5


@pytest.mark.parametrize(("value", "valid"), [
    ("*", True), ('"abc"', True), ('W/"abc"', True), ('""', True), ('"a", W/"b"', True),
    ('"a",\t"b"', True), ('"\x80\xff"', True),
    ("", False), ("abc", False), ('"a" "b"', False), ('"a",', False), ('"a b"', False),
    ('w/"a"', False), ('*, "a"', False), ('"a""', False),
])
def test_if_match_takes_rfc_9110_entity_tags(value: str, valid: bool) -> None:
    document = derived()
    operation = document["paths"]["/todos/{id}"]["patch"]
    parser = compile_parameters(operation["parameters"], SchemaValidators(document, "3.0"),
                                document)
    parts = RequestParts({"id": "1"}, "", {"if-match": value}, {})
    if valid:
        assert parser.parse(parts)["If-Match"] == value
    else:
        with pytest.raises(InvalidParameterValue):
            parser.parse(parts)


def link(operation_id: str, id_: str, *, if_match: bool = False) -> dict[str, Any]:
    parameters = {"id": id_}
    if if_match:
        parameters["header.If-Match"] = "$response.header.ETag"
    return {"operationId": operation_id, "parameters": parameters}


def item_links(controller: str, id_: str, *relations: str) -> dict[str, Any]:
    links = {f"{controller}.findById": link(f"{controller}.findById", id_)}
    links |= {f"{controller}.{action}": link(f"{controller}.{action}", id_, if_match=True)
              for action in ("updateById", "replaceById", "deleteById")}
    return links | {name: link(name, id_) for name in relations}


def test_responses_that_hold_an_item_link_to_its_operations() -> None:
    paths = derived()["paths"]
    # Not to a relation's DELETE: it empties a collection, which lives on. Nor to a one-to-one
    # GET (belongsTo, hasOne): the item may have none, and a link promises it is there.
    todo_relations = ("TodoTagController.find", "TodoTagController.create",
                      "TodoTagController.patch")
    list_relations = ("TodoListTodoController.find", "TodoListTodoController.create",
                      "TodoListTodoController.patch", "TodoListTodoListImageController.create")
    body_id = "$response.body#/id"
    assert paths["/todos"]["post"]["responses"]["200"]["links"] == item_links(
        "TodoController", body_id, *todo_relations)
    assert paths["/todo-lists"]["post"]["responses"]["200"]["links"] == item_links(
        "TodoListController", body_id, *list_relations)
    # Reading or changing an item hands on its id and its new ETag.
    item = paths["/todos/{id}"]
    for method, status in (("get", "200"), ("patch", "204"), ("put", "204")):
        expected = item_links("TodoController", "$request.path.id", *todo_relations)
        if method == "get":
            del expected["TodoController.findById"]  # no link to read it again
        assert item[method]["responses"][status]["links"] == expected
    assert "links" not in item["delete"]["responses"]["204"]
    # A relation's create and one-to-one GETs lead to the target's item.
    assert paths["/todo-lists/{id}/todos"]["post"]["responses"]["200"]["links"] == item_links(
        "TodoController", body_id, *todo_relations)
    assert paths["/todos/{id}/todo-list"]["get"]["responses"]["200"]["links"] == item_links(
        "TodoListController", body_id, *list_relations)
    assert paths["/todo-lists/{id}/todo-list-image"]["get"]["responses"]["200"].get(
        "links") is None  # TodoListImage has no routes of its own
    # TodoListImage has no routes of its own: nothing to link to.
    assert "links" not in paths["/todo-lists/{id}/todo-list-image"]["post"]["responses"]["200"]
    # Lists and counts name no single item.
    assert "links" not in paths["/todos"]["get"]["responses"]["200"]
    assert "links" not in paths["/todo-lists/{id}/todos"]["patch"]["responses"]["200"]


def test_links_lead_only_to_operations_that_were_derived() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["Tag"]["x-crud"]["readonly"] = True
    document["paths"] = {"/todos/{todoId}": {"get": {
        "operationId": "getTodo", "responses": {"200": {"description": "a todo"}},
        "parameters": [{"name": "todoId", "in": "path", "required": True,
                        "schema": {"type": "integer"}}]}}}
    result = derived(document)
    paths = result["paths"]
    # /todos/{id} is the user's: only the relation routes are linked to.
    assert set(paths["/todos"]["post"]["responses"]["200"]["links"]) == {
        "TodoTagController.find"}
    assert "links" not in paths["/tags/{id}"]["get"]["responses"]["200"]
    assert problems_of(result) == []


def test_hidden_properties_are_written_by_clients_but_never_shown_or_filtered() -> None:
    document = derived()
    schemas = document["components"]["schemas"]
    # Every request body that takes the hidden property says that no response holds it.
    holding = {name: schema["properties"]["secret"] for name, schema in schemas.items()
               if "secret" in (schema.get("properties") or {})}
    assert holding == {name: {**text(16383), "writeOnly": True}
                       for name in ("Todo", "NewTodo", "TodoPartial", "NewTodoInTodoList")}
    bodies = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]
              for item in document["paths"].values() for op in item.values()
              if "requestBody" in op}
    assert set(holding) <= bodies
    # ...and no response schema names it, however deep.
    responses = [response for item in document["paths"].values() for op in item.values()
                 for response in op["responses"].values()]
    reached = _words(document, responses)
    assert "TodoWithRelations" in str(reached) and "secret" not in reached
    assert "secret" not in schemas["TodoWithRelations"]["properties"]
    assert "secret" not in schemas["Todo.Where"]["properties"]
    assert "secret" not in schemas["Todo.Fields"]["anyOf"][0]["properties"]
    assert "secret" not in schemas["Todo.Fields"]["anyOf"][1]["items"]["enum"]
    assert not any(key.startswith("secret") for key in schemas["Todo.OrderKey"]["enum"])


def _words(document: dict[str, Any], nodes: list[Any]) -> set[str]:
    """Every key and string in `nodes` and in what their `$ref`s reach, transitively."""
    words: set[str] = set()
    pending = list(nodes)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and target not in words:
                *_, kind, name = target.split("/")
                pending.append(document["components"][kind][name])
            words.update(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            words.add(node)
    return words


# -- what the user wrote ------------------------------------------------------------------------

def test_the_users_paths_and_schemas_win_and_the_input_is_unchanged() -> None:
    document = copy.deepcopy(DOCUMENT)
    mine = {"operationId": "countTodos", "responses": {"200": {"description": "how many"}}}
    partial = {"type": "object", "properties": {"title": {"type": "string"}}}
    document["paths"] = {
        "/todos/count": {"get": mine},
        # Another name for the same path: the derived methods it lacks are left out.
        "/todos/{todoId}": {"get": {
            "operationId": "getTodo",
            "parameters": [{"name": "todoId", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "a todo"}}}},
        # The user's operationId elsewhere: the derived operation is left out.
        "/my-tags": {"get": {"operationId": "TagController.find",
                             "responses": {"200": {"description": "tags"}}}},
    }
    document["components"]["schemas"]["TodoPartial"] = partial
    before = copy.deepcopy(document)
    result = derived(document)
    assert document == before
    assert result["paths"]["/todos/count"]["get"] == mine
    assert result["components"]["schemas"]["TodoPartial"] == partial
    assert "/todos/{id}" not in result["paths"]
    assert ("GET", "/tags", "TagController.find") not in operations(result)
    assert ("GET", "/todos", "TodoController.find") in operations(result)
    assert problems_of(result) == []


def test_readonly_keeps_the_reads() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["TodoList"]["x-crud"]["readonly"] = True
    found = [entry for entry in operations(derived(document))
             if entry[1].startswith("/todo-lists")]
    assert found == [
        ("GET", "/todo-lists", "TodoListController.find"),
        ("GET", "/todo-lists/count", "TodoListController.count"),
        ("GET", "/todo-lists/{id}", "TodoListController.findById"),
        ("GET", "/todo-lists/{id}/todos", "TodoListTodoController.find"),
        ("GET", "/todo-lists/{id}/todo-list-image", "TodoListTodoListImageController.get"),
    ]
    schemas = derived(document)["components"]["schemas"]
    assert "NewTodoInTodoList" not in schemas
    # A read-only target is not written through a relation either.
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["Tag"]["x-crud"]["readonly"] = True
    assert [entry for entry in operations(derived(document)) if "tags" in entry[1]] == [
        ("GET", "/todos/{id}/tags", "TodoTagController.find"),
        ("GET", "/tags", "TagController.find"),
        ("GET", "/tags/count", "TagController.count"),
        ("GET", "/tags/{id}", "TagController.findById"),
    ]


def test_two_relations_to_one_target_get_a_controller_each() -> None:
    document = copy.deepcopy(DOCUMENT)
    todo = document["components"]["schemas"]["Todo"]
    todo["properties"]["movedFromId"] = {"type": "integer"}
    todo["x-entity"]["relations"]["movedFrom"] = {"belongsTo": "TodoList",
                                                  "keyFrom": "movedFromId", "path": "moved-from"}
    result = derived(document)
    assert [entry for entry in operations(result) if entry[1].startswith("/todos/{id}/")
            and "tags" not in entry[1]] == [
        ("GET", "/todos/{id}/todo-list", "TodoTodoListController.getTodoList"),
        ("GET", "/todos/{id}/moved-from", "TodoMovedFromController.getTodoList"),
    ]
    assert problems_of(result) == []


# -- a valid document ---------------------------------------------------------------------------

def test_every_schema_has_a_title_of_its_own() -> None:
    """Generators name a model after its title: openapi-python-client drops the second of two
    schemas that share one."""
    titles = [schema["title"] for schema in derived()["components"]["schemas"].values()
              if "title" in schema]
    assert len(titles) > 40
    assert sorted(title for title in titles if titles.count(title) > 1) == []


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_the_derived_document_is_valid_openapi(version: str) -> None:
    document = derived(DOCUMENT if version == "3.0" else to_31(DOCUMENT))
    assert problems_of(document) == []
    # Every node is its own: YAML output has no anchors and aliases.
    assert "&id" not in yaml.safe_dump(document)


def test_the_published_document_adds_the_data_layers_errors() -> None:
    document = derived()
    spec = Spec(document=document, version="3.0", source=Path("openapi.yaml"))
    published = Publisher(spec, error_format="loopback", unbound=set()).document
    assert problems_of(published) == []
    paths = published["paths"]

    def declared(path: str, method: str) -> list[str]:
        return sorted(paths[path][method]["responses"])

    assert declared("/todos", "get") == ["200", "400", "404", "405", "431", "500", "503"]
    assert declared("/todos", "post") == [
        "200", "400", "404", "405", "408", "409", "413", "415", "422", "431", "500", "503"]
    assert declared("/todos/{id}", "delete") == [
        "204", "400", "404", "405", "409", "412", "431", "500", "503"]
    assert paths["/todos/{id}"]["delete"]["responses"]["412"] == {
        "description": "The Todo changed since the ETag sent in If-Match",
        "content": {"application/json": {"schema": ref("Charter.Error")}}}
    assert paths["/todos"]["post"]["responses"]["503"] == {
        "$ref": "#/components/responses/Charter.ServiceUnavailable"}
    # The entity's 404 keeps its own description and gets the configured error body.
    assert paths["/todos/{id}"]["get"]["responses"]["404"] == {
        "$ref": "#/components/responses/Todo.NotFound"}
    assert published["components"]["responses"]["Todo.NotFound"] == {
        "description": "No Todo has this id (code ENTITY_NOT_FOUND)",
        "content": {"application/json": {"schema": ref("Charter.Error")}}}


# -- filters in the query, JSON and deepObject ---------------------------------------------------

@pytest.fixture(scope="module")
def filter_parser() -> Any:
    document = derived()
    operation = document["paths"]["/todo-lists"]["get"]
    return compile_parameters(operation["parameters"], SchemaValidators(document, "3.0"),
                              document)


def parsed(parser: Any, query: str) -> Any:
    return parser.parse(RequestParts({}, query, {}, {}))["filter"]


@pytest.mark.parametrize(("query", "expected"), [
    ('filter={"where":{"id":{"gt":2}},"order":["title DESC"],"limit":3}',
     {"where": {"id": {"gt": 2}}, "order": ["title DESC"], "limit": 3}),
    ("filter[where][id][gt]=2", {"where": {"id": {"gt": 2}}}),
    ("filter[where][id]=2", {"where": {"id": 2}}),
    ("filter[where][title][like]=a%25", {"where": {"title": {"like": "a%"}}}),
    ("filter[where][title]=2", {"where": {"title": "2"}}),
    ("filter[where][id][inq]=1&filter[where][id][inq]=2", {"where": {"id": {"inq": [1, 2]}}}),
    ("filter[where][color]=null", {"where": {"color": None}}),
    ("filter[where][or][0][id]=1&filter[where][or][1][id]=2",
     {"where": {"or": [{"id": 1}, {"id": 2}]}}),
    ("filter[order][0]=title DESC", {"order": ["title DESC"]}),
    ("filter[fields][0]=title", {"fields": ["title"]}),
    ("filter[fields][title]=true", {"fields": {"title": True}}),
    ("filter[limit]=2", {"limit": 2}),
    ("filter[include][0]=todos", {"include": ["todos"]}),
    ("filter[include][0][relation]=todos", {"include": [{"relation": "todos"}]}),
    # The scope is coerced by the included relation's own target.
    ("filter[include][0][relation]=todos&filter[include][0][scope][where][isComplete]=true"
     "&filter[include][0][scope][limit]=1",
     {"include": [{"relation": "todos", "scope": {"where": {"isComplete": True}, "limit": 1}}]}),
    ("filter[include][0][relation]=image&filter[include][0][scope][fields][value]=true",
     {"include": [{"relation": "image", "scope": {"fields": {"value": True}}}]}),
])
def test_filters_parse_to_typed_values(filter_parser: Any, query: str, expected: Any) -> None:
    assert parsed(filter_parser, query) == expected


@pytest.fixture(scope="module")
def todo_filter_parser() -> Any:
    document = derived()
    operation = document["paths"]["/todos"]["get"]
    return compile_parameters(operation["parameters"], SchemaValidators(document, "3.0"),
                              document)


def test_todo_filters_parse_by_todos_kinds(todo_filter_parser: Any) -> None:
    parser = todo_filter_parser
    assert parsed(parser, "filter[where][isComplete]=true") == {"where": {"isComplete": True}}
    assert parsed(parser, "filter[where][dueAt][gt]=2024-01-02T00:00:00Z") == {
        "where": {"dueAt": {"gt": "2024-01-02T00:00:00Z"}}}
    assert parsed(parser, "filter[where][tag][exists]=false") == {
        "where": {"tag": {"exists": False}}}


@pytest.mark.parametrize(("query", "details"), [
    ("filter[where][id][gt]=abc",
     [{"path": "/where/id/gt", "code": "type", "message": "must be integer",
       "info": {"type": "integer"}}]),
    ("filter[where][isComplete][like]=a", None),
    ("filter[where][secret]=x", None),
    ('filter={"where":{"tag":{"eq":1}}}', None),
    ("filter[where][id][between][0]=1", None),
    ("filter[where][dueAt][gt]=tomorrow", None),
    ("filter[order]=tag", None),
])
def test_filters_the_schema_refuses(todo_filter_parser: Any, query: str, details: Any) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parsed(todo_filter_parser, query)
    if details is not None:
        assert caught.value.details == details
