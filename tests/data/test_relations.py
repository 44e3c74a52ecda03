"""Relations: `include` of every kind in a fixed number of queries, on the library
(`tests/data/library.py`), on SQLite, PostgreSQL and MariaDB/MySQL (skipping a server that is
not running)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from server.data.database import Database
from server.data.repository import Repositories
from server.errors import show
from tests.data.library import (
    ANONYMOUS,
    AUTHOR,
    BLUE,
    BOOK,
    BOOK_TAG,
    ENTITIES,
    GREEN,
    LONELY,
    METADATA,
    PROFILE,
    RED,
    TAG,
    author,
    bad_filter,
    books_of,
    error_of,
    seed,
    tag,
)
from tests.databases import empty

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


def test_includes_of_one_shape_share_a_statement_and_keep_their_values(
        database: Database, repositories: Repositories) -> None:
    seed(database, 3)
    authors, books, tags = (repositories[name] for name in ("Author", "Book", "Tag"))

    def titles(year: int, limit: int, skip: int) -> list[list[str]]:
        found = authors.find({"where": {"id": {"lt": 1999}}, "include": [{
            "relation": "books", "scope": {"where": {"year": {"gt": year}}, "order": "year DESC",
                                           "limit": limit, "skip": skip}}]})
        return [[book["title"] for book in author_["books"]] for author_ in found]

    def names(book: int, first: str) -> list[str]:
        found = books.find_by_id(book, {"include": [
            {"relation": "tags", "scope": {"where": {"name": {"gte": first}}}}]})
        return [tag_["name"] for tag_ in found["tags"]]

    kept = {name: len(repositories[name].statements) for name in ("Book", "Tag")}
    assert titles(0, 2, 1) == [["1b"], ["2b"], ["3b"]]
    assert titles(1992, 1, 1) == [[], [], ["3b"]]
    assert titles(1995, 5, 1) == [[], [], []]
    assert names(5001, "c") == ["red"]
    assert names(5003, "a") == ["red", "blue"]
    assert names(5004, "a") == ["green"]
    assert len(repositories["Book"].statements) == kept["Book"] + 1
    assert len(tags.statements) == kept["Tag"] + 1


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


def test_the_seed_holds_what_the_expectations_assume(database: Database) -> None:
    """The seeding itself: what the expectations above rest on."""
    empty(database, METADATA)
    seed(database, 3)
    with database.read() as connection:
        counts = [connection.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in (AUTHOR, PROFILE, BOOK, TAG, BOOK_TAG)]
    assert counts == [4, 2, 7, 3, 9]
