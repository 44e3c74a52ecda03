"""Relation routes (`server/data/relation_routes.py`): LoopBack's relation controllers' actions on
the library (`tests/data/library.py`), and one pooled connection per relation write."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from server.data import database as database_module
from server.data.database import Database
from server.data.relation_routes import RelationRoutes
from server.data.repository import Repositories, etags_seen
from tests.data.library import (
    AUTHOR,
    BLUE,
    BOOK,
    BOOK_TAG,
    ENTITIES,
    GREEN,
    METADATA,
    RED,
    TAG,
    author,
    bad_filter,
    books_of,
    error_of,
    not_found,
    seed,
    tag,
)
from tests.databases import empty, error_body


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


def test_each_relations_routes_run_one_statement_per_filter_shape_whatever_the_source(
        database: Database, repositories: Repositories) -> None:
    seed(database, 3)
    books, tags = routes(repositories, "Author", "books"), routes(repositories, "Book", "tags")
    profile = routes(repositories, "Author", "profile")
    statements = {name: repositories[name].statements for name in ("Book", "Tag", "Profile")}
    year = {"where": {"year": {"gt": 0}}, "order": "title DESC"}
    assert [b["title"] for b in books.find(1001, year)] == ["1b", "1a"]
    assert [b["title"] for b in books.find(1002, year)] == ["2b", "2a"]
    assert [t["name"] for t in tags.find(5001, None)] == ["red", "blue"]
    assert [t["name"] for t in tags.find(5002, None)] == ["green"]
    assert profile.get(1001)[0]["bio"] == "bio 1"
    assert profile.get(1003)[0]["bio"] == "bio 3"
    assert books.patch(1001, {"year": 1}, {"title": "1a"}) == 1
    assert books.patch(1002, {"year": 2}, {"title": "2b"}) == 1
    assert tags.patch(5001, {"name": "warm"}, {"id": RED}) == 1
    assert tags.patch(5002, {"name": "grass"}, {"id": GREEN}) == 1
    assert [len(kept) for kept in statements.values()] == [2, 2, 1]
    assert [(b["title"], b["year"]) for b in books.find(1001, None)] == [("1a", 1), ("1b", 1991)]
    assert [t["name"] for t in tags.find(5002, None)] == ["grass"]


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
