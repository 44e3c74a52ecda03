"""Repositories: LoopBack's CRUD over SQLAlchemy, on SQLite, PostgreSQL and MariaDB alike.

Every error is compared as the body the server would send.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from server.data.database import Database
from server.data.entities import read_entities
from server.data.filters import Source
from server.data.model import DataModel
from server.data.repository import Repositories, Repository
from server.data.tables import build_tables
from server.errors import HttpError
from server.settings import Settings
from tests.databases import DIALECTS, body, database_url, database_with, empty, error_body

P = f"trepo{os.getpid()}_"  # this module's tables, even beside another run on the same server
SCHEMAS: dict[str, Any] = {
    "Folder": {
        "type": "object",
        "x-entity": {"table": f"{P}folder", "unique": [{"properties": ["name"],
                                                        "name": f"{P}uq_name"}],
                     "relations": {"notes": {"hasMany": "Note"}}},
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    },
    "Note": {
        "type": "object",
        "x-entity": {"table": f"{P}note", "hidden": ["secret"],
                     "relations": {"folder": {"belongsTo": "Folder"}}},
        "required": ["title"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string", "maxLength": 100},
            "body": {"type": "string"},
            "done": {"type": "boolean", "default": False},
            "rank": {"type": "integer", "format": "int32"},
            "secret": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "price": {"type": "number"},
            "folderId": {"type": "integer"},
        },
    },
    "Badge": {"type": "object", "x-entity": {"table": f"{P}badge"},
              "properties": {"id": {"type": "string", "format": "uuid"},
                             "label": {"type": "string"}}},
}
ENTITIES = read_entities({"components": {"schemas": SCHEMAS}})[0]
METADATA = build_tables(ENTITIES)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ETAG = re.compile(r'"[0-9a-f]{24}"')


@pytest.fixture(scope="module", params=DIALECTS)
def database(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database_with(request.param, tmp_path_factory.mktemp("repository"), METADATA) as db:
        yield db


@pytest.fixture
def repositories(database: Database) -> Repositories:
    empty(database, METADATA)
    return Repositories(ENTITIES, METADATA.tables, database, max_limit=50)


@pytest.fixture
def notes(repositories: Repositories) -> Repository:
    return repositories["Note"]


@pytest.fixture
def folders(repositories: Repositories) -> Repository:
    return repositories["Folder"]


def error_of(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(HttpError) as caught:
        call()
    return body(caught.value)


def not_found(entity: str, id_: str) -> dict[str, Any]:
    return error_body(404, "NotFoundError", f"Entity not found: {entity} with id {id_}",
                      "ENTITY_NOT_FOUND")


def stored(database: Database, table: str, id_: Any) -> dict[str, Any]:
    """A row as the database holds it, hidden columns included."""
    found = METADATA.tables[f"{P}{table}"]
    with database.read() as connection:
        return dict(connection.execute(select(found).where(found.c.id == id_)).mappings().one())


def ids(items: list[dict[str, Any]]) -> list[Any]:
    return [item["id"] for item in items]


# -- create ---------------------------------------------------------------------------------

def test_create_applies_defaults_and_generates_the_id(notes: Repository) -> None:
    first = notes.create({"title": "milk"})
    second = notes.create({"title": "bread", "done": True, "rank": 3})
    assert isinstance(first["id"], int)
    assert first == {"id": first["id"], "title": "milk", "done": False}
    assert second == {"id": second["id"], "title": "bread", "done": True, "rank": 3}
    assert second["id"] > first["id"]
    assert notes.find_by_id(first["id"]) == first


def test_an_id_sent_is_kept(notes: Repository) -> None:
    assert notes.create({"id": 40001, "title": "mine"}) == {"id": 40001, "title": "mine",
                                                            "done": False}
    assert notes.find_by_id(40001)["title"] == "mine"


def test_create_returns_the_item_as_stored(notes: Repository) -> None:
    """The answer to a create is what a read finds: a timestamp in UTC, a whole number as one."""
    created, tag = notes.create_tagged({"title": "t", "at": "2026-01-02T03:04:05+02:00",
                                        "price": 2.0})
    found, found_tag = notes.read_by_id(created["id"])
    assert found == {"id": created["id"], "title": "t", "done": False,
                     "at": "2026-01-02T01:04:05Z", "price": 2}
    assert created == found
    assert tag == found_tag


def test_uuid_ids_are_generated(repositories: Repositories) -> None:
    badges = repositories["Badge"]
    badge = badges.create({"label": "gold"})
    assert UUID.fullmatch(badge["id"]) and badge == {"id": badge["id"], "label": "gold"}
    assert badges.find_by_id(badge["id"]) == badge
    mine = "123e4567-e89b-42d3-a456-426614174000"
    assert badges.create({"id": mine, "label": "mine"})["id"] == mine
    assert ids(badges.find({"where": {"label": "mine"}})) == [mine]


def test_create_all_creates_every_item_in_order(notes: Repository) -> None:
    created = notes.create_all([{"title": "a"}, {"title": "b"}, {"title": "c"}])
    assert [item["title"] for item in created] == ["a", "b", "c"]
    assert ids(notes.find()) == ids(created)


def test_a_failing_item_rolls_back_create_all(notes: Repository, folders: Repository) -> None:
    folder = folders.create({"name": "inbox"})
    assert error_of(lambda: notes.create_all([
        {"title": "a", "folderId": folder["id"]}, {"title": "b"},
        {"title": "c", "folderId": folder["id"] + 1000}])) == error_body(
        409, "ConflictError", "A referenced row does not exist.", "INVALID_REFERENCE")
    assert notes.count() == 0
    assert error_of(lambda: folders.create_all([{"name": "x"}, {"name": "inbox"}])) == error_body(
        409, "ConflictError", "A row with the same name already exists.", "UNIQUE_VIOLATION")
    assert folders.count() == 1


def test_values_the_database_cannot_store_are_422(notes: Repository) -> None:
    assert error_of(lambda: notes.create({"title": "t", "rank": 2**31})) == error_body(
        422, "UnprocessableEntityError",
        "rank: 2147483648 is outside the range a int32 column can store", "INVALID_VALUE")
    assert error_of(lambda: notes.create({"title": "t", "colour": "red"})) == error_body(
        422, "UnprocessableEntityError", "Note has no property 'colour'", "INVALID_VALUE")
    assert error_of(lambda: notes.create({"body": "no title"})) == error_body(
        422, "UnprocessableEntityError", "Column title cannot be null.", "INVALID_VALUE")
    assert notes.count() == 0


# -- reads ----------------------------------------------------------------------------------

def test_find_filters_and_returns_id_order_by_default(notes: Repository) -> None:
    notes.create_all([{"id": 30003, "title": "c", "rank": 1}, {"id": 30001, "title": "a"},
                      {"id": 30002, "title": "b", "rank": 1}])
    assert ids(notes.find()) == [30001, 30002, 30003]
    assert ids(notes.find({"where": {"rank": 1}})) == [30002, 30003]
    assert ids(notes.find({"order": "title DESC"})) == [30003, 30002, 30001]
    assert ids(notes.find({"order": "rank DESC"})) == [30002, 30003, 30001]
    assert notes.find({"fields": ["title"], "skip": 1, "limit": 1}) == [{"title": "b"}]


def test_filters_of_one_shape_share_a_statement_and_keep_their_values(
        notes: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    notes.create_all([{"title": t, "rank": r, "price": p, "at": a} for t, r, p, a in [
        ("a", 1, 1.5, "2026-01-01T00:00:00Z"), ("b", 2, 2.5, "2026-02-01T00:00:00Z"),
        ("c", 3, None, "2026-03-01T00:00:00+02:00")]])

    def titles(filter_: dict[str, Any]) -> list[str]:
        return [note["title"] for note in notes.find(filter_)]

    def between(low: int, high: int) -> dict[str, Any]:
        return {"where": {"rank": {"between": [low, high]}}, "order": "title DESC", "limit": 2}

    built = len(notes.statements)
    assert titles(between(1, 2)) == ["b", "a"]
    assert titles(between(2, 3)) == ["c", "b"]  # the same shape: values, limit and all
    assert titles({**between(1, 3), "limit": 1, "skip": 1}) == ["b"]
    assert len(notes.statements) == built + 1
    # Each kind of slot: a list of any length, a pattern, a number, a date, the null forms
    assert titles({"where": {"title": {"inq": ["a", "c"]}}}) == ["a", "c"]
    assert titles({"where": {"title": {"inq": ["b"]}}}) == ["b"]
    assert titles({"where": {"title": {"inq": ["c", None]}}}) == ["c"]
    assert titles({"where": {"title": {"nin": ["a"]}}}) == ["b", "c"]
    assert titles({"where": {"title": {"like": "_"}, "price": {"gt": 2}}}) == ["b"]
    assert titles({"where": {"title": {"regexp": "^[ab]$"}}}) == ["a", "b"]
    assert titles({"where": {"price": None}}) == ["c"]
    assert titles({"where": {"rank": 1.5}}) == []
    assert titles({"where": {"at": {"lt": "2026-02-28T23:00:00Z"}}}) == ["a", "b", "c"]
    assert titles({"where": {"at": {"lt": "2026-02-28T21:00:00Z"}}}) == ["a", "b"]
    assert notes.count({"title": {"inq": ["a", "b"]}}) == 2
    assert notes.count({"title": {"inq": ["c"]}}) == 1
    # At most so many shapes are kept, the oldest going first
    monkeypatch.setattr(notes.statements, "limit", 3)
    for op in ("gt", "gte", "lt", "lte", "neq"):
        titles({"where": {"rank": {op: 2}}})
    assert len(notes.statements) == 3


def test_updates_and_deletes_of_one_where_shape_share_a_statement(notes: Repository) -> None:
    notes.create_all([{"title": t, "rank": r} for t, r in [("a", 1), ("b", 2), ("c", 2),
                                                          ("d", 3)]])
    assert notes.update_all({"body": "x"}, {"rank": 1}) == 1
    assert notes.update_all({"body": "y"}, {"rank": 2}) == 2
    assert notes.update_all({}, {"rank": 3}) == 1  # nothing to set: the matches, counted
    assert {n["title"]: n.get("body") for n in notes.find()} == {
        "a": "x", "b": "y", "c": "y", "d": None}
    assert notes.delete_all({"title": {"inq": ["a", "b"]}}) == 2
    assert notes.delete_all({"title": {"inq": ["c"]}}) == 1
    assert [n["title"] for n in notes.find()] == ["d"]
    kinds = [key[0] for key in notes.statements]
    assert (kinds.count("update"), kinds.count("delete")) == (1, 1)


def test_a_filter_is_planned_whole_before_any_connection_is_taken(
        notes: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = notes.plan({"where": {"rank": {"gt": "2"}}, "order": "title DESC", "limit": 5,
                       "skip": 1, "fields": ["title"], "include": ["folder"]},
                      Source("filter", {}))
    assert (plan.where, plan.values, plan.order) == (("gt", "rank", 0), [2], (("title", True),))
    assert (plan.limit, plan.offset, plan.fields) == (5, 1, ("title",))
    assert [include.relation.name for include in plan.include] == ["folder"]

    def no_connection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a connection was taken for a filter that is a 400")

    monkeypatch.setattr(notes.database, "read", no_connection)
    for bad in ({"order": "nope"}, {"limit": 0}, {"fields": ["nope"]}, {"include": ["nope"]},
                {"where": {"nope": 1}}):
        assert error_of(lambda bad=bad: notes.find(bad))["error"]["statusCode"] == 400
        assert error_of(lambda bad=bad: notes.find_by_id(1, bad))["error"]["statusCode"] == 400


def test_find_one(notes: Repository) -> None:
    assert notes.find_one() is None
    notes.create_all([{"title": "a", "rank": 2}, {"title": "b", "rank": 1}])
    assert notes.find_one({"where": {"rank": {"lt": 5}}})["title"] == "a"
    assert notes.find_one({"order": "rank", "fields": {"title": True}}) == {"title": "b"}
    assert notes.find_one({"where": {"rank": 9}}) is None


def test_find_by_id_and_its_404(notes: Repository) -> None:
    note = notes.create({"title": "a", "body": "text"})
    assert notes.find_by_id(note["id"]) == note
    assert notes.find_by_id(note["id"], {"fields": ["body"]}) == {"body": "text"}
    assert error_of(lambda: notes.find_by_id(99)) == not_found("Note", "99")
    # No integer row can have these ids: 404, never a database error.
    assert error_of(lambda: notes.find_by_id(1.5)) == not_found("Note", "1.5")
    assert error_of(lambda: notes.find_by_id(2**70)) == not_found("Note",
                                                                  "1180591620717411303424")
    assert error_of(lambda: notes.find_by_id("abc")) == not_found("Note", '"abc"')


def test_count_and_exists(notes: Repository) -> None:
    note = notes.create({"title": "a", "done": True})
    notes.create_all([{"title": "b"}, {"title": "c"}])
    assert notes.count() == 3
    assert notes.count({"done": True}) == 1
    assert notes.count({"title": {"inq": ["a", "c"]}}) == 2
    assert notes.exists(note["id"]) is True
    assert notes.exists(note["id"] + 1000) is False
    assert notes.exists(2**70) is False


def test_max_limit_caps_every_find(database: Database, notes: Repository) -> None:
    notes.create_all([{"title": str(i)} for i in range(6)])
    capped = Repositories(ENTITIES, METADATA.tables, database, max_limit=4)["Note"]
    assert len(capped.find()) == 4
    assert len(capped.find({"limit": 10})) == 4
    assert len(capped.find({"limit": 2})) == 2
    assert [n["title"] for n in capped.find({"skip": 4})] == ["4", "5"]


# -- updates --------------------------------------------------------------------------------

def test_update_by_id_sets_what_is_sent_and_never_the_id(database: Database,
                                                         notes: Repository) -> None:
    note = notes.create({"title": "a", "body": "text", "secret": "s"})
    tag = notes.update_by_id(note["id"], {"id": note["id"] + 500, "title": "b", "rank": 4})
    assert notes.find_by_id(note["id"]) == {**note, "title": "b", "rank": 4}
    assert stored(database, "note", note["id"])["secret"] == "s"
    assert tag == notes.read_by_id(note["id"])[1]
    assert not notes.exists(note["id"] + 500)
    assert error_of(lambda: notes.update_by_id(99, {"title": "x"})) == not_found("Note", "99")


def test_update_by_id_with_nothing_to_change(notes: Repository) -> None:
    note = notes.create({"title": "a"})
    assert notes.update_by_id(note["id"], {"id": 77}) == notes.read_by_id(note["id"])[1]
    assert notes.find_by_id(note["id"]) == note


def test_replace_by_id_unsets_what_is_not_sent(database: Database, notes: Repository) -> None:
    note = notes.create({"title": "a", "body": "text", "rank": 2, "secret": "s"})
    notes.replace_by_id(note["id"], {"id": note["id"] + 500, "title": "b", "done": True})
    assert notes.find_by_id(note["id"]) == {"id": note["id"], "title": "b", "done": True}
    assert stored(database, "note", note["id"])["secret"] is None
    assert not notes.exists(note["id"] + 500)
    assert error_of(lambda: notes.replace_by_id(note["id"], {"body": "x"})) == error_body(
        422, "UnprocessableEntityError", "Column title cannot be null.", "INVALID_VALUE")
    assert error_of(lambda: notes.replace_by_id(99, {"title": "x"})) == not_found("Note", "99")


def test_update_all_and_delete_all_count_what_matched(notes: Repository) -> None:
    notes.create_all([{"title": "a", "rank": 1}, {"title": "b", "rank": 1},
                      {"title": "c", "rank": 2}])
    assert notes.update_all({"done": True}, {"rank": 1}) == 2
    assert [n["title"] for n in notes.find({"where": {"done": True}})] == ["a", "b"]
    assert notes.update_all({}, {"rank": 1}) == 2  # nothing to set, the matches still count
    assert notes.update_all({"body": "all"}) == 3
    assert notes.update_all({"body": "none"}, {"rank": 9}) == 0
    assert notes.delete_all({"rank": {"gte": 2}}) == 1
    assert notes.delete_all({"title": "zzz"}) == 0
    assert [n["title"] for n in notes.find()] == ["a", "b"]
    assert notes.delete_all() == 2
    assert notes.count() == 0


def test_update_all_never_changes_ids(notes: Repository) -> None:
    note = notes.create({"title": "a"})
    assert notes.update_all({"id": 12345, "title": "b"}) == 1
    assert notes.find() == [{**note, "title": "b"}]


def test_delete_by_id_twice_is_404(notes: Repository) -> None:
    note = notes.create({"title": "a"})
    assert notes.delete_by_id(note["id"]) is None
    assert error_of(lambda: notes.delete_by_id(note["id"])) == not_found("Note",
                                                                         str(note["id"]))
    assert notes.count() == 0


def test_a_deleted_id_is_never_handed_out_again(notes: Repository) -> None:
    last = notes.create({"title": "last"})
    notes.delete_by_id(last["id"])
    # SQLite, too: without AUTOINCREMENT it reuses the highest rowid, and links to the deleted
    # row would reach the new one.
    assert notes.create({"title": "next"})["id"] > last["id"]


# -- hidden properties ----------------------------------------------------------------------

def test_hidden_properties_are_stored_but_never_returned(database: Database,
                                                         notes: Repository) -> None:
    note = notes.create({"title": "a", "secret": "s3cret"})
    assert "secret" not in note
    assert stored(database, "note", note["id"])["secret"] == "s3cret"
    assert notes.find() == [note]
    assert notes.find_by_id(note["id"]) == note
    assert notes.find({"fields": {"title": False}}) == [{"id": note["id"], "done": False}]
    assert notes.create_all([{"title": "b", "secret": "x"}])[0].keys() == {"id", "title", "done"}


@pytest.mark.parametrize(("filter_", "raw", "path", "message"), [
    ({"fields": ["secret"]}, '{"fields":["secret"]}', "/fields/0",
     "Note has no property 'secret' to select"),
    ({"fields": {"secret": True}}, '{"fields":{"secret":true}}', "/fields/secret",
     "Note has no property 'secret' to select"),
    ({"where": {"secret": "s"}}, '{"where":{"secret":"s"}}', "/where/secret",
     "Note has no property 'secret' to filter by"),
    ({"order": "secret DESC"}, '{"order":"secret DESC"}', "/order",
     "Note has no property 'secret' to order by"),
])
def test_hidden_properties_cannot_be_selected_filtered_or_sorted(
        notes: Repository, filter_: dict[str, Any], raw: str, path: str, message: str) -> None:
    expected = error_body(400, "BadRequestError", f'Invalid data {raw} for parameter "filter".',
                          "INVALID_PARAMETER_VALUE", [{"path": path, "code": "filter",
                                                       "message": message,
                                                       "info": {"property": "secret"}}])
    assert error_of(lambda: notes.find(filter_)) == expected
    if "fields" in filter_:  # findById takes no where or order
        note = notes.create({"title": "a"})
        assert error_of(lambda: notes.find_by_id(note["id"], filter_)) == expected


def test_a_where_on_a_hidden_property_is_400_for_count_update_and_delete(
        notes: Repository) -> None:
    expected = error_body(400, "BadRequestError", 'Invalid data {"secret":"s"} for parameter '
                          '"where".', "INVALID_PARAMETER_VALUE", [{
                              "path": "/secret", "code": "filter",
                              "message": "Note has no property 'secret' to filter by",
                              "info": {"property": "secret"}}])
    assert error_of(lambda: notes.count({"secret": "s"})) == expected
    assert error_of(lambda: notes.update_all({"title": "x"}, {"secret": "s"})) == expected
    assert error_of(lambda: notes.delete_all({"secret": "s"})) == expected


# -- ETags and If-Match ---------------------------------------------------------------------

def precondition_failed(id_: int, if_match: str) -> dict[str, Any]:
    return error_body(412, "PreconditionFailedError", f"Note with id {id_} has changed: its "
                      f"ETag is not one of If-Match {if_match}", "PRECONDITION_FAILED")


def test_an_etag_is_stable_until_the_item_changes(notes: Repository) -> None:
    note, created_tag = notes.create_tagged({"title": "a"})
    _, tag = notes.read_by_id(note["id"])
    assert ETAG.fullmatch(tag)
    assert tag == created_tag == notes.read_by_id(note["id"])[1]
    other = notes.create({"title": "a"})
    assert notes.read_by_id(other["id"])[1] != tag  # the id is part of the state
    changed = notes.update_by_id(note["id"], {"body": "x"})
    assert changed != tag and notes.read_by_id(note["id"])[1] == changed
    assert notes.update_by_id(note["id"], {"body": "x"}) == changed  # the same state again
    # A hidden property is part of the stored state too.
    assert notes.update_by_id(note["id"], {"secret": "s"}) != changed


def test_if_match_must_name_the_current_etag(notes: Repository) -> None:
    note = notes.create({"title": "a"})
    old = notes.read_by_id(note["id"])[1]
    new = notes.update_by_id(note["id"], {"title": "b"}, if_match=old)
    for call in (lambda: notes.update_by_id(note["id"], {"title": "c"}, if_match=old),
                 lambda: notes.replace_by_id(note["id"], {"title": "c"}, if_match=old),
                 lambda: notes.delete_by_id(note["id"], if_match=old)):
        assert error_of(call) == precondition_failed(note["id"], old)
    assert error_of(lambda: notes.update_by_id(note["id"], {"title": "c"},
                                               if_match=f"W/{new}")) == precondition_failed(
        note["id"], f"W/{new}")  # a weak tag never matches
    assert notes.find_by_id(note["id"])["title"] == "b"
    assert notes.read_by_id(note["id"])[1] == new


def test_if_match_star_and_lists(notes: Repository) -> None:
    note = notes.create({"title": "a"})
    tag = notes.read_by_id(note["id"])[1]
    tag = notes.update_by_id(note["id"], {"title": "b"}, if_match=f'"nope", {tag}')
    tag = notes.replace_by_id(note["id"], {"title": "c"}, if_match=f'{tag},"other"')
    notes.update_by_id(note["id"], {"title": "d"}, if_match=" * ")
    assert notes.find_by_id(note["id"])["title"] == "d"
    assert error_of(lambda: notes.delete_by_id(99, if_match="*")) == not_found("Note", "99")
    notes.delete_by_id(note["id"], if_match="*")
    assert not notes.exists(note["id"])


# -- what the database refuses --------------------------------------------------------------

def test_a_duplicate_is_409(notes: Repository, folders: Repository) -> None:
    folder = folders.create({"name": "inbox"})
    assert error_of(lambda: folders.create({"name": "inbox"})) == error_body(
        409, "ConflictError", "A row with the same name already exists.", "UNIQUE_VIOLATION")
    other = folders.create({"name": "outbox"})
    assert error_of(lambda: folders.update_by_id(other["id"], {"name": "inbox"})) == error_body(
        409, "ConflictError", "A row with the same name already exists.", "UNIQUE_VIOLATION")
    assert error_of(lambda: folders.create({"id": folder["id"], "name": "x"})) == error_body(
        409, "ConflictError", "A row with the same id already exists.", "UNIQUE_VIOLATION")
    assert [f["name"] for f in folders.find()] == ["inbox", "outbox"]


def test_a_key_to_a_missing_row_is_409(notes: Repository, folders: Repository) -> None:
    folder = folders.create({"name": "inbox"})
    invalid = error_body(409, "ConflictError", "A referenced row does not exist.",
                         "INVALID_REFERENCE")
    assert error_of(lambda: notes.create({"title": "a", "folderId": folder["id"] + 1})) == invalid
    note = notes.create({"title": "a", "folderId": folder["id"]})
    assert error_of(lambda: notes.update_by_id(note["id"], {"folderId": 10**9})) == invalid
    assert error_of(lambda: notes.update_all({"folderId": 10**9})) == invalid
    assert notes.find_by_id(note["id"])["folderId"] == folder["id"]


def test_deleting_a_referenced_row_is_409(notes: Repository, folders: Repository) -> None:
    folder = folders.create({"name": "inbox"})
    notes.create({"title": "a", "folderId": folder["id"]})
    still = error_body(409, "ConflictError", "The row is still referenced by other rows.",
                       "FOREIGN_KEY_VIOLATION")
    assert error_of(lambda: folders.delete_by_id(folder["id"])) == still
    assert error_of(lambda: folders.delete_all()) == still
    assert folders.exists(folder["id"])
    notes.delete_all()
    folders.delete_by_id(folder["id"])
    assert folders.count() == 0


# -- outside HTTP ---------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_repository_works_in_a_plain_script(dialect: str, tmp_path: Path) -> None:
    """What a seed script or a job does: open the model's database, migrated, and use it."""
    table = f"{P}memo"
    schemas = {"Memo": {"type": "object", "x-entity": {"table": table},
                        "required": ["text"],
                        "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}
    entities = read_entities({"components": {"schemas": schemas}})[0]
    model = DataModel(entities, build_tables(entities))
    url = database_url(dialect, tmp_path)
    services = model.open(Settings(database_url=url, migrate=True))
    database = services["database"]
    try:
        memos = services["memo_repository"]
        assert services["repositories"]["Memo"] is memos
        memo = memos.create({"text": "hello"})
        assert memos.find() == [memo]
        assert memos.count({"text": "hello"}) == 1
        assert model.pending(database) == []
    finally:
        with database.write() as connection:
            reflected = MetaData()
            reflected.reflect(connection, only=[table])
            reflected.drop_all(connection)
        database.close()
