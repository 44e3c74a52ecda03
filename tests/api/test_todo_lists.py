"""End to end over `spec/` on SQLite, PostgreSQL and MariaDB: TodoList's CRUD, the relation routes,
`include`, ETags, the filter language over HTTP, and a database that goes away.

Each test runs once per database and compares bodies whole, error bodies included, so that the
three databases are seen to give the same answers. `test_todos.py` covers TodoController in depth
on SQLite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from server.app import App
from tests.api.conftest import database_url, example_app
from tests.client import Client
from tests.databases import DIALECTS, SERVERS
from tests.proxy import Proxy

HOME = {"title": "home", "color": "red"}
WORK = {"title": "work", "color": "blue"}
GARDEN = {"title": "garden"}
GROCERIES = {"title": "Groceries", "color": "green"}
HALF = {"title": "it's 50% done", "color": "red"}
LISTS = [{"id": i, **item} for i, item in enumerate((HOME, WORK, GARDEN, GROCERIES, HALF), 1)]

MILK = {"id": 1, "title": "milk", "isComplete": False, "todoListId": 1}
EGGS = {"id": 2, "title": "eggs", "isComplete": True, "todoListId": 1}
MAIL = {"id": 3, "title": "mail", "isComplete": False, "todoListId": 2}
NAP = {"id": 4, "title": "nap"}
TODOS = [MILK, EGGS, MAIL, NAP]
IMAGE = {"id": 1, "value": "home.png", "todoListId": 1}

INVALID_BODY = ("The request body is invalid. See error object `details` property for more "
                "info.")


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest) -> str:
    """Every test here runs on each database (overrides conftest's SQLite-only fixture)."""
    return str(request.param)


@pytest.fixture
def seeded(client: Client) -> Client:
    """Five lists; todos 1-2 in list 1, todo 3 in list 2, todo 4 in none; list 1 has an image."""
    for item in (HOME, WORK, GARDEN, GROCERIES, HALF):
        post(client, "/todo-lists", item)
    for list_id, todo in ((1, MILK), (1, EGGS), (2, MAIL)):
        body = {k: v for k, v in todo.items() if k not in ("id", "todoListId")}
        post(client, f"/todo-lists/{list_id}/todos", body)
    post(client, "/todos", {"title": NAP["title"]})
    post(client, "/todo-lists/1/todo-list-image", {"value": IMAGE["value"]})
    return client


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def get(client: Client, path: str, filter_: dict[str, Any] | None = None, /,
        **params: str) -> Any:
    """The 200 body of a GET; `filter_` is sent as JSON, `params` as they are."""
    if filter_ is not None:
        params["filter"] = json.dumps(filter_)
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


def error(status: int, name: str, message: str, code: str,
          details: list[dict[str, Any]] | dict[str, Any] | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"statusCode": status, "name": name, "message": message, "code": code}
    if details is not None:
        inner["details"] = details
    return {"error": inner}


def not_found(entity: str, id_: str) -> dict[str, Any]:
    return error(404, "NotFoundError", f"Entity not found: {entity} with id {id_}",
                 "ENTITY_NOT_FOUND")


def bad_parameter(parameter: str, raw: str, details: Any = None) -> dict[str, Any]:
    return error(400, "BadRequestError", f'Invalid data {raw} for parameter "{parameter}".',
                 "INVALID_PARAMETER_VALUE", details)


def detail(path: str, code: str, message: str, **info: Any) -> dict[str, Any]:
    return {"path": path, "code": code, "message": message, "info": info}


def unknown(path: str, name: str) -> dict[str, Any]:
    return detail(path, "additionalProperties", "must NOT have additional properties",
                  additionalProperty=name)


def any_of(path: str) -> dict[str, Any]:
    return detail(path, "anyOf", "must match a schema in anyOf")


def enum_of(path: str, *allowed: str) -> dict[str, Any]:
    return detail(path, "enum", "must be equal to one of the allowed values",
                  allowedValues=list(allowed))


def of_type(path: str, type_: str) -> dict[str, Any]:
    return detail(path, "type", f"must be {type_}", type=type_)


ORDER_KEYS = [f"{name}{direction}" for name in ("id", "title", "color")
              for direction in ("", " ASC", " DESC")]
REFERENCED = error(409, "ConflictError", "The row is still referenced by other rows.",
                   "FOREIGN_KEY_VIOLATION")
MISSING_REFERENCE = error(409, "ConflictError", "A referenced row does not exist.",
                          "INVALID_REFERENCE")


# -- TodoListController ---------------------------------------------------------------------


def test_todo_list_crud(client: Client) -> None:
    created = client.post("/todo-lists", json=HOME)
    assert (created.status_code, created.json()) == (200, {"id": 1, **HOME})
    assert post(client, "/todo-lists", WORK) == {"id": 2, **WORK}
    assert get(client, "/todo-lists") == [{"id": 1, **HOME}, {"id": 2, **WORK}]
    assert get(client, "/todo-lists/2") == {"id": 2, **WORK}
    assert get(client, "/todo-lists/count") == {"count": 2}
    assert get(client, "/todo-lists/count", where='{"color":"red"}') == {"count": 1}

    updated = client.patch("/todo-lists", params={"where": '{"color":"blue"}'},
                           json={"color": "navy"})
    assert (updated.status_code, updated.json()) == (200, {"count": 1})
    assert client.patch("/todo-lists/1", json={"color": "pink"}).status_code == 204
    assert client.put("/todo-lists/2", json={"title": "job"}).status_code == 204
    assert get(client, "/todo-lists") == [{"id": 1, "title": "home", "color": "pink"},
                                          {"id": 2, "title": "job"}]

    deleted = client.delete("/todo-lists/1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    for response in (client.get("/todo-lists/1"), client.delete("/todo-lists/1"),
                     client.patch("/todo-lists/1", json={"title": "x"}),
                     client.put("/todo-lists/1", json={"title": "x"})):
        assert (response.status_code, response.json()) == (404, not_found("TodoList", "1"))
    assert get(client, "/todo-lists") == [{"id": 2, "title": "job"}]


def test_todo_list_bodies_are_validated(client: Client) -> None:
    response = client.post("/todo-lists", json={"color": "red", "owner": "me"})
    assert response.status_code == 422
    assert response.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                    "VALIDATION_FAILED", [
        detail("", "required", "must have required property 'title'", missingProperty="title"),
        unknown("", "owner"),
    ])
    assert get(client, "/todo-lists/count") == {"count": 0}


# -- TodoListTodoController: /todo-lists/{id}/todos -----------------------------------------


def test_todos_of_a_list_are_created_with_the_key_from_the_path(seeded: Client) -> None:
    created = seeded.post("/todo-lists/2/todos", json={"title": "fax", "isComplete": True})
    assert created.status_code == 200
    assert created.json() == {"id": 5, "title": "fax", "isComplete": True, "todoListId": 2}
    assert created.headers["etag"] == seeded.get("/todos/5").headers["etag"]
    assert get(seeded, "/todo-lists/2/todos") == [MAIL, created.json()]

    refused = seeded.post("/todo-lists/2/todos", json={"title": "fax", "todoListId": 1})
    assert refused.status_code == 422
    assert refused.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                   "VALIDATION_FAILED", [unknown("", "todoListId")])


def test_todos_of_a_list_are_found_with_a_filter(seeded: Client) -> None:
    assert get(seeded, "/todo-lists/1/todos") == [MILK, EGGS]
    assert get(seeded, "/todo-lists/3/todos") == []
    assert get(seeded, "/todo-lists/1/todos", {"order": "title", "fields": ["title"]}) == [
        {"title": "eggs"}, {"title": "milk"}]
    # The path's list narrows every where, even one that names another list.
    assert get(seeded, "/todo-lists/1/todos", {"where": {"todoListId": 2}}) == []
    assert get(seeded, "/todo-lists/1/todos", {"where": {"or": [{"id": 3}, {"id": 2}]}}) == [EGGS]
    assert get(seeded, "/todo-lists/1/todos", **{"filter[where][isComplete]": "false",
                                                  "filter[limit]": "5"}) == [MILK]


def test_todos_of_a_list_are_patched_where_they_match(seeded: Client) -> None:
    response = seeded.patch("/todo-lists/1/todos", params={"where": '{"isComplete":false}'},
                            json={"desc": "today"})
    assert (response.status_code, response.json()) == (200, {"count": 1})
    # The key comes from the path: a body that names another list moves nothing.
    response = seeded.patch("/todo-lists/1/todos", json={"todoListId": 2, "isComplete": True})
    assert (response.status_code, response.json()) == (200, {"count": 2})
    assert get(seeded, "/todo-lists/1/todos") == [
        {**MILK, "desc": "today", "isComplete": True}, EGGS]
    assert get(seeded, "/todos", {"where": {"id": {"gt": 2}}}) == [MAIL, NAP]
    # Another list's todo does not match, whatever the where says.
    response = seeded.patch("/todo-lists/1/todos", params={"where[id]": "3"}, json={"desc": "x"})
    assert response.json() == {"count": 0}
    assert get(seeded, "/todos/3") == MAIL


def test_todos_of_a_list_are_deleted_where_they_match(seeded: Client) -> None:
    response = seeded.delete("/todo-lists/1/todos", params={"where": '{"id":3}'})
    assert (response.status_code, response.json()) == (200, {"count": 0})
    response = seeded.delete("/todo-lists/1/todos", params={"where[title]": "eggs"})
    assert (response.status_code, response.json()) == (200, {"count": 1})
    assert ids(get(seeded, "/todos")) == [1, 3, 4]
    response = seeded.delete("/todo-lists/2/todos")
    assert (response.status_code, response.json()) == (200, {"count": 1})
    assert get(seeded, "/todos") == [MILK, NAP]


def test_nested_routes_of_a_missing_list_are_404(seeded: Client) -> None:
    missing = not_found("TodoList", "99")
    for response in (seeded.get("/todo-lists/99/todos"),
                     seeded.post("/todo-lists/99/todos", json={"title": "x"}),
                     seeded.patch("/todo-lists/99/todos", json={"title": "x"}),
                     seeded.delete("/todo-lists/99/todos"),
                     seeded.get("/todo-lists/99/todo-list-image"),
                     seeded.post("/todo-lists/99/todo-list-image", json={"value": "x"})):
        assert (response.status_code, response.json()) == (404, missing)
    assert get(seeded, "/todos/count") == {"count": 4}
    assert seeded.get("/todo-lists/1.5/todos").json() == not_found("TodoList", "1.5")
    response = seeded.get("/todo-lists/abc/todos")
    assert (response.status_code, response.json()) == (400, bad_parameter("id", '"abc"'))


# -- TodoTodoListController and TodoListTodoListImageController -----------------------------


def test_the_list_of_a_todo(seeded: Client) -> None:
    response = seeded.get("/todos/3/todo-list")
    assert (response.status_code, response.json()) == (200, {"id": 2, **WORK})
    assert response.headers["etag"] == seeded.get("/todo-lists/2").headers["etag"]
    response = seeded.get("/todos/99/todo-list")
    assert (response.status_code, response.json()) == (404, not_found("Todo", "99"))
    response = seeded.get("/todos/4/todo-list")  # a todo in no list
    assert (response.status_code, response.json()) == (404, not_found("TodoList", "null"))


def test_the_image_of_a_list(seeded: Client) -> None:
    response = seeded.get("/todo-lists/2/todo-list-image")
    assert (response.status_code, response.json()) == (
        404, not_found("TodoListImage", '{"todoListId":2}'))
    created = seeded.post("/todo-lists/2/todo-list-image", json={"value": "work.png"})
    assert created.status_code == 200
    assert created.json() == {"id": 2, "value": "work.png", "todoListId": 2}
    found = seeded.get("/todo-lists/2/todo-list-image")
    assert (found.status_code, found.json()) == (200, created.json())
    assert found.headers["etag"] == created.headers["etag"]
    assert get(seeded, "/todo-lists/1/todo-list-image", {"fields": ["value"]}) == {
        "value": "home.png"}

    again = seeded.post("/todo-lists/2/todo-list-image", json={"value": "other.png"})
    assert again.status_code == 409
    assert again.json() == error(409, "ConflictError",
                                 "A row with the same todo_list_id already exists.",
                                 "UNIQUE_VIOLATION")
    assert get(seeded, "/todo-lists/2/todo-list-image") == created.json()

    refused = seeded.post("/todo-lists/2/todo-list-image", json={"value": "x", "todoListId": 1})
    assert refused.status_code == 422
    assert refused.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                   "VALIDATION_FAILED", [unknown("", "todoListId")])


# -- include --------------------------------------------------------------------------------


def test_include_the_todos_and_the_image_of_lists(seeded: Client) -> None:
    found = get(seeded, "/todo-lists", {"include": ["todos", "image"], "limit": 3})
    assert found == [
        {**LISTS[0], "todos": [MILK, EGGS], "image": IMAGE},
        {**LISTS[1], "todos": [MAIL]},
        {**LISTS[2], "todos": []},
    ]
    assert get(seeded, "/todo-lists/1", {"include": ["image"]}) == {**LISTS[0], "image": IMAGE}
    assert get(seeded, "/todo-lists", **{"filter[include][0]": "todos",
                                         "filter[where][id]": "2"}) == [
        {**LISTS[1], "todos": [MAIL]}]


def test_include_the_list_of_todos(seeded: Client) -> None:
    assert get(seeded, "/todos", {"include": [{"relation": "todoList"}]}) == [
        {**MILK, "todoList": LISTS[0]}, {**EGGS, "todoList": LISTS[0]},
        {**MAIL, "todoList": LISTS[1]}, NAP]
    assert get(seeded, "/todos/3", {"include": ["todoList"]}) == {**MAIL, "todoList": LISTS[1]}


def test_include_with_a_scope(seeded: Client) -> None:
    scope = {"where": {"title": {"neq": "mail"}}, "order": "title",
             "fields": ["title", "isComplete"]}
    found = get(seeded, "/todo-lists", {"include": [{"relation": "todos", "scope": scope}],
                                        "fields": ["title"], "limit": 3})
    assert found == [
        {"title": "home", "todos": [{"title": "eggs", "isComplete": True},
                                    {"title": "milk", "isComplete": False}]},
        {"title": "work", "todos": []},
        {"title": "garden", "todos": []},
    ]
    # The limit is per list, not for all lists together.
    scope = {"order": "title", "limit": 1, "fields": {"title": True}}
    found = get(seeded, "/todo-lists", {"include": [{"relation": "todos", "scope": scope}],
                                        "where": {"id": {"lt": 3}}})
    assert found == [{**LISTS[0], "todos": [{"title": "eggs"}]},
                     {**LISTS[1], "todos": [{"title": "mail"}]}]
    # Nested: each todo's list, with that list's image.
    scope = {"fields": ["title"], "include": ["image"]}
    found = get(seeded, "/todos", {"include": [{"relation": "todoList", "scope": scope}],
                                   "where": {"id": {"inq": [1, 3]}}})
    assert found == [{**MILK, "todoList": {"title": "home", "image": IMAGE}},
                     {**MAIL, "todoList": {"title": "work"}}]


def test_include_of_an_unknown_relation_or_property_is_a_400(seeded: Client) -> None:
    raw = '{"include":["owner"]}'
    assert seeded.get("/todo-lists", params={"filter": raw}).json() == bad_parameter(
        "filter", raw, [
            enum_of("/include/0", "todos", "image"), of_type("/include/0", "object"),
            of_type("/include/0", "object"), any_of("/include/0"),
        ])
    raw = '{"include":[{"relation":"todos","scope":{"where":{"colour":1}}}]}'
    assert seeded.get("/todo-lists", params={"filter": raw}).json() == bad_parameter(
        "filter", raw, [
            of_type("/include/0", "string"), enum_of("/include/0", "todos", "image"),
            unknown("/include/0/scope/where", "colour"),
            enum_of("/include/0/relation", "image"),
            unknown("/include/0/scope/where", "colour"), any_of("/include/0"),
        ])


# -- what the database refuses --------------------------------------------------------------


def test_deleting_a_list_that_still_has_todos_or_an_image_is_409(seeded: Client) -> None:
    response = seeded.delete("/todo-lists/2")
    assert (response.status_code, response.json()) == (409, REFERENCED)
    assert get(seeded, "/todo-lists/2/todos") == [MAIL]
    assert seeded.delete("/todo-lists/2/todos").json() == {"count": 1}
    assert seeded.delete("/todo-lists/2").status_code == 204

    assert seeded.delete("/todo-lists/1/todos").json() == {"count": 2}
    response = seeded.delete("/todo-lists/1")  # its image still refers to it
    assert (response.status_code, response.json()) == (409, REFERENCED)
    assert get(seeded, "/todo-lists/1") == LISTS[0]


def test_a_todo_in_a_missing_list_is_409(seeded: Client) -> None:
    for response in (seeded.post("/todos", json={"title": "x", "todoListId": 99}),
                     seeded.patch("/todos/1", json={"todoListId": 99}),
                     seeded.put("/todos/1", json={"title": "x", "todoListId": 99}),
                     seeded.patch("/todos", json={"todoListId": 99})):
        assert (response.status_code, response.json()) == (409, MISSING_REFERENCE)
    assert get(seeded, "/todos") == TODOS
    moved = seeded.patch("/todos/4", json={"todoListId": 3})
    assert moved.status_code == 204
    assert get(seeded, "/todo-lists/3/todos") == [{**NAP, "todoListId": 3}]


# -- ETag and If-Match ----------------------------------------------------------------------


def test_etags_guard_against_lost_updates(client: Client) -> None:
    created = client.post("/todo-lists", json=HOME)
    tag = created.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2
    assert client.get("/todo-lists/1").headers["etag"] == tag

    changed = client.patch("/todo-lists/1", json={"color": "pink"}, headers={"If-Match": tag})
    assert (changed.status_code, changed.content) == (204, b"")
    fresh = changed.headers["etag"]
    assert fresh != tag
    assert client.get("/todo-lists/1").headers["etag"] == fresh

    for response in (client.patch("/todo-lists/1", json={"color": "x"}, headers={"If-Match": tag}),
                     client.put("/todo-lists/1", json={"title": "x"}, headers={"If-Match": tag}),
                     client.delete("/todo-lists/1", headers={"If-Match": tag})):
        assert response.status_code == 412
        assert response.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert get(client, "/todo-lists/1") == {"id": 1, "title": "home", "color": "pink"}

    replaced = client.put("/todo-lists/1", json={"title": "house"}, headers={"If-Match": fresh})
    assert replaced.status_code == 204
    assert get(client, "/todo-lists/1") == {"id": 1, "title": "house"}
    newest = replaced.headers["etag"]
    assert client.delete("/todo-lists/1", headers={"If-Match": f'"other", {newest}'}
                         ).status_code == 204
    assert get(client, "/todo-lists") == []


def test_a_stale_if_match_is_a_412_naming_the_id_as_sent(client: Client) -> None:
    post(client, "/todo-lists", HOME)
    stale = '"stale"'
    expected = error(412, "PreconditionFailedError",
                     f"TodoList with id 1 has changed: its ETag is not one of If-Match {stale}",
                     "PRECONDITION_FAILED")
    for response in (client.patch("/todo-lists/1", json={"color": "x"}, headers={"If-Match": stale}),
                     client.put("/todo-lists/1", json={"title": "x"}, headers={"If-Match": stale}),
                     client.delete("/todo-lists/1", headers={"If-Match": stale})):
        assert (response.status_code, response.json()) == (412, expected)


# -- the filter language over HTTP ----------------------------------------------------------


JSON_FILTERS: list[tuple[dict[str, Any], list[int]]] = [
    ({"where": {"id": {"gt": 2}}}, [3, 4, 5]),
    ({"where": {"id": {"lte": 2}}}, [1, 2]),
    ({"where": {"color": "red"}}, [1, 5]),
    ({"where": {"color": {"neq": "red"}}}, [2, 4]),
    ({"where": {"color": None}}, [3]),
    ({"where": {"color": {"exists": True}}}, [1, 2, 4, 5]),
    ({"where": {"title": {"like": "%o%"}}}, [1, 2, 4, 5]),
    ({"where": {"title": {"like": "g%"}}}, [3]),
    ({"where": {"title": {"ilike": "G%"}}}, [3, 4]),
    ({"where": {"title": {"like": "%50\\%%"}}}, [5]),
    ({"where": {"title": {"like": "h_me"}}}, [1]),
    ({"where": {"title": {"nlike": "%o%"}}}, [3]),
    ({"where": {"id": {"inq": [1, 3, 99]}}}, [1, 3]),
    ({"where": {"id": {"nin": [1, 3]}}}, [2, 4, 5]),
    ({"where": {"id": {"between": [2, 4]}}}, [2, 3, 4]),
    ({"where": {"title": {"between": ["garden", "home"]}}}, [1, 3]),
    ({"where": {"title": {"regexp": "^[gh]"}}}, [1, 3]),
    ({"where": {"title": {"regexp": "/^G/i"}}}, [3, 4]),
    ({"where": {"title": {"regexp": "\\d+%"}}}, [5]),
    ({"where": {"title": "it's 50% done"}}, [5]),
    ({"where": {"or": [{"color": "blue"}, {"and": [{"color": "red"}, {"id": {"gt": 1}}]}]}},
     [2, 5]),
    ({"where": {"and": [{"or": [{"id": 1}, {"id": 4}]}, {"color": {"neq": "red"}}]}}, [4]),
    ({"where": {"title": "nothing"}}, []),
    ({"order": "title DESC"}, [2, 5, 1, 3, 4]),
    ({"order": ["color DESC", "title"]}, [1, 5, 4, 2, 3]),
    ({"order": "color"}, [3, 2, 4, 1, 5]),
    ({"order": "id DESC", "limit": 2}, [5, 4]),
    ({"limit": 2, "skip": 1}, [2, 3]),
    ({"offset": 4}, [5]),
    ({"where": {"color": "red"}, "order": "id DESC"}, [5, 1]),
]


def test_json_filters(seeded: Client) -> None:
    found = {json.dumps(filter_): ids(get(seeded, "/todo-lists", filter_))
             for filter_, _ in JSON_FILTERS}
    assert found == {json.dumps(filter_): expected for filter_, expected in JSON_FILTERS}
    assert get(seeded, "/todo-lists", {"fields": ["title"], "limit": 2}) == [
        {"title": "home"}, {"title": "work"}]
    assert get(seeded, "/todo-lists", {"fields": {"color": False}, "where": {"id": 3}}) == [
        {"id": 3, "title": "garden"}]
    assert get(seeded, "/todo-lists/count", where='{"title":{"like":"%o%"}}') == {"count": 4}


DEEP_OBJECT_FILTERS: list[tuple[dict[str, str], list[int]]] = [
    ({"filter[where][id][gt]": "2"}, [3, 4, 5]),
    ({"filter[order][0]": "title DESC"}, [2, 5, 1, 3, 4]),
    ({"filter[order][0]": "color DESC", "filter[order][1]": "title"}, [1, 5, 4, 2, 3]),
    ({"filter[where][or][0][id]": "1", "filter[where][or][1][id]": "2"}, [1, 2]),
    ({"filter[limit]": "2"}, [1, 2]),
    ({"filter[limit]": "2", "filter[skip]": "3"}, [4, 5]),
    ({"filter[where][title][like]": "%o%"}, [1, 2, 4, 5]),
    ({"filter[where][title][ilike]": "g%"}, [3, 4]),
    ({"filter[where][id][inq][0]": "1", "filter[where][id][inq][1]": "3"}, [1, 3]),
    ({"filter[where][id][between][0]": "2", "filter[where][id][between][1]": "4"}, [2, 3, 4]),
    ({"filter[where][title][regexp]": "^[gh]"}, [1, 3]),
    ({"filter[where][color][exists]": "false"}, [3]),
    ({"filter[where][and][0][or][0][id]": "1", "filter[where][and][0][or][1][id]": "4",
      "filter[where][and][1][color][neq]": "red"}, [4]),
]


def test_deep_object_filters(seeded: Client) -> None:
    found = {json.dumps(params): ids(get(seeded, "/todo-lists", **params))
             for params, _ in DEEP_OBJECT_FILTERS}
    assert found == {json.dumps(params): expected for params, expected in DEEP_OBJECT_FILTERS}
    assert get(seeded, "/todo-lists", **{"filter[fields][0]": "title"}) == [
        {"title": item["title"]} for item in LISTS]
    assert get(seeded, "/todo-lists/count", **{"where[color]": "red"}) == {"count": 2}


def test_an_unknown_property_is_a_400_naming_it(seeded: Client) -> None:
    where = '{"where":{"colour":"red"}}'
    expected = bad_parameter("filter", where, [unknown("/where", "colour")])
    assert seeded.get("/todo-lists", params={"filter": where}).json() == expected
    assert seeded.get("/todo-lists", params={"filter[where][colour]": "red"}).json() == expected
    order = '{"order":"colour DESC"}'
    assert seeded.get("/todo-lists", params={"filter": order}).json() == bad_parameter(
        "filter", order, [enum_of("/order", *ORDER_KEYS), of_type("/order", "array"),
                          any_of("/order")])
    fields = '{"fields":["colour"]}'
    assert seeded.get("/todo-lists", params={"filter": fields}).json() == bad_parameter(
        "filter", fields, [of_type("/fields", "object"),
                           enum_of("/fields/0", "id", "title", "color"), any_of("/fields")])
    fields = '{"fields":{"colour":true}}'
    assert seeded.get("/todo-lists", params={"filter": fields}).json() == bad_parameter(
        "filter", fields, [unknown("/fields", "colour"), of_type("/fields", "array"),
                           any_of("/fields")])
    expected = bad_parameter("where", '{"colour":"red"}', [unknown("", "colour")])
    for response in (seeded.get("/todo-lists/count", params={"where": '{"colour":"red"}'}),
                     seeded.patch("/todo-lists", params={"where[colour]": "red"}, json={}),
                     seeded.delete("/todo-lists/1/todos", params={"where": '{"colour":"red"}'})):
        assert (response.status_code, response.json()) == (400, expected)


PROTO = '{"where":{"__proto__":{"id":1}}}'
PROTO_IN_OPERATOR = '{"where":{"title":{"__proto__":1}}}'
CONSTRUCTOR = '{"where":{"constructor":{"prototype":{"id":1}}}}'


def test_prototype_keys_are_a_400(client: Client) -> None:
    """LoopBack's `parseJson` rules, in the JSON form and the deepObject form alike."""
    cases = [
        ({"filter": PROTO}, json.dumps(PROTO), "__proto__"),
        ({"filter": PROTO_IN_OPERATOR}, json.dumps(PROTO_IN_OPERATOR), "__proto__"),
        ({"filter": CONSTRUCTOR}, json.dumps(CONSTRUCTOR), "constructor.prototype"),
        ({"filter[where][__proto__][id]": "1"}, '{"where":{"__proto__":{"id":"1"}}}',
         "__proto__"),
        ({"filter[where][constructor][prototype][id]": "1"},
         '{"where":{"constructor":{"prototype":{"id":"1"}}}}', "constructor.prototype"),
    ]
    for params, shown, key in cases:
        response = client.get("/todo-lists", params=params)
        assert (response.status_code, response.json()) == (400, bad_parameter(
            "filter", shown, {"syntaxError": f'JSON string cannot contain "{key}" key.'})), params
    response = client.get("/todo-lists/count", params={"where": '{"constructor":{"prototype":{}}}'})
    assert (response.status_code, response.json()) == (400, bad_parameter(
        "where", json.dumps('{"constructor":{"prototype":{}}}'),
        {"syntaxError": 'JSON string cannot contain "constructor.prototype" key.'}))


HOSTILE = ["' OR '1'='1", "home' --", "'; DROP TABLE todo_list; --", '" OR ""="',
           "1; DELETE FROM todo", "') OR ('a'='a", "%' OR 1=1 --", "\\'; DROP TABLE todo; --"]


def test_hostile_strings_in_a_filter_change_nothing(seeded: Client) -> None:
    before = (get(seeded, "/todo-lists"), get(seeded, "/todos"))
    for text in HOSTILE:
        for filter_ in ({"where": {"title": text}}, {"where": {"title": {"like": text}}},
                        {"where": {"title": {"ilike": text}}},
                        {"where": {"title": {"inq": [text, "nothing"]}}},
                        {"where": {"or": [{"title": text}, {"color": text}]}}):
            assert get(seeded, "/todo-lists", filter_) == [], filter_
        assert ids(get(seeded, "/todo-lists", {"where": {"title": {"neq": text}}})) == [
            1, 2, 3, 4, 5]
        assert get(seeded, "/todo-lists/1/todos", {"where": {"title": text}}) == []
        assert seeded.delete("/todo-lists/1/todos", params={
            "where": json.dumps({"title": text})}).json() == {"count": 0}
        assert seeded.patch("/todo-lists", params={"where": json.dumps({"color": text})},
                            json={"title": "x"}).json() == {"count": 0}
    for params in ({"filter": json.dumps({"order": "title; DROP TABLE todo_list"})},
                   {"filter": json.dumps({"where": {"title = title OR 1=1 --": 1}})},
                   {"filter": json.dumps({"fields": ["title FROM todo_list; --"]})},
                   {"filter[where][id]": "1 OR 1=1"}):
        assert seeded.get("/todo-lists", params=params).status_code == 400, params
    assert seeded.get("/todo-lists/1%20OR%201=1").json() == bad_parameter("id", '"1 OR 1=1"')
    assert (get(seeded, "/todo-lists"), get(seeded, "/todos")) == before

    # Stored as text, and found as text.
    for text in HOSTILE:
        created = post(seeded, "/todo-lists", {"title": text})
        assert get(seeded, "/todo-lists", {"where": {"title": text}}) == [created]
    assert get(seeded, "/todo-lists/count") == {"count": 5 + len(HOSTILE)}
    assert get(seeded, "/todos") == TODOS


# -- the published contract -----------------------------------------------------------------


def test_the_published_spec_shows_what_is_derived(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    operation_ids = {(method.upper(), path): operation["operationId"]
                     for path, item in spec["paths"].items() for method, operation in item.items()}
    assert len(operation_ids) == 23 + 1  # and the summary, written by hand
    assert operation_ids[("GET", "/todo-lists")] == "TodoListController.find"
    assert operation_ids[("DELETE", "/todo-lists/{id}")] == "TodoListController.deleteById"
    assert operation_ids[("PATCH", "/todo-lists/{id}/todos")] == "TodoListTodoController.patch"
    assert operation_ids[("GET", "/todos/{id}/todo-list")] == (
        "TodoTodoListController.getTodoList")
    assert operation_ids[("POST", "/todo-lists/{id}/todo-list-image")] == (
        "TodoListTodoListImageController.create")
    # Good input for other tools: a summary each, a title per schema, none of Charter's own keys.
    assert all(operation["summary"] for item in spec["paths"].values()
               for operation in item.values())
    titles = [schema.get("title") for schema in spec["components"]["schemas"].values()]
    assert len(set(titles)) == len(titles)
    assert _charter_keys(spec) == set()

    nested = spec["paths"]["/todo-lists/{id}/todos"]
    assert [p["name"] for p in nested["delete"]["parameters"]] == ["id", "where"]
    assert nested["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewTodoInTodoList"}
    guarded = spec["paths"]["/todo-lists/{id}"]["put"]
    assert [p["name"] for p in guarded["parameters"]] == ["id", "If-Match"]
    assert {"204", "404", "409", "412", "422", "503"} <= set(guarded["responses"])

    schemas = spec["components"]["schemas"]
    declared = ["id", "title", "desc", "isComplete", "remindAtAddress", "remindAtGeo", "tag",
                "todoListId"]
    assert list(schemas["Todo"]["properties"]) == declared
    assert list(schemas["NewTodo"]["properties"]) == declared[1:]
    assert schemas["NewTodo"]["required"] == ["title"]
    assert list(schemas["TodoPartial"]["properties"]) == declared
    assert "required" not in schemas["TodoPartial"]
    assert list(schemas["TodoWithRelations"]["properties"]) == [*declared, "todoList"]
    assert list(schemas["NewTodoInTodoList"]["properties"]) == declared[1:-1]
    assert list(schemas["Todo.Where"]["properties"]) == [*declared, "and", "or"]
    assert list(schemas["Todo.Filter"]["properties"]) == [
        "offset", "limit", "skip", "order", "where", "fields", "include"]
    assert "where" not in schemas["Todo.Filter1"]["properties"]
    assert schemas["Todo.Fields"]["anyOf"][1]["items"]["enum"] == declared
    # A JSON property (`tag`) cannot be ordered by.
    assert schemas["Todo.OrderKey"]["enum"] == [
        f"{name}{direction}" for name in declared if name != "tag"
        for direction in ("", " ASC", " DESC")]
    assert list(schemas["TodoListWithRelations"]["properties"]) == [
        "id", "title", "color", "todos", "image"]
    assert list(schemas["NewTodoListImageInTodoList"]["properties"]) == ["value"]
    assert schemas["loopback.Count"]["properties"] == {"count": {"type": "number"}}


def _charter_keys(node: Any) -> set[str]:
    """Every key of `node`, however deep, that only Charter reads."""
    if isinstance(node, list):
        return {key for item in node for key in _charter_keys(item)}
    if not isinstance(node, dict):
        return set()
    own = {key for key in node if key in ("x-entity", "x-crud", "x-column")
           or key.startswith("x-charter-")}
    return own.union(*(_charter_keys(value) for value in node.values()))


# -- a database that goes away --------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_a_database_that_goes_away_is_503_until_it_is_back(server: str, tmp_path: Path) -> None:
    url = make_url(database_url(server, tmp_path))
    proxy = Proxy(url.host or "127.0.0.1", url.port or (5432 if server == "postgresql" else 3306))
    proxy.start()
    app: App | None = None
    try:
        app = example_app(url.set(port=proxy.port).render_as_string(hide_password=False))
        with Client(app) as client:
            assert post(client, "/todo-lists", HOME) == {"id": 1, **HOME}

            proxy.stop()
            unavailable = error(503, "ServiceUnavailableError",
                                "The database is unavailable. Try again later.",
                                "DATABASE_UNAVAILABLE")
            for response in (client.get("/todo-lists"), client.post("/todo-lists", json=WORK),
                             client.get("/todo-lists/1/todos")):
                assert (response.status_code, response.json()) == (503, unavailable)
                assert response.headers["retry-after"] == "1"

            proxy.start()  # the same port: the server is back, and the same app answers
            response = client.get("/todo-lists")
            assert (response.status_code, response.json()) == (200, [{"id": 1, **HOME}])
            assert post(client, "/todo-lists", WORK) == {"id": 2, **WORK}
    finally:
        proxy.stop()
        if app is not None:
            app.close()
