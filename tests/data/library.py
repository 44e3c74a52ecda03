"""The relations' test library: Author hasMany Book and hasOne Profile; Book belongsTo Author
and hasManyThrough Tag (through BookTag). Its tables, a seed the same on every database, and
the expectations that `test_relations.py` and `test_relation_routes.py` share (their
`database` and `repositories` fixtures are in `conftest.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert

from server.data.database import Database
from server.data.entities import read_entities
from server.data.tables import build_tables
from server.errors import HttpError
from tests.databases import body, error_body

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
