"""Entities: `x-entity` schemas read into typed entities, their defaults, relations and problems."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.data.entities import (
    Crud,
    Index,
    Owner,
    Relation,
    Through,
    foreign_keys,
    kebab_case,
    plural,
    read_entities,
    snake_case,
)


def read(schemas: dict[str, Any]) -> dict[str, Any]:
    """The entities of a document holding `schemas`; it must have no problem."""
    entities, problems = read_entities({"components": {"schemas": schemas}})
    assert problems == []
    return entities


def problems_of(schemas: dict[str, Any]) -> list[str]:
    return read_entities({"components": {"schemas": schemas}})[1]


def entity(properties: dict[str, Any], **marking: Any) -> dict[str, Any]:
    return {"type": "object", "x-entity": marking, "properties": properties}


ID = {"id": {"type": "integer"}}

# TodoList hasMany Todo and hasOne TodoListImage; Todo belongsTo TodoList and hasManyThrough
# Tag through TodoTag: LoopBack's todo-list example, with LoopBack's `number` keys.
TODO_LIST: dict[str, Any] = {
    "TodoList": entity({"id": {"type": "number"}, "title": {"type": "string"}}, relations={
        "todos": {"hasMany": "Todo"}, "image": {"hasOne": "TodoListImage"}}),
    "Todo": entity({"id": {"type": "number"}, "title": {"type": "string"},
                    "todoListId": {"type": "number"}}, relations={
        "todoList": {"belongsTo": "TodoList"},
        "tags": {"hasManyThrough": "Tag", "through": {"entity": "TodoTag"}}}),
    "TodoListImage": entity({"id": {"type": "integer", "format": "int32"},
                             "value": {"type": "string"}, "todoListId": {"type": "number"}}),
    "Tag": entity({"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}}),
    "TodoTag": entity({"id": {"type": "integer"}, "todoId": {"type": "number"},
                       "tagId": {"type": "string", "format": "uuid"}}),
}


# -- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kebab", "snake"), [
    ("Todo", "todo", "todo"),
    ("TodoList", "todo-list", "todo_list"),
    ("TodoListImage", "todo-list-image", "todo_list_image"),
    ("HTMLPage", "html-page", "html_page"),
    ("page2Html", "page2-html", "page2_html"),
    ("todo_item", "todo-item", "todo_item"),
])
def test_names_in_kebab_and_snake_case(name: str, kebab: str, snake: str) -> None:
    assert (kebab_case(name), snake_case(name)) == (kebab, snake)


@pytest.mark.parametrize(("word", "words"), [
    ("todo", "todos"), ("category", "categories"), ("day", "days"), ("box", "boxes"),
    ("address", "addresses"), ("match", "matches"), ("wish", "wishes"), ("todo-list", "todo-lists"),
])
def test_plurals_for_route_names(word: str, words: str) -> None:
    assert plural(word) == words


# -- defaults -------------------------------------------------------------------------------

def test_defaults_table_in_snake_case_id_and_generated_integer_id() -> None:
    found = read({"TodoListImage": entity({**ID, "value": {"type": "string"}})})["TodoListImage"]
    assert (found.name, found.table, found.id, found.generated) == (
        "TodoListImage", "todo_list_image", "id", True)
    assert found.indexes == () and dict(found.relations) == {} and found.crud is None
    # A generated id is not required of a client; it comes from the database.
    assert found.id_property.required is False
    assert found.singular_path == "todo-list-image"


def test_x_entity_true_is_an_empty_marking() -> None:
    schema = {"type": "object", "x-entity": True, "properties": ID}
    assert read({"Note": schema})["Note"].table == "note"


@pytest.mark.parametrize(("schema", "kind", "generated"), [
    ({"type": "integer"}, "int64", True),
    ({"type": "integer", "format": "int32"}, "int32", True),
    ({"type": "number"}, "int64", True),  # LoopBack's `id: number` is an integer key
    ({"type": "string", "format": "uuid"}, "uuid", True),
    ({"type": "string"}, "string", False),
    ({"type": "string", "format": "date"}, "date", False),
])
def test_integer_number_and_uuid_ids_are_generated_by_default(
        schema: dict[str, Any], kind: str, generated: bool) -> None:
    found = read({"Note": entity({"id": schema})})["Note"]
    assert (found.id_property.kind, found.generated) == (kind, generated)
    assert found.id_property.required is not generated


def test_an_id_need_not_be_generated_or_be_called_id() -> None:
    found = read({"Note": entity({"code": {"type": "integer"}}, id="code", generated=False,
                                 table="my_notes")})["Note"]
    assert (found.id, found.generated, found.table) == ("code", False, "my_notes")
    assert found.id_property.required is True  # the client must send it


def test_a_number_id_that_is_not_generated_stays_a_number() -> None:
    found = read({"Note": entity({"id": {"type": "number"}}, generated=False)})["Note"]
    assert found.id_property.kind == "number"


@pytest.mark.parametrize(("schema", "kind", "max_length"), [
    ({"type": "string"}, "string", None),
    ({"type": "string", "maxLength": 80}, "string", 80),
    ({"type": "string", "format": "email"}, "string", None),
    ({"type": "string", "format": "date"}, "date", None),
    ({"type": "string", "format": "date-time"}, "datetime", None),
    ({"type": "string", "format": "uuid", "maxLength": 10}, "uuid", None),
    ({"type": "string", "enum": ["low", "medium"]}, "enum", 6),
    ({"enum": ["a", None]}, "enum", 1),
    ({"type": "integer"}, "int64", None),
    ({"type": "integer", "format": "int64"}, "int64", None),
    ({"type": "integer", "format": "int32"}, "int32", None),
    ({"type": "number", "format": "float"}, "number", None),
    ({"type": "boolean"}, "boolean", None),
    ({"type": "object"}, "json", None),
    ({"type": "array", "items": {"type": "string"}}, "json", None),
    ({}, "json", None),
    ({"enum": [1, 2]}, "json", None),
    ({"type": ["string", "null"]}, "string", None),  # 3.1's nullable
    ({"type": ["string", "integer"]}, "json", None),
])
def test_property_kinds(schema: dict[str, Any], kind: str, max_length: int | None) -> None:
    prop = read({"Note": entity({**ID, "p": schema})})["Note"].properties["p"]
    assert (prop.kind, prop.max_length) == (kind, max_length)


def test_properties_keep_required_default_read_only_hidden_and_column() -> None:
    schema = entity({**ID, "firstName": {"type": "string", "readOnly": True},
                     "done": {"type": "boolean", "default": False},
                     "secret": {"type": "string"},
                     "legacy": {"type": "string", "x-column": "LEGACY_COL"}}, hidden=["secret"])
    schema["required"] = ["firstName"]
    props = read({"Note": schema})["Note"].properties
    first, done, secret, legacy = (props[n] for n in ("firstName", "done", "secret", "legacy"))
    assert (first.column, first.required, first.read_only, first.has_default) == (
        "first_name", True, True, False)
    assert (done.required, done.has_default, done.default) == (False, True, False)
    assert secret.hidden and not done.hidden
    assert legacy.column == "LEGACY_COL"
    assert read({"Note": schema})["Note"].visible == ("id", "firstName", "done", "legacy")


def test_a_property_may_be_a_reference() -> None:
    schemas = {"Note": entity({**ID, "level": {"$ref": "#/components/schemas/Level"}}),
               "Level": {"type": "string", "enum": ["low", "high"]}}
    assert read(schemas)["Note"].properties["level"].kind == "enum"


def test_indexes_and_unique_shorthand() -> None:
    found = read({"Todo": entity(
        {**ID, "title": {"type": "string"}, "isComplete": {"type": "boolean"},
         "sku": {"type": "string"}},
        indexes=[["title"], "isComplete", {"properties": ["title", "isComplete"], "unique": True,
                                          "name": "done_titles"}],
        unique=[["sku"], {"properties": ["sku", "title"], "unique": False}])})["Todo"]
    assert found.indexes == (
        Index(("title",), False, "ix_todo_title"),
        Index(("isComplete",), False, "ix_todo_is_complete"),
        Index(("title", "isComplete"), True, "done_titles"),
        Index(("sku",), True, "uq_todo_sku"),
        Index(("sku", "title"), False, "ix_todo_sku_title"),  # an entry's own flag wins
    )


def test_crud_security_and_each_operations_own() -> None:
    crud = read({"Note": {**entity(ID), "x-crud": {
        "path": "/notes", "security": [{"bearer": []}],
        "operations": {"find": {"security": []}, "deleteById": {"security": [{"bearer": ["admin"]}]}},
    }}})["Note"].crud
    assert crud is not None
    assert crud.security_of("create") == crud.security_of() == [{"bearer": []}]
    assert crud.security_of("find") == []
    assert crud.security_of("deleteById") == [{"bearer": ["admin"]}]
    assert read({"Note": {**entity(ID), "x-crud": "/notes"}})["Note"].crud.security_of() is None


def test_owner() -> None:
    owned = {**ID, "userId": {"type": "integer", "readOnly": True}}
    assert read({"Note": entity(owned, owner="userId")})["Note"].owner == Owner("userId")
    assert read({"Note": entity(owned, owner={"property": "userId", "bypass": ["admin"]})})[
        "Note"].owner == Owner("userId", frozenset({"admin"}))


@pytest.mark.parametrize(("marking", "crud"), [
    ({"x-crud": "/notes"}, Crud("/notes")),
    ({"x-crud": {"path": "/v1/my.notes"}}, Crud("/v1/my.notes")),
    ({"x-crud": {"path": "/notes", "readonly": True}}, Crud("/notes", readonly=True)),
])
def test_crud(marking: dict[str, Any], crud: Crud) -> None:
    assert read({"Note": {**entity(ID), **marking}})["Note"].crud == crud


# -- problems -------------------------------------------------------------------------------

N = "/components/schemas/Note"


@pytest.mark.parametrize(("schema", "problems"), [
    ({**entity(ID), "x-entity": {"tabel": "x", "key": 1}},
     [f"{N}/x-entity: unknown key 'key'", f"{N}/x-entity: unknown key 'tabel'"]),
    ({**entity(ID), "x-entity": ["table"]}, [f"{N}/x-entity: must be an object (or true)"]),
    (entity({"code": {"type": "string"}}), [f"{N}/x-entity/id: no property 'id' to be the id"]),
    (entity(ID, id="code"), [f"{N}/x-entity/id: no property 'code' to be the id"]),
    ({"type": "string", "x-entity": {}},
     [f"{N}: an entity must be an object schema with properties"]),
    ({"type": "object", "x-entity": {}},
     [f"{N}: an entity must be an object schema with properties"]),
    (entity(ID, table="my notes"), [f"{N}/x-entity/table: 'my notes' is not a plain SQL name"]),
    (entity(ID, table="1st"), [f"{N}/x-entity/table: '1st' is not a plain SQL name"]),
    (entity(ID, table=7), [f"{N}/x-entity/table: 7 is not a plain SQL name"]),
    (entity(ID, indexes=[["title"]]), [f"{N}/x-entity/indexes/0: no property 'title'"]),
    (entity(ID, indexes=[[]]), [f"{N}/x-entity/indexes/0: an index is a list of property names"]),
    (entity(ID, indexes=[["id"], [1]]),
     [f"{N}/x-entity/indexes/1: an index is a list of property names"]),
    (entity(ID, indexes=[{"unique": True}]),
     [f"{N}/x-entity/indexes/0: an index is a list of property names"]),
    (entity(ID, unique=[["id", "nope"]]), [f"{N}/x-entity/unique/0: no property 'nope'"]),
    (entity(ID, hidden="secret"), [f"{N}/x-entity/hidden: must be a list of property names"]),
    (entity(ID, hidden=["secret"]), [f"{N}/x-entity/hidden: no property 'secret'"]),
    (entity(ID, hidden=["id"]),
     [f"{N}/properties/id: an id must be a plain value, not hidden"]),
    (entity({**ID, "secret": {"type": "string", "readOnly": True}}, hidden=["secret"]),
     [f"{N}/properties/secret: a hidden property is written by clients and never sent, so it "
      f"cannot be readOnly"]),
    (entity({"id": {"type": "object"}}, generated=False),
     [f"{N}/properties/id: an id must be a plain value, not hidden"]),
    (entity(ID, generated="yes"), [f"{N}/x-entity/generated: must be true or false"]),
    (entity({"id": {"type": "string"}}, generated=True),
     [f"{N}/x-entity/generated: only integer, number and uuid ids can be generated; 'id' is "
      f"string"]),
    (entity({**ID, "fooBar": {"type": "string"}, "foo_bar": {"type": "string"}}),
     [f"{N}/properties/foo_bar: column 'foo_bar' is also property 'fooBar''s"]),
    (entity({**ID, "p": {"$ref": "#/components/schemas/Nope"}}),
     [f"{N}/properties/p: unresolvable reference '#/components/schemas/Nope'"]),
    ({**entity(ID), "x-crud": {"readonly": True}},
     [f"{N}/x-crud: needs a path, e.g. {{path: /todos}}"]),
    ({**entity(ID), "x-crud": 3}, [f"{N}/x-crud: needs a path, e.g. {{path: /todos}}"]),
    ({**entity(ID), "x-crud": "notes"},
     [f"{N}/x-crud/path: 'notes' must be a plain path such as /todos"]),
    ({**entity(ID), "x-crud": "/notes/{id}"},
     [f"{N}/x-crud/path: '/notes/{{id}}' must be a plain path such as /todos"]),
    ({**entity(ID), "x-crud": "/notes/"},
     [f"{N}/x-crud/path: '/notes/' must be a plain path such as /todos"]),
    ({**entity(ID), "x-crud": {"path": "/notes", "readonly": "yes"}},
     [f"{N}/x-crud/readonly: must be true or false"]),
    ({**entity(ID), "x-crud": {"path": "/notes", "secure": True}},
     [f"{N}/x-crud: has no 'secure' (it takes path, readonly, security, operations)"]),
    ({**entity(ID), "x-crud": {"path": "/notes", "security": {"bearer": []}}},
     [f"{N}/x-crud/security: must be a list of security requirements, such as "
      "[{bearerAuth: []}]"]),
    ({**entity(ID), "x-crud": {"path": "/notes", "operations": {
        "remove": {}, "find": {"security": [], "tags": []}, "count": {"security": [{"b": 1}]}}}},
     [f"{N}/x-crud/operations/remove: no such derived operation (they are create, find, "
      "updateAll, count, findById, updateById, replaceById, deleteById)",
      f"{N}/x-crud/operations/find: an operation sets only its `security`",
      f"{N}/x-crud/operations/count/security: must be a list of security requirements, such as "
      "[{bearerAuth: []}]"]),
    (entity({**ID, "userId": {"type": "string", "readOnly": True}}, owner="ownerId"),
     [f"{N}/x-entity/owner: no property 'ownerId' to hold the owner (the id cannot)"]),
    (entity(ID, owner="id"), [f"{N}/x-entity/owner: no property 'id' to hold the owner (the id "
                              "cannot)"]),
    (entity({**ID, "userId": {"type": "string", "readOnly": True}},
            owner={"property": "userId", "bypass": "admin"}),
     [f"{N}/x-entity/owner/bypass: must be a list of roles"]),
    (entity({**ID, "userId": {"type": "string", "readOnly": True}}, owner={"prop": "userId"}),
     [f"{N}/x-entity/owner: must name the owner's property, as `owner: userId` or "
      "`{property: userId, bypass: [admin]}`"]),
    (entity({**ID, "userId": {"type": "boolean", "readOnly": True}}, owner="userId"),
     [f"{N}/x-entity/owner: 'userId' is boolean; an owner is a string, an integer or a uuid, as "
      "principals' ids are"]),
    ({"type": "object", "x-crud": "/notes", "properties": ID},
     [f"{N}: x-crud needs x-entity on the same schema"]),
])
def test_problems_name_the_place_and_the_fault(schema: dict[str, Any],
                                               problems: list[str]) -> None:
    assert problems_of({"Note": schema}) == problems


BEYOND = "is beyond the 64-bit integers a column keeps on every database; keep the declared " \
         "range within [-2^63, 2^63-1], or the number in a string"


@pytest.mark.parametrize(("reading", "beyond"), [
    ({"type": "integer", "maximum": 2**63}, 2**63),
    ({"type": ["integer", "null"], "minimum": -(2**70)}, -(2**70)),
    ({"type": "integer", "minimum": 0, "exclusiveMaximum": 2**63 + 1}, 2**63 + 1),
    ({"type": "integer", "maximum": 2**63, "exclusiveMaximum": True, "minimum": -1e19}, -1e19),
    ({"type": "integer", "enum": [1, 2**64]}, 2**64),
])
def test_an_integer_property_declared_beyond_int64_stops_the_start(
        reading: dict[str, Any], beyond: float) -> None:
    assert problems_of({"Note": entity({**ID, "reading": reading})}) == [
        f"{N}/properties/reading: {beyond} {BEYOND}"]


@pytest.mark.parametrize("reading", [
    {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    {"type": "integer", "exclusiveMinimum": -(2**63) - 1, "exclusiveMaximum": 2**63},
    {"type": "integer", "format": "int64", "maximum": 2**70},
    {"type": "number", "maximum": 2**70},
])
def test_an_integer_property_within_int64_is_kept(reading: dict[str, Any]) -> None:
    assert "reading" in read({"Note": entity({**ID, "reading": reading})})["Note"].properties


def test_every_problem_is_reported_at_once() -> None:
    schemas = {"Note": entity({"code": {"type": "string"}}, table="a b", colour="red"),
               "Other": {"type": "object", "x-crud": "/others", "properties": ID}}
    assert problems_of(schemas) == [
        f"{N}/x-entity: unknown key 'colour'",
        f"{N}/x-entity/id: no property 'id' to be the id",
        "/components/schemas/Other: x-crud needs x-entity on the same schema",
    ]


def test_two_entities_cannot_share_a_table() -> None:
    schemas = {"Note": entity(ID), "Memo": entity(ID, table="note")}
    assert problems_of(schemas) == [
        "/components/schemas/Memo/x-entity/table: table 'note' is also Note's"]


R = f"{N}/x-entity/relations"


@pytest.mark.parametrize(("relations", "problems"), [
    ({"owner": {"belongsTo": "Person"}}, [f"{R}/owner/belongsTo: 'Person' is not an entity"]),
    ({"owner": {"belongsTo": 3}}, [f"{R}/owner/belongsTo: 3 is not an entity"]),
    ({"owner": {"belongsTo": "Folder"}}, [f"{R}/owner/keyFrom: Note has no property 'ownerId'"]),
    ({"folder": {"belongsTo": "Folder", "keyTo": "code"}},
     [f"{R}/folder/keyTo: Folder has no property 'code'"]),
    ({"folders": {"hasMany": "Folder"}}, [f"{R}/folders/keyTo: Folder has no property 'noteId'"]),
    ({"folders": {"hasMany": "Folder", "keyFrom": "nope", "keyTo": "parentId"}},
     [f"{R}/folders/keyFrom: Note has no property 'nope'",
      f"{R}/folders/keyTo: Folder has no property 'parentId'"]),
    ({"folder": {"hasOne": "Folder"}}, [f"{R}/folder/keyTo: Folder has no property 'noteId'"]),
    ({"folder": {"belongsTo": "Folder", "hasMany": "Folder"}},
     [f"{R}/folder: name exactly one of hasMany, belongsTo, hasOne, hasManyThrough"]),
    ({"folder": "Folder"},
     [f"{R}/folder: name exactly one of hasMany, belongsTo, hasOne, hasManyThrough"]),
    ({"folderId": {"belongsTo": "Folder", "keyFrom": "folderId"}},
     [f"{R}/folderId: 'folderId' is also a property of Note"]),
    ({"folder": {"belongsTo": "Folder", "path": "the/folder"}},
     [f"{R}/folder/path: 'the/folder' must be one plain path segment"]),
    ({"tags": {"hasManyThrough": "Folder"}}, [f"{R}/tags/through: needs {{entity: <an entity>}}"]),
    ({"tags": {"hasManyThrough": "Folder", "through": {"entity": "Link"}}},
     [f"{R}/tags/through: needs {{entity: <an entity>}}"]),
    ({"tags": {"hasManyThrough": "Folder", "through": {"entity": "Folder"}}},
     [f"{R}/tags/through/keyFrom: Folder has no property 'noteId'",
      f"{R}/tags/through/keyTo: Folder has no property 'folderId'"]),
])
def test_relation_problems(relations: dict[str, Any], problems: list[str]) -> None:
    schemas = {"Note": entity({**ID, "folderId": {"type": "integer"}}, relations=relations),
               "Folder": entity({**ID, "name": {"type": "string"}})}
    assert problems_of(schemas) == problems


def test_relations_must_be_an_object() -> None:
    assert problems_of({"Note": entity(ID, relations=["folder"])}) == [
        f"{R}: must map relation names to {{hasMany: Target, ...}}"]


def test_an_entity_with_a_problem_is_left_out_and_so_are_relations_to_it() -> None:
    schemas = {"Note": entity(ID, relations={"folder": {"belongsTo": "Folder"}}),
               "Folder": entity({"code": {"type": "string"}})}
    entities, problems = read_entities({"components": {"schemas": schemas}})
    assert list(entities) == ["Note"]
    assert problems == [
        "/components/schemas/Folder/x-entity/id: no property 'id' to be the id",
        f"{R}/folder/belongsTo: 'Folder' is not an entity",
    ]


# -- relations ------------------------------------------------------------------------------

def test_relation_defaults_follow_loopback() -> None:
    entities = read(copy.deepcopy(TODO_LIST))
    assert dict(entities["TodoList"].relations) == {
        "todos": Relation("todos", "hasMany", "TodoList", "Todo", key_from="id",
                          key_to="todoListId", path="todos"),
        "image": Relation("image", "hasOne", "TodoList", "TodoListImage", key_from="id",
                          key_to="todoListId", path="todo-list-image"),
    }
    assert dict(entities["Todo"].relations) == {
        "todoList": Relation("todoList", "belongsTo", "Todo", "TodoList", key_from="todoListId",
                             key_to="id", path="todo-list"),
        "tags": Relation("tags", "hasManyThrough", "Todo", "Tag", key_from="id", key_to="id",
                         path="tags", through=Through("TodoTag", "todoId", "tagId")),
    }
    assert entities["TodoList"].relations["todos"].many
    assert entities["Todo"].relations["tags"].many
    assert not entities["TodoList"].relations["image"].many
    assert not entities["Todo"].relations["todoList"].many


def test_relation_keys_and_paths_can_be_named() -> None:
    schemas = {
        "Author": entity({"id": {"type": "integer"}, "code": {"type": "string"}}, relations={
            "works": {"hasMany": "Book", "keyFrom": "code", "keyTo": "writer", "path": "books"},
            "shelved": {"hasManyThrough": "Book", "path": "shelf", "through": {
                "entity": "Shelf", "keyFrom": "reader", "keyTo": "book"}}}),
        "Book": entity({"id": {"type": "integer"}, "writer": {"type": "string"}}, relations={
            "author": {"belongsTo": "Author", "keyFrom": "writer", "keyTo": "code",
                       "path": "by"}}),
        "Shelf": entity({"id": {"type": "integer"}, "reader": {"type": "integer"},
                         "book": {"type": "integer"}}),
    }
    entities = read(schemas)
    assert entities["Author"].relations["works"] == Relation(
        "works", "hasMany", "Author", "Book", key_from="code", key_to="writer", path="books")
    assert entities["Author"].relations["shelved"] == Relation(
        "shelved", "hasManyThrough", "Author", "Book", key_from="id", key_to="id",
        path="shelf", through=Through("Shelf", "reader", "book"))
    assert entities["Book"].relations["author"] == Relation(
        "author", "belongsTo", "Book", "Author", key_from="writer", key_to="code", path="by")


def test_foreign_keys_of_each_kind_of_relation() -> None:
    entities = read(copy.deepcopy(TODO_LIST))
    todo_list, todo = entities["TodoList"].relations, entities["Todo"].relations
    assert foreign_keys(todo_list["todos"]) == [("Todo", "todoListId", "TodoList", "id")]
    assert foreign_keys(todo_list["image"]) == [("TodoListImage", "todoListId", "TodoList", "id")]
    assert foreign_keys(todo["todoList"]) == [("Todo", "todoListId", "TodoList", "id")]
    assert foreign_keys(todo["tags"]) == [("TodoTag", "todoId", "Todo", "id"),
                                          ("TodoTag", "tagId", "Tag", "id")]


def test_a_number_key_stores_what_it_refers_to() -> None:
    entities = read(copy.deepcopy(TODO_LIST))
    # TodoList's `number` id is generated, so an int64; so are the number keys referring to it.
    assert entities["TodoList"].id_property.kind == "int64"
    assert entities["Todo"].properties["todoListId"].kind == "int64"
    assert entities["TodoListImage"].properties["todoListId"].kind == "int64"
    assert entities["TodoTag"].properties["todoId"].kind == "int64"
    assert entities["TodoTag"].properties["tagId"].kind == "uuid"


def test_a_number_key_to_an_int32_id_becomes_int32() -> None:
    schemas = {
        "Folder": entity({"id": {"type": "integer", "format": "int32"}}),
        "Note": entity({**ID, "folderId": {"type": "number"}},
                       relations={"folder": {"belongsTo": "Folder"}}),
    }
    assert read(schemas)["Note"].properties["folderId"].kind == "int32"


def test_only_number_keys_are_aligned() -> None:
    schemas = {
        # A non-generated number id stays a number, and so does a key to it.
        "Folder": entity({"id": {"type": "number"}}, generated=False),
        "Note": entity({**ID, "folderId": {"type": "number"}, "boxId": {"type": "string"}},
                       relations={"folder": {"belongsTo": "Folder"},
                                  "box": {"belongsTo": "Box"}}),
        "Box": entity(ID),
    }
    props = read(schemas)["Note"].properties
    assert (props["folderId"].kind, props["boxId"].kind) == ("number", "string")
