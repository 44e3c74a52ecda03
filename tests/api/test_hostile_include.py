"""The `include` catalogue, end to end over `spec/` on SQLite, PostgreSQL and MariaDB: what one
small filter could make a worker load, and the answer it gets instead.

| attack | answer |
| --- | --- |
| `include` nested 7 and 10 levels (todos -> todoList -> ...) | 400 naming CHARTER_MAX_INCLUDE_DEPTH |
| `include: ["todos"]` on a list with 5,000 todos | 200 with the first CHARTER_MAX_LIMIT (1000) of them |
| 20 todos, each with its list and the list's todos (20,040 items) | 400 naming CHARTER_MAX_RESPONSE_ROWS |
| `"todos"` 16 times in one include | the answer, and the queries, of once |
| `todos` twice with different scopes | 400 naming the second |

Each answer is compared whole, within a time bound; a refused include sends no query, and the
capped answers' memory is measured with `tracemalloc`. The example runs with its defaults
(`Settings` as `charter serve` has them); the last test sets the three settings smaller.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, insert

from server.app import App
from server.errors import show
from server.settings import Settings
from tests.api.conftest import ROOT, database_url
from tests.client import Client
from tests.databases import DIALECTS

BIG = 5000
"""Todos in list 1."""
SMALL = [{"id": BIG + i, "title": f"small {i}", "todoListId": 2} for i in (1, 2, 3)]
LISTS = [{"id": 1, "title": "big"}, {"id": 2, "title": "small"}, {"id": 3, "title": "empty"}]
SECONDS = 10.0
"""Each request's time bound: generous for a loaded machine, far below what the attacks cost
without the bounds (minutes, or a worker killed for its memory)."""
MEGABYTES = 30
"""The most Python memory one capped answer may take at its peak (tracemalloc)."""


def todo(i: int) -> dict[str, Any]:
    return {"id": i, "title": f"todo {i}", "todoListId": 1}


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest) -> str:
    """Every test here runs on each database (overrides conftest's SQLite-only fixture)."""
    return str(request.param)


@pytest.fixture
def seeded(app: App, client: Client) -> Client:
    """List 1 holds todos 1-5000, list 2 three todos, list 3 none: written in two statements,
    as HTTP would take a while."""
    seed(app)
    return client


def seed(app: App) -> None:
    repositories = app.services["repositories"]
    with app.services["database"].write() as connection:
        connection.execute(insert(repositories["TodoList"].table), LISTS)
        connection.execute(insert(repositories["Todo"].table),
                           [todo(i) for i in range(1, BIG + 1)] + SMALL)


@contextmanager
def selects(app: App) -> Iterator[list[str]]:
    """The SELECT statements sent to the database inside the block."""
    statements: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = app.services["database"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def timed(call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"{elapsed:.1f} s"
    return result


def get(client: Client, path: str, filter_: dict[str, Any], status: int = 200) -> Any:
    response = timed(lambda: client.get(path, params={"filter": json.dumps(filter_)}))
    assert response.status_code == status, response.text[:1000]
    return response.json()


def bad_filter(filter_: dict[str, Any], path: str, message: str,
               info: dict[str, Any]) -> dict[str, Any]:
    return {"error": {
        "statusCode": 400, "name": "BadRequestError",
        "message": f'Invalid data {show(filter_)} for parameter "filter".',
        "code": "INVALID_PARAMETER_VALUE",
        "details": [{"path": path, "code": "filter", "message": message, "info": info}]}}


def nested_include(levels: int) -> dict[str, Any]:
    """`{"include": [{"relation": "todos", "scope": {"include": [{"relation": "todoList",
    ...`, `levels` deep, as the finding sent it to `GET /todo-lists`."""
    relations = ["todos", "todoList"]
    filter_: dict[str, Any] = {}
    for level in reversed(range(levels)):
        item: dict[str, Any] = {"relation": relations[level % 2]}
        if filter_:
            item["scope"] = filter_
        filter_ = {"include": [item]}
    return filter_


# -- depth ----------------------------------------------------------------------------------

@pytest.mark.parametrize("levels", [4, 7, 10])
def test_an_include_nested_past_the_limit_is_refused_before_any_query(
        app: App, seeded: Client, levels: int) -> None:
    filter_ = nested_include(levels)
    with selects(app) as statements:
        body = get(seeded, "/todo-lists", filter_, 400)
    assert body == bad_filter(filter_, "/include" + "/0/scope/include" * 3,
                              "include nests at most 3 levels deep (CHARTER_MAX_INCLUDE_DEPTH)",
                              {"limit": 3})
    assert statements == []


def test_an_include_three_levels_deep_is_answered(seeded: Client) -> None:
    filter_ = nested_include(3)
    small = {**LISTS[1], "todos": [{**item, "todoList": {**LISTS[1], "todos": SMALL}}
                                   for item in SMALL]}
    assert get(seeded, "/todo-lists/2", filter_) == small


# -- rows per parent, rows per response -----------------------------------------------------

def test_include_on_a_list_with_5000_todos_gives_the_first_max_limit(
        app: App, seeded: Client) -> None:
    tracemalloc.start()
    try:
        found = get(seeded, "/todo-lists/1", {"include": ["todos"]})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == {**LISTS[0], "todos": [todo(i) for i in range(1, 1001)]}
    assert peak < MEGABYTES * 2**20, f"{peak / 2**20:.1f} MB"
    # The scope's limit and skip apply per list, in SQL: no list's todos are all read.
    scope = {"order": "id DESC", "skip": 10, "limit": 2, "fields": ["id"]}
    with selects(app) as statements:
        found = get(seeded, "/todo-lists", {"include": [{"relation": "todos", "scope": scope}]})
    assert found == [{**LISTS[0], "todos": [{"id": 4990}, {"id": 4989}]},
                     {**LISTS[1], "todos": []}, {**LISTS[2], "todos": []}]
    assert len(statements) == 2
    scope = {"where": {"id": {"gt": 4000}}, "fields": ["id"]}
    found = get(seeded, "/todo-lists", {"include": [{"relation": "todos", "scope": scope}]})
    assert found == [{**LISTS[0], "todos": [{"id": i} for i in range(4001, 5001)]},
                     {**LISTS[1], "todos": [{"id": item["id"]} for item in SMALL]},
                     {**LISTS[2], "todos": []}]


def test_a_response_that_would_hold_too_many_items_is_refused(seeded: Client) -> None:
    """Each todo shows its list, and each list its 1000 todos: 20 + 20 + 20,000 items."""
    include = [{"relation": "todoList", "scope": {"include": ["todos"]}}]
    filter_ = {"where": {"todoListId": 1}, "limit": 20, "include": include}
    tracemalloc.start()
    try:
        body = get(seeded, "/todos", filter_, 400)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body == bad_filter(
        filter_, "/include/0/scope/include/0",
        "the response would hold more than 10000 items (CHARTER_MAX_RESPONSE_ROWS); ask for "
        "fewer with limit, or narrow the include with its scope's where or limit",
        {"relation": "todos", "limit": 10000})
    assert peak < MEGABYTES * 2**20, f"{peak / 2**20:.1f} MB"
    # 9 + 9 + 9,000 items fit.
    found = get(seeded, "/todos", {**filter_, "limit": 9})
    first = [todo(i) for i in range(1, 1001)]
    assert found == [{**todo(i), "todoList": {**LISTS[0], "todos": first}} for i in range(1, 10)]


# -- a relation named more than once --------------------------------------------------------

def test_a_relation_named_16_times_is_included_once(app: App, seeded: Client) -> None:
    with selects(app) as once:
        expected = get(seeded, "/todo-lists", {"include": ["todos"]})
    with selects(app) as repeated:
        assert get(seeded, "/todo-lists", {"include": ["todos"] * 16}) == expected
    assert len(repeated) == len(once) == 2
    assert get(seeded, "/todo-lists", {"include": [
        "todos", {"relation": "todos"}, {"relation": "todos", "scope": {}}]}) == expected


def test_a_relation_named_twice_with_different_scopes_is_refused(seeded: Client) -> None:
    filter_ = {"include": ["todos", "image", {"relation": "todos", "scope": {"limit": 1}}]}
    assert get(seeded, "/todo-lists", filter_, 400) == bad_filter(
        filter_, "/include/2",
        "'todos' is included twice with different scopes; include a relation once",
        {"relation": "todos"})


# -- the settings ---------------------------------------------------------------------------

def test_the_bounds_are_the_settings(database: str, tmp_path: Any) -> None:
    environ = {"CHARTER_MAX_INCLUDE_DEPTH": "1", "CHARTER_MAX_RESPONSE_ROWS": "5",
               "CHARTER_MAX_LIMIT": "2"}
    app = App(Settings.from_env(environ, spec=ROOT / "spec", handlers="handlers",
                                database_url=database_url(database, tmp_path), migrate=True))
    try:
        seed(app)
        with Client(app) as client:
            filter_ = nested_include(2)
            assert get(client, "/todo-lists", filter_, 400) == bad_filter(
                filter_, "/include/0/scope/include",
                "include nests at most 1 levels deep (CHARTER_MAX_INCLUDE_DEPTH)", {"limit": 1})
            # Each list shows two of its todos; two lists (2 + 4 items) are one too many.
            filter_ = {"include": ["todos"]}
            assert get(client, "/todo-lists", filter_, 400) == bad_filter(
                filter_, "/include/0",
                "the response would hold more than 5 items (CHARTER_MAX_RESPONSE_ROWS); ask for "
                "fewer with limit, or narrow the include with its scope's where or limit",
                {"relation": "todos", "limit": 5})
            assert get(client, "/todo-lists", {**filter_, "skip": 1}) == [
                {**LISTS[1], "todos": SMALL[:2]}, {**LISTS[2], "todos": []}]
    finally:
        app.close()
