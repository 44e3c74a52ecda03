"""End to end over `spec/` and `handlers/`: every TodoController operation and status code.

Error bodies are compared whole, as LoopBack 4 writes them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.api.conftest import Client

MILK = {"title": "buy milk", "desc": "2 litres", "isComplete": False}
DOG = {"title": "walk dog", "isComplete": True, "tag": {"priority": 1, "labels": ["pets"]}}
MUM = {"title": "call mum", "isComplete": True, "remindAtAddress": "1 Main St",
       "remindAtGeo": "51.5,-0.12"}
SEEDED = [{"id": 1, **MILK}, {"id": 2, **DOG}, {"id": 3, **MUM}]


def error(status: int, name: str, message: str, code: str | None = None,
          details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"statusCode": status, "name": name, "message": message}
    if code is not None:
        inner["code"] = code
    if details is not None:
        inner["details"] = details
    return {"error": inner}


def not_found(id_: object) -> dict[str, Any]:
    return error(404, "NotFoundError", f"Entity not found: Todo with id {id_}",
                 "ENTITY_NOT_FOUND")


INVALID_BODY = ("The request body is invalid. See error object `details` property for more "
                "info.")


@pytest.fixture
def seeded(client: Client) -> Client:
    for todo in (MILK, DOG, MUM):
        assert client.post("/todos", json=todo).status_code == 200
    return client


def find(client: Client, filter_: dict[str, Any] | None = None, **params: str) -> Any:
    if filter_ is not None:
        params["filter"] = json.dumps(filter_)
    response = client.get("/todos", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(todos: list[dict[str, Any]]) -> list[int]:
    return [todo["id"] for todo in todos]


# -- create ---------------------------------------------------------------------------------


def test_create_returns_the_todo_with_its_new_id(client: Client) -> None:
    response = client.post("/todos", json=DOG)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": 1, **DOG}
    assert client.post("/todos", json={"title": "second"}).json() == {"id": 2, "title": "second"}


def test_create_rejects_an_id_and_a_wrong_type_with_loopbacks_body(client: Client) -> None:
    response = client.post("/todos", json={"title": 1, "id": 3})
    assert response.status_code == 422
    assert response.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                     "VALIDATION_FAILED", [
        {"path": "", "code": "additionalProperties",
         "message": "must NOT have additional properties", "info": {"additionalProperty": "id"}},
        {"path": "/title", "code": "type", "message": "must be string",
         "info": {"type": "string"}},
    ])
    assert find(client) == []


def test_create_requires_a_title(client: Client) -> None:
    response = client.post("/todos", json={"desc": "no title"})
    assert response.status_code == 422
    assert response.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                    "VALIDATION_FAILED", [
        {"path": "", "code": "required", "message": "must have required property 'title'",
         "info": {"missingProperty": "title"}},
    ])


def test_create_without_a_body_is_a_400(client: Client) -> None:
    response = client.post("/todos", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MISSING_REQUIRED_PARAMETER"


def test_create_with_malformed_json_is_a_400(client: Client) -> None:
    response = client.post("/todos", content=b'{"title": ',
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST_BODY"


def test_tag_holds_any_json(client: Client) -> None:
    for tag in ("x", 1.5, [1, "two", None], {"nested": {"deep": True}}, False):
        created = client.post("/todos", json={"title": "t", "tag": tag}).json()
        assert created["tag"] == tag
        assert client.get(f"/todos/{created['id']}").json()["tag"] == tag


# -- findById -------------------------------------------------------------------------------


def test_find_by_id(seeded: Client) -> None:
    response = seeded.get("/todos/2")
    assert response.status_code == 200
    assert response.json() == {"id": 2, **DOG}


def test_find_by_id_with_fields(seeded: Client) -> None:
    response = seeded.get("/todos/3", params={"filter": json.dumps({"fields": ["title"]})})
    assert response.json() == {"title": "call mum"}
    response = seeded.get("/todos/3", params={"filter[fields][title]": "false"})
    assert response.json() == {"id": 3, **{k: v for k, v in MUM.items() if k != "title"}}


def test_find_by_id_filter_has_no_where(seeded: Client) -> None:
    response = seeded.get("/todos/1", params={"filter": json.dumps({"where": {"id": 2}})})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    assert response.json()["error"]["message"] == (
        'Invalid data {"where":{"id":2}} for parameter "filter".')


def test_find_by_missing_id_is_entity_not_found(seeded: Client) -> None:
    response = seeded.get("/todos/99")
    assert response.status_code == 404
    assert response.json() == not_found(99)


def test_find_by_id_that_is_not_a_number_is_a_400(seeded: Client) -> None:
    response = seeded.get("/todos/abc")
    assert response.status_code == 400
    assert response.json() == error(400, "BadRequestError",
                                     'Invalid data "abc" for parameter "id".',
                                     "INVALID_PARAMETER_VALUE")


def test_find_by_id_that_no_row_can_have_is_a_404(seeded: Client) -> None:
    assert seeded.get("/todos/1.5").json() == not_found(1.5)
    assert seeded.get("/todos/2.0").json() == {"id": 2, **DOG}
    # Beyond SQLite's integers: shown as JavaScript shows the number, and still a 404.
    assert seeded.get("/todos/1180591620717411303424").json() == not_found(
        "1.1805916207174113e+21")


# -- find -----------------------------------------------------------------------------------


def test_find_returns_all_in_id_order(seeded: Client) -> None:
    assert find(seeded) == SEEDED


def test_find_on_an_empty_table(client: Client) -> None:
    assert find(client) == []


@pytest.mark.parametrize(("filter_", "expected"), [
    ({"limit": 2}, [1, 2]),
    ({"skip": 1}, [2, 3]),
    ({"offset": 2}, [3]),
    ({"limit": 1, "skip": 1}, [2]),
    ({"skip": 3}, []),
    ({"order": "title"}, [1, 3, 2]),
    ({"order": "title ASC"}, [1, 3, 2]),
    ({"order": "title DESC"}, [2, 3, 1]),
    ({"order": ["isComplete DESC", "title"]}, [3, 2, 1]),
    ({"order": ["isComplete", "id DESC"]}, [1, 3, 2]),
    ({"order": "title DESC", "limit": 2, "skip": 1}, [3, 1]),
    ({"where": {"isComplete": True}}, [2, 3]),
    ({"where": {"isComplete": False}}, [1]),
    ({"where": {"title": "buy milk"}}, [1]),
    ({"where": {"title": "call mum", "isComplete": True}}, [3]),
    ({"where": {"title": "call mum", "isComplete": False}}, []),
    ({"where": {"id": 2}}, [2]),
    ({"where": {"isComplete": True}, "order": "title DESC"}, [2, 3]),
], ids=json.dumps)
def test_find_with_a_json_filter(seeded: Client, filter_: dict[str, Any],
                                 expected: list[int]) -> None:
    assert ids(find(seeded, filter_)) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({"title": True}, [{"title": t["title"]} for t in SEEDED]),
    (["id", "title"], [{"id": t["id"], "title": t["title"]} for t in SEEDED]),
    ({"title": True, "desc": False}, [{"title": t["title"]} for t in SEEDED]),
    ({"desc": False, "tag": False, "remindAtAddress": False, "remindAtGeo": False},
     [{"id": 1, "title": "buy milk", "isComplete": False},
      {"id": 2, "title": "walk dog", "isComplete": True},
      {"id": 3, "title": "call mum", "isComplete": True}]),
    (["desc"], [{"desc": "2 litres"}, {}, {}]),
    ({}, SEEDED),
    ([], SEEDED),
], ids=json.dumps)
def test_find_with_fields(seeded: Client, fields: Any, expected: list[dict[str, Any]]) -> None:
    assert find(seeded, {"fields": fields}) == expected


@pytest.mark.parametrize(("params", "expected"), [
    ({"filter[where][isComplete]": "true"}, [2, 3]),
    ({"filter[where][title]": "walk dog"}, [2]),
    ({"filter[order][0]": "title DESC"}, [2, 3, 1]),
    ({"filter[order]": "title"}, [1, 3, 2]),
    ({"filter[order][0]": "isComplete DESC", "filter[order][1]": "title"}, [3, 2, 1]),
    ({"filter[limit]": "2"}, [1, 2]),
    ({"filter[limit]": "2", "filter[skip]": "1"}, [2, 3]),
    ({"filter[offset]": "1", "filter[where][isComplete]": "true"}, [3]),
], ids=json.dumps)
def test_find_with_a_deep_object_filter(seeded: Client, params: dict[str, str],
                                        expected: list[int]) -> None:
    assert ids(find(seeded, **params)) == expected


def test_find_with_deep_object_fields(seeded: Client) -> None:
    assert find(seeded, **{"filter[fields][0]": "title"}) == [
        {"title": t["title"]} for t in SEEDED]
    assert find(seeded, **{"filter[fields][title]": "true", "filter[limit]": "1"}) == [
        {"title": "buy milk"}]


def _bad_filter(response: Any, raw: str) -> None:
    """A filter the spec does not allow: 400 for the whole `filter` parameter."""
    assert response.status_code == 400, response.text
    body = response.json()["error"]
    assert body["statusCode"] == 400
    assert body["name"] == "BadRequestError"
    assert body["code"] == "INVALID_PARAMETER_VALUE"
    assert body["message"] == f'Invalid data {raw} for parameter "filter".'


@pytest.mark.parametrize("filter_", [
    {"where": {"colour": "red"}},
    {"order": "colour DESC"},
    {"order": ["title", "colour"]},
    {"fields": ["colour"]},
    {"fields": {"colour": True}},
    {"where": {"title": {"lyke": "buy%"}}},  # not an operator
    {"limit": 0},
    {"skip": -1},
    {"include": ["owner"]},
], ids=json.dumps)
def test_find_rejects_an_unknown_property_or_bad_value(seeded: Client,
                                                       filter_: dict[str, Any]) -> None:
    raw = json.dumps(filter_, separators=(",", ":"))
    _bad_filter(seeded.get("/todos", params={"filter": raw}), raw)


def test_unknown_where_property_names_the_property(seeded: Client) -> None:
    response = seeded.get("/todos", params={"filter": '{"where":{"colour":"red"}}'})
    assert response.json() == error(
        400, "BadRequestError", 'Invalid data {"where":{"colour":"red"}} for parameter "filter".',
        "INVALID_PARAMETER_VALUE", [
            {"path": "/where", "code": "additionalProperties",
             "message": "must NOT have additional properties",
             "info": {"additionalProperty": "colour"}},
        ])


def test_unknown_deep_object_property_is_a_400(seeded: Client) -> None:
    response = seeded.get("/todos", params={"filter[where][colour]": "red"})
    _bad_filter(response, '{"where":{"colour":"red"}}')


def test_filter_that_is_not_json_is_a_400(seeded: Client) -> None:
    response = seeded.get("/todos", params={"filter": "{not json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"


# -- count ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "expected"), [
    (None, 3),
    ({}, 3),
    ({"isComplete": True}, 2),
    ({"title": "buy milk"}, 1),
    ({"title": "nothing"}, 0),
], ids=json.dumps)
def test_count(seeded: Client, where: dict[str, Any] | None, expected: int) -> None:
    params = {} if where is None else {"where": json.dumps(where)}
    response = seeded.get("/todos/count", params=params)
    assert response.status_code == 200
    assert response.json() == {"count": expected}


def test_count_with_a_deep_object_where(seeded: Client) -> None:
    response = seeded.get("/todos/count", params={"where[isComplete]": "false"})
    assert response.json() == {"count": 1}


def test_count_rejects_an_unknown_property(seeded: Client) -> None:
    response = seeded.get("/todos/count", params={"where": '{"colour":"red"}'})
    assert response.status_code == 400
    assert response.json() == error(
        400, "BadRequestError", 'Invalid data {"colour":"red"} for parameter "where".',
        "INVALID_PARAMETER_VALUE", [
            {"path": "", "code": "additionalProperties",
             "message": "must NOT have additional properties",
             "info": {"additionalProperty": "colour"}},
        ])


# -- updateAll ------------------------------------------------------------------------------


def test_update_all_matching(seeded: Client) -> None:
    response = seeded.patch("/todos", params={"where": '{"isComplete":true}'},
                            json={"desc": "done"})
    assert response.status_code == 200
    assert response.json() == {"count": 2}
    assert [t.get("desc") for t in find(seeded)] == ["2 litres", "done", "done"]


def test_update_all_without_where_updates_every_todo(seeded: Client) -> None:
    response = seeded.patch("/todos", json={"isComplete": True})
    assert response.json() == {"count": 3}
    assert seeded.get("/todos/count", params={"where": '{"isComplete":true}'}).json() == {
        "count": 3}


def test_update_all_ignores_an_id_in_the_body(seeded: Client) -> None:
    response = seeded.patch("/todos", params={"where": '{"id":1}'},
                            json={"id": 7, "title": "buy oat milk"})
    assert response.json() == {"count": 1}
    assert find(seeded)[0] == {**SEEDED[0], "title": "buy oat milk"}


def test_update_all_with_an_empty_body_counts_the_matches(seeded: Client) -> None:
    response = seeded.patch("/todos", params={"where[isComplete]": "true"}, json={})
    assert response.json() == {"count": 2}
    assert find(seeded) == SEEDED


def test_update_all_rejects_a_bad_body(seeded: Client) -> None:
    response = seeded.patch("/todos", json={"isComplete": "yes"})
    assert response.status_code == 422
    assert response.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                    "VALIDATION_FAILED", [
        {"path": "/isComplete", "code": "type", "message": "must be boolean",
         "info": {"type": "boolean"}},
    ])
    assert find(seeded) == SEEDED


# -- updateById -----------------------------------------------------------------------------


def test_update_by_id_changes_only_the_given_properties(seeded: Client) -> None:
    response = seeded.patch("/todos/1", json={"isComplete": True, "tag": "dairy"})
    assert response.status_code == 204
    assert response.content == b""
    assert seeded.get("/todos/1").json() == {**SEEDED[0], "isComplete": True, "tag": "dairy"}
    assert find(seeded)[1:] == SEEDED[1:]


def test_update_by_missing_id_is_entity_not_found(seeded: Client) -> None:
    response = seeded.patch("/todos/99", json={"title": "x"})
    assert response.status_code == 404
    assert response.json() == not_found(99)


def test_update_by_id_rejects_unknown_properties(seeded: Client) -> None:
    response = seeded.patch("/todos/1", json={"colour": "red"})
    assert response.status_code == 422
    assert response.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                    "VALIDATION_FAILED", [
        {"path": "", "code": "additionalProperties",
         "message": "must NOT have additional properties",
         "info": {"additionalProperty": "colour"}},
    ])


# -- replaceById ----------------------------------------------------------------------------


def test_replace_by_id_replaces_every_property(seeded: Client) -> None:
    response = seeded.put("/todos/3", json={"title": "call dad", "isComplete": False})
    assert response.status_code == 204
    assert response.content == b""
    assert seeded.get("/todos/3").json() == {"id": 3, "title": "call dad", "isComplete": False}


def test_replace_by_id_keeps_the_paths_id(seeded: Client) -> None:
    assert seeded.put("/todos/3", json={"id": 9, "title": "call dad"}).status_code == 204
    assert ids(find(seeded)) == [1, 2, 3]
    assert seeded.get("/todos/3").json() == {"id": 3, "title": "call dad"}


def test_replace_by_missing_id_is_entity_not_found(seeded: Client) -> None:
    response = seeded.put("/todos/99", json={"title": "x"})
    assert response.status_code == 404
    assert response.json() == not_found(99)


def test_replace_requires_a_title(seeded: Client) -> None:
    response = seeded.put("/todos/1", json={"desc": "no title"})
    assert response.status_code == 422
    assert response.json() == error(422, "UnprocessableEntityError", INVALID_BODY,
                                    "VALIDATION_FAILED", [
        {"path": "", "code": "required", "message": "must have required property 'title'",
         "info": {"missingProperty": "title"}},
    ])
    assert seeded.get("/todos/1").json() == SEEDED[0]


# -- deleteById -----------------------------------------------------------------------------


def test_delete_twice_is_204_then_404(seeded: Client) -> None:
    first = seeded.delete("/todos/2")
    assert first.status_code == 204
    assert first.content == b""
    second = seeded.delete("/todos/2")
    assert second.status_code == 404
    assert second.json() == not_found(2)
    assert seeded.get("/todos/2").json() == not_found(2)
    assert ids(find(seeded)) == [1, 3]


def test_delete_with_an_id_that_is_not_a_number_is_a_400(seeded: Client) -> None:
    response = seeded.delete("/todos/two")
    assert response.status_code == 400
    assert response.json() == error(400, "BadRequestError",
                                     'Invalid data "two" for parameter "id".',
                                     "INVALID_PARAMETER_VALUE")


# -- the contract itself --------------------------------------------------------------------


def test_published_spec_has_loopbacks_operation_ids(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    operations = {
        (method.upper(), path): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items() if isinstance(operation, dict)
        and "operationId" in operation and path != "/todo-lists/{id}/summary"  # by hand
    }
    assert operations == {
        ("POST", "/todos"): "TodoController.create",
        ("GET", "/todos"): "TodoController.find",
        ("PATCH", "/todos"): "TodoController.updateAll",
        ("GET", "/todos/count"): "TodoController.count",
        ("GET", "/todos/{id}"): "TodoController.findById",
        ("PUT", "/todos/{id}"): "TodoController.replaceById",
        ("PATCH", "/todos/{id}"): "TodoController.updateById",
        ("DELETE", "/todos/{id}"): "TodoController.deleteById",
        ("GET", "/todos/{id}/todo-list"): "TodoTodoListController.getTodoList",
        ("POST", "/todo-lists"): "TodoListController.create",
        ("GET", "/todo-lists"): "TodoListController.find",
        ("PATCH", "/todo-lists"): "TodoListController.updateAll",
        ("GET", "/todo-lists/count"): "TodoListController.count",
        ("GET", "/todo-lists/{id}"): "TodoListController.findById",
        ("PUT", "/todo-lists/{id}"): "TodoListController.replaceById",
        ("PATCH", "/todo-lists/{id}"): "TodoListController.updateById",
        ("DELETE", "/todo-lists/{id}"): "TodoListController.deleteById",
        ("GET", "/todo-lists/{id}/todos"): "TodoListTodoController.find",
        ("POST", "/todo-lists/{id}/todos"): "TodoListTodoController.create",
        ("PATCH", "/todo-lists/{id}/todos"): "TodoListTodoController.patch",
        ("DELETE", "/todo-lists/{id}/todos"): "TodoListTodoController.delete",
        ("GET", "/todo-lists/{id}/todo-list-image"): "TodoListTodoListImageController.get",
        ("POST", "/todo-lists/{id}/todo-list-image"): "TodoListTodoListImageController.create",
    }
