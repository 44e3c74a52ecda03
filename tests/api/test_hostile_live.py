"""The worst attacks of the catalogue, against a live `charter serve` while a probe GET is timed.

Each attack is sent to a real server (uvicorn, one worker, the example on SQLite) while another
client sends `GET /todos/count` every 20 ms. Whatever the attack, it gets a clear answer in
bounded time, the probe's worst latency stays under a second, and the server's memory stays
within a few hundred MB of its size before the attacks:

| attack | answer |
| --- | --- |
| `include` nested 7 and 10 levels (todos -> todoList -> todos ...) | 400 naming CHARTER_MAX_INCLUDE_DEPTH |
| `include: ["todos"]` on a list with 20,000 todos | 200, at most CHARTER_MAX_LIMIT todos |
| `"todos"` 16 times in one include | the same answer as once |
| `regexp` `(a|a)*$` on a 26-character title, `a*a*a*!` on 2,000 `a`s | 200, in linear time |
| 400,000 repeated header lines (2 MB) | 431, or the connection closed |
| a 10 MB Cookie header, a 100 MB header | 431, or the connection closed |
| a `tag` nested 253 and 254 levels, a `tag` of 2**64 | 422, nothing stored; `GET /todos` still 200 |

The other tests of the catalogue (`tests/test_hostile_*.py`, `tests/api/test_hostile_*.py`)
check each answer in detail, in process and on every database; this one checks that a worker
survives them all and keeps answering others.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveServer, Probe, live_server

MEMORY_MARGIN = 300 * 1024 * 1024
"""Bytes the server may grow by, over its size before the attacks."""
MANY_TODOS = 20_000

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("live")) as server:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            listed = client.post("/todo-lists", json={"title": "big"})
            assert listed.status_code == 200, listed.text
            client.post("/todos", json={"title": "abcdefghijklmnopqrstuvwxyz"})
            client.post("/todos", json={"title": "a" * 2000})
        _seed_todos(server.database, listed.json()["id"], MANY_TODOS)
        yield server


def _seed_todos(database: Path, list_id: int, count: int) -> None:
    """Many todos in one list, written straight to the file: HTTP would take minutes."""
    connection = sqlite3.connect(database, timeout=10)
    try:
        with connection:
            connection.executemany(
                "INSERT INTO todo (title, todo_list_id) VALUES (?, ?)",
                ((f"todo {i}", list_id) for i in range(count)))
    finally:
        connection.close()


@pytest.fixture(scope="module")
def idle_rss(server: LiveServer) -> int:
    httpx.get(f"{server.url}/todos/count", timeout=10.0)
    return server.rss()


def _attack(server: LiveServer, idle_rss: int, attack: Callable[[], Any]) -> Any:
    with Probe(server.url):
        result = attack()
    grown = server.rss() - idle_rss
    assert grown < MEMORY_MARGIN, f"the server grew by {grown / 2**20:.0f} MB"
    assert server.process.poll() is None, server.output()
    return result


def _get(server: LiveServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, timeout=30.0)


def _nested_include(levels: int) -> dict[str, Any]:
    relations = ["todos", "todoList"]
    scope: dict[str, Any] = {}
    for level in reversed(range(levels)):
        item: dict[str, Any] = {"relation": relations[level % 2]}
        if scope:
            item["scope"] = scope
        scope = {"include": [item]}
    return scope


@pytest.mark.parametrize("levels", [7, 10])
def test_deeply_nested_include_is_refused(server: LiveServer, idle_rss: int, levels: int) -> None:
    response = _attack(server, idle_rss, lambda: _get(
        server, "/todo-lists", filter=json.dumps(_nested_include(levels))))
    assert response.status_code == 400, response.text[:500]
    assert "CHARTER_MAX_INCLUDE_DEPTH" in response.text


def test_include_of_a_huge_relation_is_capped(server: LiveServer, idle_rss: int) -> None:
    response = _attack(server, idle_rss, lambda: _get(
        server, "/todo-lists", filter=json.dumps({"include": ["todos"]})))
    assert response.status_code == 200, response.text[:500]
    todos = response.json()[0]["todos"]
    assert 0 < len(todos) <= 1000


def test_repeated_include_costs_what_one_does(server: LiveServer, idle_rss: int) -> None:
    once = _get(server, "/todo-lists", filter=json.dumps({"include": ["todos"]}))
    repeated = _attack(server, idle_rss, lambda: _get(
        server, "/todo-lists", filter=json.dumps({"include": ["todos"] * 16})))
    assert repeated.status_code == 200, repeated.text[:500]
    assert repeated.json() == once.json()


@pytest.mark.parametrize(("pattern", "title"), [
    ("(a|a)*$", "abcdefghijklmnopqrstuvwxyz"),
    ("a*a*a*!", "a" * 2000),
])
def test_catastrophic_regexp_runs_in_linear_time(server: LiveServer, idle_rss: int,
                                                 pattern: str, title: str) -> None:
    where = {"where": {"title": {"regexp": pattern}}, "fields": ["title"]}
    started = time.monotonic()
    response = _attack(server, idle_rss, lambda: _get(server, "/todos", filter=json.dumps(where)))
    assert time.monotonic() - started < 2.5
    assert response.status_code == 200, response.text[:500]
    titles = [todo["title"] for todo in response.json()]
    expected_match = pattern == "(a|a)*$"  # `$` matches at the end of any title
    assert (title in titles) is expected_match


def _raw_request(server: LiveServer, head: bytes, chunk: int = 1 << 16) -> bytes:
    """Send a request's head as fast as the server takes it; the first line of its answer,
    or b"" when it closed the connection first."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as connection:
        try:
            for start in range(0, len(head), chunk):
                connection.sendall(head[start:start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused to read on: also a clear answer
        try:
            return connection.recv(4096).split(b"\r\n", 1)[0]
        except (ConnectionResetError, TimeoutError):
            return b""


def _refused_head(answer: bytes) -> None:
    assert answer in (b"", b"HTTP/1.1 431 Request Header Fields Too Large") or answer.startswith(
        b"HTTP/1.1 431") or answer.startswith(b"HTTP/1.1 400"), answer


@pytest.mark.parametrize("head", [
    pytest.param(b"GET /todos/count HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 400_000 + b"\r\n",
                 id="400k-repeated-headers"),
    pytest.param(b"GET /todos/count HTTP/1.1\r\nHost: x\r\nCookie: a=" + b"b" * 10_000_000
                 + b"\r\n\r\n", id="10MB-cookie"),
    pytest.param(b"GET /todos/count HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100_000_000
                 + b"\r\n\r\n", id="100MB-header"),
])
def test_oversized_headers_are_refused(server: LiveServer, idle_rss: int, head: bytes) -> None:
    answer = _attack(server, idle_rss, lambda: _raw_request(server, head))
    _refused_head(answer)


@pytest.mark.parametrize("tag", [
    pytest.param("deep253", id="tag-nested-253"),
    pytest.param("deep254", id="tag-nested-254"),
    pytest.param("big", id="tag-2**64"),
])
def test_unstorable_json_is_refused_before_it_is_stored(server: LiveServer, idle_rss: int,
                                                       tag: str) -> None:
    depth = {"deep253": 253, "deep254": 254}.get(tag)
    body = (b'{"title":"poison","tag":' + b"[" * depth + b"]" * depth + b"}" if depth
            else b'{"title":"poison","tag":18446744073709551616}')
    response = _attack(server, idle_rss, lambda: httpx.post(
        f"{server.url}/todos", content=body, headers={"content-type": "application/json"},
        timeout=30.0))
    assert response.status_code == 422, response.text[:500]
    listed = _get(server, "/todos", filter=json.dumps({"where": {"title": "poison"}}))
    assert listed.status_code == 200, listed.text[:500]
    assert listed.json() == []
