"""Relations: `include` of every kind in a fixed number of queries, and the relation routes.

Runs on SQLite, PostgreSQL and MariaDB/MySQL (skipping a server that is not running).
Author hasMany Book and hasOne Profile; Book belongsTo Author and hasManyThrough Tag
(through BookTag).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from server.data import database as database_module
from server.data.database import Database
from server.data.entities import read_entities
from server.data.relation_routes import RelationRoutes
from server.data.repository import Repositories, etags_seen
from server.data.tables import build_tables
from server.errors import HttpError, show
from tests.databases import DIALECTS, body, database_with, empty, error_body

P = f"trel{os.getpid()}_"  # this module's tables, even beside another run on the same server


def _entity(name: str, properties: dict[str, Any], **marking: Any) -> dict[str, Any]:
    return {"type": "object", "x-entity": {"table": f"{P}{name}", **marking},
            "properties": {"id": {"type": "integer"}, **properties}}


SCHEMAS = {
    "Author": _entity("author", {"name": {"type": "string"}, "secret": {"type": "string"}},
                      hidden=["secret"], relations={"books": {"hasMany": "Book"},
                                                    "profile": {"hasOne": "Profile"}}),
    "Profile": _entity("profile", {"bio": {"type": "string"}, "authorId": {"type": "integer"}}),
    "Book": _entity("book", {"title": {"type": "string"}, "year": {"type": "integer"},
                             "authorId": {"type": "integer"}},
                    relations={"author": {"belongsTo": "Author"},
                               "tags": {"hasManyThrough": "Tag",
                                        "through": {"entity": "BookTag"}}}),
    "Tag": _entity("tag", {"name": {"type": "string"}}),
    "BookTag": _entity("book_tag", {"bookId": {"type": "integer"}, "tagId": {"type": "integer"}}),
}
ENTITIES = read_entities({"components": {"schemas": SCHEMAS}})[0]
METADATA = build_tables(ENTITIES)
AUTHOR, PROFILE, BOOK, TAG, BOOK_TAG = (
    METADATA.tables[f"{P}{name}"] for name in ("author", "profile", "book", "tag", "book_tag"))
RED, GREEN, BLUE = 9001, 9002, 9003


@pytest.fixture(scope="module", params=DIALECTS)
def database(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database_with(request.param, tmp_path_factory.mktemp("relations"), METADATA) as db:
        yield db


@pytest.fixture
def repositories(database: Database) -> Repositories:
    empty(database, METADATA)
    return Repositories(ENTITIES, METADATA.tables, database)


def seed(database: Database, authors: int, *, links: bool = True) -> None:
    """Author `i` (id 1000+i) wrote books 5000+2i-1 ("ia", red and blue) and 5000+2i ("ib",
    green); odd authors have a profile (3000+i). Author 1999 wrote nothing; book 5999 has no
    author. Explicit ids stay clear of the ids the databases generate."""
    numbers = range(1, authors + 1)
    with database.write() as connection:
        connection.execute(insert(AUTHOR), [
            *({"id": 1000 + i, "name": f"author {i}", "secret": "s"} for i in numbers),
            {"id": 1999, "name": "lonely", "secret": "s"}])
        connection.execute(insert(PROFILE), [
            {"id": 3000 + i, "bio": f"bio {i}", "authorId": 1000 + i} for i in numbers if i % 2])
        connection.execute(insert(BOOK), [
            *(book for i in numbers for book in (
                {"id": 5000 + 2 * i - 1, "title": f"{i}a", "year": 2000 + i, "authorId": 1000 + i},
                {"id": 5000 + 2 * i, "title": f"{i}b", "year": 1990 + i, "authorId": 1000 + i})),
            {"id": 5999, "title": "anonymous", "year": 1500, "authorId": None}])
        connection.execute(insert(TAG), [{"id": RED, "name": "red"}, {"id": GREEN, "name": "green"},
                                         {"id": BLUE, "name": "blue"}])
        if links:
            connection.execute(insert(BOOK_TAG), [
                link for i in numbers for link in (
                    {"id": 7000 + 3 * i, "bookId": 5000 + 2 * i - 1, "tagId": BLUE},
                    {"id": 7001 + 3 * i, "bookId": 5000 + 2 * i - 1, "tagId": RED},
                    {"id": 7002 + 3 * i, "bookId": 5000 + 2 * i, "tagId": GREEN})])


def author(i: int) -> dict[str, Any]:
    return {"id": 1000 + i, "name": f"author {i}"}


def books_of(i: int) -> list[dict[str, Any]]:
    return [{"id": 5000 + 2 * i - 1, "title": f"{i}a", "year": 2000 + i, "authorId": 1000 + i},
            {"id": 5000 + 2 * i, "title": f"{i}b", "year": 1990 + i, "authorId": 1000 + i}]


def tag(id_: int) -> dict[str, Any]:
    return {"id": id_, "name": {RED: "red", GREEN: "green", BLUE: "blue"}[id_]}


LONELY = {"id": 1999, "name": "lonely"}
ANONYMOUS = {"id": 5999, "title": "anonymous", "year": 1500}


def error_of(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(HttpError) as caught:
        call()
    return body(caught.value)


def not_found(entity: str, id_: str) -> dict[str, Any]:
    return error_body(404, "NotFoundError", f"Entity not found: {entity} with id {id_}",
                      "ENTITY_NOT_FOUND")


def bad_filter(raw: str, path: str, message: str, info: dict[str, Any],
               parameter: str = "filter") -> dict[str, Any]:
    return error_body(400, "BadRequestError", f'Invalid data {raw} for parameter "{parameter}".',
                      "INVALID_PARAMETER_VALUE",
                      [{"path": path, "code": "filter", "message": message, "info": info}])


# -- include --------------------------------------------------------------------------------

def test_include_has_many(database: Database, repositories: Repositories) -> None:
    seed(database, 2)
    assert repositories["Author"].find({"include": ["books"]}) == [
        {**author(1), "books": books_of(1)},
        {**author(2), "books": books_of(2)},
        {**LONELY, "books": []},
    ]


def test_include_belongs_to(database: Database, repositories: Repositories) -> None:
    seed(database, 2)
    found = repositories["Book"].find({"include": ["author"], "order": "id DESC", "limit": 3})
    assert found == [ANONYMOUS, {**books_of(2)[1], "author": author(2)},
                     {**books_of(2)[0], "author": author(2)}]


def test_include_has_one(database: Database, repositories: Repositories) -> None:
    seed(database, 2)
    assert repositories["Author"].find({"include": "profile"}) == [
        {**author(1), "profile": {"id": 3001, "bio": "bio 1", "authorId": 1001}},
        author(2),
        LONELY,
    ]


def test_include_has_many_through(database: Database, repositories: Repositories) -> None:
    seed(database, 2)
    found = repositories["Book"].find({"where": {"authorId": 1001}, "include": ["tags"]})
    assert found == [{**books_of(1)[0], "tags": [tag(RED), tag(BLUE)]},
                     {**books_of(1)[1], "tags": [tag(GREEN)]}]
    ordered = repositories["Book"].find_by_id(5001, {"include": [
        {"relation": "tags", "scope": {"order": "name DESC", "fields": ["name"]}}]})
    assert ordered == {**books_of(1)[0], "tags": [{"name": "red"}, {"name": "blue"}]}
    assert repositories["Book"].find_by_id(5999, {"include": ["tags"]}) == {**ANONYMOUS,
                                                                           "tags": []}


def test_include_nests_through_scopes(database: Database, repositories: Repositories) -> None:
    seed(database, 2)
    found = repositories["Author"].find_by_id(1001, {"include": [
        {"relation": "books", "scope": {"include": [
            "tags", {"relation": "author", "scope": {"include": ["profile"]}}]}},
        "profile"]})
    writer = {**author(1), "profile": {"id": 3001, "bio": "bio 1", "authorId": 1001}}
    assert found == {
        **author(1),
        "books": [{**books_of(1)[0], "tags": [tag(RED), tag(BLUE)], "author": writer},
                  {**books_of(1)[1], "tags": [tag(GREEN)], "author": writer}],
        "profile": {"id": 3001, "bio": "bio 1", "authorId": 1001},
    }


def test_a_scope_applies_to_each_parent(database: Database, repositories: Repositories) -> None:
    seed(database, 3)
    authors = repositories["Author"]
    first_by_year = authors.find({"where": {"id": {"lt": 1999}}, "include": [
        {"relation": "books", "scope": {"order": "year", "limit": 1, "fields": ["title"]}}]})
    assert first_by_year == [{**author(i), "books": [{"title": f"{i}b"}]} for i in (1, 2, 3)]
    recent = authors.find({"where": {"id": {"lt": 1999}}, "include": [
        {"relation": "books", "scope": {"where": {"year": {"gt": 1992}},
                                        "fields": {"authorId": False}}}]})
    assert recent == [
        {**author(1), "books": [{"id": 5001, "title": "1a", "year": 2001}]},
        {**author(2), "books": [{"id": 5003, "title": "2a", "year": 2002}]},
        {**author(3), "books": [{"id": 5005, "title": "3a", "year": 2003},
                                {"id": 5006, "title": "3b", "year": 1993}]},
    ]
    second = authors.find({"where": {"id": 1002}, "include": [
        {"relation": "books", "scope": {"skip": 1}}]})
    assert second == [{**author(2), "books": [books_of(2)[1]]}]


def test_included_items_hide_hidden_properties_and_fields_keep_relations(
        database: Database, repositories: Repositories) -> None:
    seed(database, 1)
    found = repositories["Book"].find_by_id(5001, {"fields": ["title"], "include": ["author"]})
    assert found == {"title": "1a", "author": author(1)}


@pytest.mark.parametrize(("filter_", "raw", "path", "message", "info"), [
    ({"include": ["nope"]}, '{"include":["nope"]}', "/include/0",
     "Author has no relation 'nope' to include", {"relation": "nope"}),
    ({"include": "nope"}, '{"include":"nope"}', "/include",
     "Author has no relation 'nope' to include", {"relation": "nope"}),
    ({"include": ["books", {"relation": "name"}]}, '{"include":["books",{"relation":"name"}]}',
     "/include/1", "Author has no relation 'name' to include", {"relation": "name"}),
    ({"include": [{"relation": 5}]}, '{"include":[{"relation":5}]}', "/include/0",
     "Author has no relation 5 to include", {}),
    ({"include": [{"relation": "books", "scopes": {}}]},
     '{"include":[{"relation":"books","scopes":{}}]}', "/include/0",
     "'scopes' is not part of an inclusion; use relation and scope", {}),
    ({"include": [{"relation": "books", "scope": {"colour": 1}}]},
     '{"include":[{"relation":"books","scope":{"colour":1}}]}', "/include/0/scope/colour",
     "'colour' is not a filter key", {}),
    ({"include": [{"relation": "books", "scope": {"where": {"nope": 1}}}]},
     '{"include":[{"relation":"books","scope":{"where":{"nope":1}}}]}',
     "/include/0/scope/where/nope", "Book has no property 'nope' to filter by",
     {"property": "nope"}),
    ({"include": [{"relation": "books", "scope": {"include": ["author", "tag"]}}]},
     '{"include":[{"relation":"books","scope":{"include":["author","tag"]}}]}',
     "/include/0/scope/include/1", "Book has no relation 'tag' to include", {"relation": "tag"}),
])
def test_a_bad_include_is_400(database: Database, repositories: Repositories,
                              filter_: dict[str, Any], raw: str, path: str, message: str,
                              info: dict[str, Any]) -> None:
    seed(database, 1, links=False)
    expected = bad_filter(raw, path, message, info)
    assert error_of(lambda: repositories["Author"].find(filter_)) == expected
    assert error_of(lambda: repositories["Author"].find_by_id(1001, filter_)) == expected


# -- the number of queries ------------------------------------------------------------------

def count_selects(database: Database, call: Callable[[], Any]) -> tuple[int, Any]:
    """How many SELECT statements `call` sends to the database, and its result."""
    statements: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    return len(statements), result


INCLUDES: list[tuple[str, dict[str, Any], int]] = [
    # One query for the parents, then one per relation per level; a hasManyThrough joins its
    # links to its targets in that one query.
    ("Author", {"include": ["books"]}, 2),
    ("Author", {"include": ["books", "profile"]}, 3),
    ("Book", {"include": ["author"]}, 2),
    ("Book", {"include": ["tags"]}, 2),
    ("Author", {"include": [{"relation": "books", "scope": {
        "include": ["tags", {"relation": "author", "scope": {"include": ["profile"]}}]}}]}, 5),
]


def test_include_costs_the_same_queries_for_5_or_50_parents(
        database: Database, repositories: Repositories) -> None:
    counts: dict[int, list[int]] = {}
    for parents in (5, 50):
        empty(database, METADATA)
        seed(database, parents)
        counts[parents] = []
        for entity, filter_, _ in INCLUDES:
            queries, found = count_selects(database,
                                           functools.partial(repositories[entity].find, filter_))
            assert len(found) == (parents * 2 + 1 if entity == "Book" else parents + 1)
            counts[parents].append(queries)
        nested = repositories["Author"].find(INCLUDES[-1][1])
        assert len(nested[parents - 1]["books"][0]["tags"]) == 2
        assert nested[parents - 1]["books"][1]["author"]["name"] == f"author {parents}"
    assert counts[5] == counts[50] == [expected for _, _, expected in INCLUDES]


# -- what one filter may make the server load -------------------------------------------------

def nested(depth: int) -> list[Any]:
    """`books -> author -> books -> ...`, `depth` levels deep."""
    include: list[Any] = ["books" if depth % 2 else "author"]
    for level in range(depth - 1, 0, -1):
        include = [{"relation": "books" if level % 2 else "author", "scope": {"include": include}}]
    return include


def deep_path(depth: int) -> str:
    return "/include" + "/0/scope/include" * (depth - 1)


def add_books(database: Database, author_id: int, count: int, first: int = 20000) -> None:
    with database.write() as connection:
        connection.execute(insert(BOOK), [
            {"id": first + i, "title": f"extra {i}", "year": 3000 - i, "authorId": author_id}
            for i in range(count)])


def test_include_nests_as_deep_as_the_setting_and_no_deeper(
        database: Database, repositories: Repositories) -> None:
    seed(database, 1)
    found = repositories["Author"].find_by_id(1001, {"include": nested(3)})
    assert found["books"][0]["author"]["books"] == books_of(1)
    for depth in (4, 7, 10):
        filter_ = {"include": nested(depth)}
        raw = show(filter_)
        expected = bad_filter(raw, deep_path(4), "include nests at most 3 levels deep "
                              "(CHARTER_MAX_INCLUDE_DEPTH)", {"limit": 3})
        queries, body_ = count_selects(database, functools.partial(
            error_of, functools.partial(repositories["Author"].find, filter_)))
        assert (queries, body_) == (0, expected)  # refused before any query
    shallow = Repositories(ENTITIES, METADATA.tables, database, max_include_depth=1)["Author"]
    assert shallow.find_by_id(1001, {"include": ["books"]}) == {**author(1), "books": books_of(1)}
    assert error_of(lambda: shallow.find({"include": nested(2)})) == bad_filter(
        show({"include": nested(2)}), "/include/0/scope/include",
        "include nests at most 1 levels deep (CHARTER_MAX_INCLUDE_DEPTH)", {"limit": 1})
    # An empty include is no level at all.
    assert shallow.find_by_id(1001, {"include": [{"relation": "books", "scope": {"include": []}}]}
                              ) == {**author(1), "books": books_of(1)}


def test_a_relation_named_again_with_the_same_scope_is_included_once(
        database: Database, repositories: Repositories) -> None:
    seed(database, 3)
    authors = repositories["Author"]
    once = authors.find({"include": ["books"]})
    for repeated in (["books"] * 16, ["books", {"relation": "books"}],
                     [{"relation": "books", "scope": {}}, "books", {"relation": "books"}]):
        queries, found = count_selects(database,
                                       functools.partial(authors.find, {"include": repeated}))
        assert (queries, found) == (2, once)
    scoped = {"relation": "books", "scope": {"where": {"year": {"gt": 2000}}}}
    assert authors.find({"include": [scoped, "profile", scoped]}) == authors.find(
        {"include": [scoped, "profile"]})


@pytest.mark.parametrize(("include", "path"), [
    (["books", {"relation": "books", "scope": {"limit": 1}}], "/include/1"),
    ([{"relation": "books", "scope": {"limit": 1}}, "profile", "books"], "/include/2"),
    ([{"relation": "books", "scope": {"include": ["author", {"relation": "author",
                                                             "scope": {"fields": ["id"]}}]}}],
     "/include/0/scope/include/1"),
])
def test_a_relation_named_again_with_another_scope_is_400(
        database: Database, repositories: Repositories, include: list[Any], path: str) -> None:
    seed(database, 1)
    name = "author" if "scope/include" in path else "books"
    assert error_of(lambda: repositories["Author"].find({"include": include})) == bad_filter(
        show({"include": include}), path,
        f"'{name}' is included twice with different scopes; include a relation once",
        {"relation": name})


def test_each_parent_gets_at_most_the_scope_limit_capped_at_max_limit(
        database: Database, repositories: Repositories) -> None:
    seed(database, 2)
    add_books(database, 1001, 30)
    capped = Repositories(ENTITIES, METADATA.tables, database, max_limit=5)
    first_five = [5001, 5002, *range(20000, 20003)]
    for scope in ({}, {"limit": 50}, {"limit": 5}):
        found = capped["Author"].find({"where": {"id": {"lt": 1999}}, "include": [
            {"relation": "books", "scope": {**scope, "fields": ["id"]}}]})
        assert found == [{**author(1), "books": [{"id": i} for i in first_five]},
                         {**author(2), "books": [{"id": 5003}, {"id": 5004}]}]
    # Per parent, in the scope's order, after the scope's skip: the newest three of each, after one.
    found = capped["Author"].find({"where": {"id": {"lt": 1999}}, "include": [
        {"relation": "books", "scope": {"order": "year DESC", "skip": 1, "limit": 3,
                                        "fields": ["year"]}}]})
    assert found == [{**author(1), "books": [{"year": 2999}, {"year": 2998}, {"year": 2997}]},
                     {**author(2), "books": [{"year": 1992}]}]
    # A skip no window reaches is no error, on any database.
    found = capped["Author"].find({"where": {"id": 1001}, "include": [
        {"relation": "books", "scope": {"skip": 2**62}}]})
    assert found == [{**author(1), "books": []}]


def test_has_many_through_is_capped_per_parent(database: Database,
                                                repositories: Repositories) -> None:
    seed(database, 2)
    found = repositories["Book"].find({"where": {"authorId": {"inq": [1001, 1002]}}, "include": [
        {"relation": "tags", "scope": {"order": "name DESC", "limit": 1}}]})
    assert [book["tags"] for book in found] == [[tag(RED)], [tag(GREEN)], [tag(RED)],
                                                [tag(GREEN)]]
    found = repositories["Book"].find_by_id(5001, {"include": [
        {"relation": "tags", "scope": {"order": "name", "skip": 1}}]})
    assert found["tags"] == [tag(RED)]
    capped = Repositories(ENTITIES, METADATA.tables, database, max_limit=1)["Book"]
    assert capped.find_by_id(5001, {"include": ["tags"]})["tags"] == [tag(RED)]


def too_many(raw: Any, path: str, limit: int, relation: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"relation": relation} if relation else {}
    return bad_filter(show(raw), path, f"the response would hold more than {limit} items "
                      "(CHARTER_MAX_RESPONSE_ROWS); ask for fewer with limit, or narrow the "
                      "include with its scope's where or limit", {**info, "limit": limit})


def test_a_response_holds_at_most_max_response_rows_items(
        database: Database, repositories: Repositories) -> None:
    seed(database, 3)  # 4 authors, 6 books
    authors = Repositories(ENTITIES, METADATA.tables, database, max_response_rows=10)["Author"]
    filter_: dict[str, Any] = {"include": ["books"]}
    assert len(authors.find(filter_)) == 4  # 4 + 6 items
    filter_ = {"include": ["books", "profile"]}  # 4 + 6 + 2
    assert error_of(lambda: authors.find(filter_)) == too_many(filter_, "/include/1", 10,
                                                               "profile")
    # Only the items asked for count: a where or a limit brings it within the bound.
    assert len(authors.find({**filter_, "limit": 2})) == 2  # 2 + 4 + 1
    filter_["limit"] = 3  # 3 + 6 + 2: past it on the last relation's query
    assert error_of(lambda: authors.find(filter_)) == too_many(filter_, "/include/1", 10,
                                                               "profile")
    assert authors.find_by_id(1001, filter_)["books"] == books_of(1)
    # Without include the bound does not apply: `limit` and CHARTER_MAX_LIMIT do.
    small = Repositories(ENTITIES, METADATA.tables, database, max_response_rows=2)["Author"]
    assert len(small.find()) == 4
    assert error_of(lambda: small.find({"include": ["profile"]})) == too_many(
        {"include": ["profile"]}, "/include", 2)


def test_an_item_counts_every_time_it_appears(database: Database,
                                              repositories: Repositories) -> None:
    """A book's author is one row, shown with each of its books, and so is all it includes."""
    seed(database, 1)
    add_books(database, 1001, 8)  # author 1 wrote 10 books
    books = Repositories(ENTITIES, METADATA.tables, database, max_response_rows=120)["Book"]
    filter_ = {"where": {"authorId": 1001}, "include": [
        {"relation": "author", "scope": {"include": ["books"]}}]}
    found = books.find(filter_)  # 10 books + 10 x (their author + 10 books) = 120
    assert len(found) == 10 and all(len(book["author"]["books"]) == 10 for book in found)
    filter_["limit"] = 11
    tighter = Repositories(ENTITIES, METADATA.tables, database, max_response_rows=119)["Book"]
    assert error_of(lambda: tighter.find(filter_)) == too_many(
        filter_, "/include/0/scope/include/0", 119, "books")


def test_past_the_bound_no_more_rows_are_read_than_fit(
        database: Database, repositories: Repositories,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seed(database, 1)
    add_books(database, 1001, 500)
    capped = Repositories(ENTITIES, METADATA.tables, database, max_response_rows=50)
    read: list[int] = []
    from_row = capped["Book"].from_row

    def counted(row: Any) -> dict[str, Any]:
        read.append(1)
        return from_row(row)

    monkeypatch.setattr(capped["Book"], "from_row", counted)
    filter_ = {"where": {"id": 1001}, "include": ["books"]}
    assert error_of(lambda: capped["Author"].find(filter_)) == too_many(
        filter_, "/include/0", 50, "books")
    assert len(read) == 50  # the 49 that would fit, and one to know that more do not


# -- relation routes ------------------------------------------------------------------------

def routes(repositories: Repositories, entity: str, relation: str) -> RelationRoutes:
    return RelationRoutes(repositories, repositories.entities[entity].relations[relation])


def test_has_many_find(database: Database, repositories: Repositories) -> None:
    seed(database, 2, links=False)
    books = routes(repositories, "Author", "books")
    assert books.find(1001, None) == books_of(1)
    assert books.find(1002, {"where": {"year": 1992}, "fields": ["title"]}) == [{"title": "2b"}]
    assert books.find(1999, None) == []
    assert error_of(lambda: books.find(999, None)) == not_found("Author", "999")


def test_has_many_create_links_to_the_source(database: Database,
                                             repositories: Repositories) -> None:
    seed(database, 2, links=False)
    books = routes(repositories, "Author", "books")
    with etags_seen() as seen:
        created = books.create(1001, {"title": "new", "authorId": 1002})
    assert created == {"id": created["id"], "title": "new", "authorId": 1001}
    assert repositories["Book"].read_by_id(created["id"]) == (created, seen["Book", created["id"]])
    assert error_of(lambda: books.create(999, {"title": "x"})) == not_found("Author", "999")
    assert repositories["Book"].count() == 6


def test_has_many_patch_changes_only_the_sources_items_and_never_the_key(
        database: Database, repositories: Repositories) -> None:
    seed(database, 2, links=False)
    books = routes(repositories, "Author", "books")
    assert books.patch(1001, {"year": 1, "authorId": 1002}, None) == 2
    assert books.find(1001, None) == [{**book, "year": 1} for book in books_of(1)]
    assert books.find(1002, None) == books_of(2)
    assert books.patch(1002, {"year": 7}, {"title": "2b"}) == 1
    assert [b["year"] for b in books.find(1002, None)] == [2002, 7]
    assert error_of(lambda: books.patch(999, {"year": 1}, None)) == not_found("Author", "999")


def test_has_many_delete(database: Database, repositories: Repositories) -> None:
    seed(database, 2, links=False)
    books = routes(repositories, "Author", "books")
    assert books.delete(1001, {"title": "1a"}) == 1
    assert books.find(1001, None) == [books_of(1)[1]]
    assert books.delete(1002, None) == 2
    assert books.find(1002, None) == []
    assert repositories["Book"].count() == 2  # 1b and the anonymous one
    assert error_of(lambda: books.delete(999, None)) == not_found("Author", "999")


def test_has_one_get_and_create(database: Database, repositories: Repositories) -> None:
    seed(database, 2, links=False)
    profile = routes(repositories, "Author", "profile")
    found, tag_ = profile.get(1001)
    assert found == {"id": 3001, "bio": "bio 1", "authorId": 1001}
    assert tag_ == repositories["Profile"].read_by_id(3001)[1]
    assert profile.get(1001, {"fields": ["bio"]})[0] == {"bio": "bio 1"}
    assert error_of(lambda: profile.get(1002)) == not_found("Profile", '{"authorId":1002}')
    assert error_of(lambda: profile.get(999)) == not_found("Author", "999")
    created = profile.create(1002, {"bio": "new"})
    assert created == {"id": created["id"], "bio": "new", "authorId": 1002}
    assert profile.get(1002)[0] == created
    assert error_of(lambda: profile.create(1002, {"bio": "second"})) == error_body(
        409, "ConflictError", "A row with the same author_id already exists.", "UNIQUE_VIOLATION")
    assert profile.get(1002)[0] == created


def test_belongs_to_get(database: Database, repositories: Repositories) -> None:
    seed(database, 2, links=False)
    writer = routes(repositories, "Book", "author")
    found, tag_ = writer.get(5003)
    assert found == author(2)
    assert tag_ == repositories["Author"].read_by_id(1002)[1]
    assert error_of(lambda: writer.get(5999)) == not_found("Author", "null")
    assert error_of(lambda: writer.get(999)) == not_found("Book", "999")


def links(database: Database) -> list[tuple[int, int]]:
    with database.read() as connection:
        rows = connection.execute(select(BOOK_TAG.c.bookId, BOOK_TAG.c.tagId)
                                  .order_by(BOOK_TAG.c.bookId, BOOK_TAG.c.tagId))
        return [(row[0], row[1]) for row in rows]


def test_has_many_through_find_create_and_patch(database: Database,
                                                repositories: Repositories) -> None:
    seed(database, 1)
    tags = routes(repositories, "Book", "tags")
    assert tags.find(5001, None) == [tag(RED), tag(BLUE)]
    assert tags.find(5001, {"where": {"name": {"like": "b%"}}}) == [tag(BLUE)]
    assert tags.find(5999, None) == []
    with etags_seen() as seen:
        created = tags.create(5002, {"name": "new"})
    assert created == {"id": created["id"], "name": "new"}
    assert seen["Tag", created["id"]] == repositories["Tag"].read_by_id(created["id"])[1]
    assert links(database) == sorted([(5001, RED), (5001, BLUE), (5002, GREEN),
                                      (5002, created["id"])])
    assert tags.find(5002, None) == sorted([tag(GREEN), created], key=lambda t: t["id"])
    assert tags.patch(5001, {"name": "warm"}, {"id": RED}) == 1
    assert tags.find(5001, None) == [{"id": RED, "name": "warm"}, tag(BLUE)]
    assert error_of(lambda: tags.create(999, {"name": "x"})) == not_found("Book", "999")
    assert repositories["Tag"].count() == 4


def test_has_many_through_delete_removes_links_and_targets(
        database: Database, repositories: Repositories) -> None:
    seed(database, 1)
    tags = routes(repositories, "Book", "tags")
    assert tags.delete(5001, {"name": "red"}) == 1
    assert links(database) == [(5001, BLUE), (5002, GREEN)]
    assert tags.delete(5001, None) == 1
    assert links(database) == [(5002, GREEN)]
    assert [t["id"] for t in repositories["Tag"].find()] == [GREEN]
    assert tags.delete(5001, None) == 0
    assert error_of(lambda: tags.delete(999, None)) == not_found("Book", "999")


@pytest.mark.parametrize(("entity", "relation"), [("Author", "books"), ("Book", "tags")])
def test_a_bad_where_on_a_relation_route_points_into_the_where(
        database: Database, repositories: Repositories, entity: str, relation: str) -> None:
    seed(database, 1)
    source = 1001 if entity == "Author" else 5001
    route = routes(repositories, entity, relation)
    target = "Book" if relation == "books" else "Tag"
    expected = bad_filter('{"nope":1}', "/nope", f"{target} has no property 'nope' to filter by",
                          {"property": "nope"}, parameter="where")
    assert error_of(lambda: route.patch(source, {}, {"nope": 1})) == expected
    assert error_of(lambda: route.delete(source, {"nope": 1})) == expected


# -- one pooled connection per relation write ---------------------------------------------

@dataclass
class Checkouts:
    """The pool's checkouts by one thread: how many in all, and the most it held at once."""

    total: int = 0
    held: int = 0
    most: int = 0


@contextmanager
def checkouts(database: Database) -> Iterator[Checkouts]:
    """Counts the pooled connections the calling thread takes from `database` in the block."""
    seen = Checkouts()
    thread = threading.get_ident()

    def checkout(*args: Any) -> None:
        if threading.get_ident() == thread:
            seen.total += 1
            seen.held += 1
            seen.most = max(seen.most, seen.held)

    def checkin(*args: Any) -> None:
        if threading.get_ident() == thread:
            seen.held -= 1

    event.listen(database.engine, "checkout", checkout)
    event.listen(database.engine, "checkin", checkin)
    try:
        yield seen
    finally:
        event.remove(database.engine, "checkout", checkout)
        event.remove(database.engine, "checkin", checkin)


RELATION_WRITES: list[tuple[str, str, Callable[[RelationRoutes], Any], Any]] = [
    ("Author", "books", lambda r: r.create(1001, {"title": "new"})["authorId"], 1001),
    ("Author", "books", lambda r: r.patch(1001, {"year": 1}, None), 2),
    ("Author", "books", lambda r: r.delete(1001, {"title": "1a"}), 1),
    ("Author", "profile", lambda r: r.create(1999, {"bio": "new"})["authorId"], 1999),
    ("Book", "tags", lambda r: r.create(5001, {"name": "new"})["name"], "new"),
    ("Book", "tags", lambda r: r.patch(5001, {"name": "warm"}, {"id": RED}), 1),
    ("Book", "tags", lambda r: r.delete(5001, {"name": "red"}), 1),
]


@pytest.mark.parametrize(("entity", "relation", "write", "expected"), RELATION_WRITES,
                         ids=["hasMany-create", "hasMany-patch", "hasMany-delete",
                              "hasOne-create", "through-create", "through-patch",
                              "through-delete"])
def test_a_relation_write_takes_one_pooled_connection(
        database: Database, repositories: Repositories, entity: str, relation: str,
        write: Callable[[RelationRoutes], Any], expected: Any) -> None:
    """The source's key is read in the write's own transaction: one connection, never two
    held at once (with a pool of N, N such writes would each wait for a second one)."""
    seed(database, 1, links=relation == "tags")
    route = routes(repositories, entity, relation)
    with checkouts(database) as seen:
        assert write(route) == expected
    assert (seen.total, seen.most) == (1, 1)


@pytest.mark.timeout(60)
def test_more_nested_writes_than_the_pool_holds_all_succeed(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """16 threads at once create books under their own authors and delete their own books'
    tags, on a pool of 2 with no overflow (SQLite's own: 5, and 10 more): every one succeeds,
    none waits out the pool's timeout, or SQLite's busy timeout, into a 503."""
    monkeypatch.setattr(database_module, "POOL_SIZE", 2)
    threads = 16
    small = Database(database.url.render_as_string(hide_password=False))
    try:
        empty(database, METADATA)
        with database.write() as connection:
            connection.execute(insert(AUTHOR), [{"id": 1000 + i, "name": f"author {i}"}
                                                for i in range(threads)])
            connection.execute(insert(BOOK), [{"id": 5000 + i, "title": f"{i}", "authorId": None}
                                              for i in range(threads)])
            connection.execute(insert(TAG), [{"id": 8000 + i, "name": f"tag {i}"}
                                             for i in range(threads)])
            connection.execute(insert(BOOK_TAG), [{"id": 7000 + i, "bookId": 5000 + i,
                                                   "tagId": 8000 + i} for i in range(threads)])
        repositories = Repositories(ENTITIES, METADATA.tables, small)
        books, tags = routes(repositories, "Author", "books"), routes(repositories, "Book", "tags")
        start = threading.Barrier(threads)

        def nested_writes(i: int) -> tuple[int, int]:
            start.wait(timeout=30)
            return books.create(1000 + i, {"title": f"new {i}"})["authorId"], tags.delete(
                5000 + i, None)

        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(nested_writes, range(threads)))
        assert done == [(1000 + i, 1) for i in range(threads)]
        assert repositories["Tag"].count() == 0
        assert repositories["Book"].count() == 2 * threads
    finally:
        small.close()


def test_a_has_many_through_delete_works_on_in_memory_sqlite() -> None:
    """`sqlite://` is one connection for every thread: a second checkout inside the delete's
    transaction would begin a transaction within it (an OperationalError, a 500)."""
    database = Database("sqlite://")
    try:
        with database.write() as connection:
            METADATA.create_all(connection)
        seed(database, 1)
        repositories = Repositories(ENTITIES, METADATA.tables, database)
        assert routes(repositories, "Book", "tags").delete(5001, None) == 2
        assert links(database) == [(5002, GREEN)]
    finally:
        database.close()


def test_the_seed_holds_what_the_expectations_assume(database: Database) -> None:
    """The seeding itself: what the expectations above rest on."""
    empty(database, METADATA)
    seed(database, 3)
    with database.read() as connection:
        counts = [connection.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in (AUTHOR, PROFILE, BOOK, TAG, BOOK_TAG)]
    assert counts == [4, 2, 7, 3, 9]
