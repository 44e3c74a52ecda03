"""The ceiling: a hand-written ASGI callable answering the benchmarked operations of the todo API.

It checks only what it must to answer with the same status codes as the frameworks: a known id
(404), a JSON filter object (400), a body that is a JSON object with a string `title` and only
NewTodo's properties (422). It serves `GET /todos`, `POST /todos` and `GET /todos/{id}`; other
paths are 404 and other methods 405. JSON is written with orjson, as Charter writes it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson

from bench.store import TodoStore

NEW_TODO_PROPERTIES = frozenset({"title", "desc", "isComplete", "remindAtAddress", "remindAtGeo", "tag"})

store = TodoStore.seeded()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    method: str = scope["method"]
    path: str = scope["path"]
    if path == "/todos":
        if method == "GET":
            status, content = _find(scope["query_string"])
        elif method == "POST":
            status, content = _create(await _read_body(receive))
        else:
            status, content = 405, {"error": "Method Not Allowed"}
    elif path.startswith("/todos/") and path.count("/") == 2:
        if method == "GET":
            status, content = _find_by_id(path[7:])
        else:
            status, content = 405, {"error": "Method Not Allowed"}
    else:
        status, content = 404, {"error": "Not Found"}
    body = orjson.dumps(content)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _find(query_string: bytes) -> tuple[int, Any]:
    raw = parse_qs(query_string.decode("latin-1")).get("filter")
    if raw is None:
        return 200, store.find()
    try:
        filter_ = orjson.loads(raw[0])
    except orjson.JSONDecodeError:
        return 400, {"error": "filter is not JSON"}
    if not isinstance(filter_, dict):
        return 400, {"error": "filter is not an object"}
    return 200, store.find(filter_)


def _find_by_id(raw_id: str) -> tuple[int, Any]:
    try:
        todo = store.get(float(raw_id))
    except ValueError:
        return 400, {"error": "id is not a number"}
    return (200, todo) if todo is not None else (404, {"error": "Not Found"})


def _create(raw_body: bytes) -> tuple[int, Any]:
    try:
        body = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        return 400, {"error": "body is not JSON"}
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("title"), str)
        or not body.keys() <= NEW_TODO_PROPERTIES
    ):
        return 422, {"error": "invalid todo"}
    return 200, store.create(body)
