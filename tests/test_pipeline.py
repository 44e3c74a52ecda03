"""The pipeline: one request from route to response, over the pipeline fixture's item API.

Each test drives the ASGI callable directly, so that the scope, the messages received and the
messages sent are exact (end-to-end behaviour is in tests/test_app.py and tests/api/).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from server.app import App
from server.settings import Settings
from server.types import BODY_TIMED, OUTCOME, Message

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


def make_app(**overrides: Any) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", allow_unbound=True, **overrides))


def call(app: App, method: str, path: str, *, body: bytes = b"",
         headers: list[tuple[bytes, bytes]] | None = None, scope: dict[str, Any] | None = None,
         messages: list[Message] | None = None) -> tuple[list[Message], dict[str, Any]]:
    """What the app sent for one request, and the scope it saw."""
    sent: list[Message] = []
    sent_headers = list(headers or [])
    if body:
        sent_headers += [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]
    full = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": sent_headers, "scheme": "http",
            "server": ("test", 80), "client": ("10.0.0.9", 1), "root_path": "", **(scope or {})}
    inbox = list(messages if messages is not None else
                 [{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> Message:
        if not inbox:  # the client waits for the answer
            await asyncio.Event().wait()
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(full, receive, send))
    return sent, full


def head_of(sent: list[Message]) -> tuple[int, dict[bytes, bytes]]:
    return sent[0]["status"], dict(sent[0]["headers"])


def test_a_request_id_sent_is_echoed_at_most_128_characters_else_one_is_made() -> None:
    app = make_app()
    sent, _ = call(app, "GET", "/items/1", headers=[(b"x-request-id", b"r" * 300)])
    assert head_of(sent)[1][b"x-request-id"] == b"r" * 128
    made = [head_of(call(app, "GET", "/items/1")[0])[1][b"x-request-id"] for _ in range(2)]
    assert all(re.fullmatch(rb"[0-9a-f]{8}-\d+", made_id) for made_id in made)
    assert made[0] != made[1]


def test_head_sends_the_length_of_the_body_it_leaves_out() -> None:
    sent, _ = call(make_app(), "HEAD", "/items/1")
    status, headers = head_of(sent)
    assert status == 200 and int(headers[b"content-length"]) > 0
    assert sent[1].get("body", b"") == b""


def test_a_clients_mistake_is_named_for_the_access_log_and_nothing_else_is() -> None:
    app = make_app()
    _, scope = call(app, "GET", "/items/x")
    assert scope[OUTCOME].startswith('INVALID_PARAMETER_VALUE "Invalid data')
    _, scope = call(app, "GET", "/items/1")
    assert OUTCOME not in scope
    _, scope = call(app, "GET", "/crash")  # a failure of the server's is logged, not named
    assert OUTCOME not in scope


def test_a_client_gone_before_its_body_is_sent_nothing() -> None:
    sent, _ = call(make_app(), "POST", "/items", body=b'{"name": "x"}',
                   messages=[{"type": "http.request", "body": b'{"na', "more_body": True},
                             {"type": "http.disconnect"}])
    assert sent == []


def test_a_body_is_read_in_chunks_and_over_the_limit_refused_as_it_arrives() -> None:
    app = make_app(max_body_size=20)
    chunks = [{"type": "http.request", "body": b'{"name": ', "more_body": True},
              {"type": "http.request", "body": b'"chunked"}', "more_body": False}]
    sent, _ = call(app, "POST", "/items", headers=[(b"transfer-encoding", b"chunked")],
                   messages=chunks)
    assert head_of(sent)[0] == 201 and json.loads(sent[1]["body"])["name"] == "chunked"
    chunks = [{"type": "http.request", "body": b"x" * 15, "more_body": True},
              {"type": "http.request", "body": b"x" * 15, "more_body": True}]
    sent, _ = call(app, "POST", "/items", headers=[(b"transfer-encoding", b"chunked")],
                   messages=chunks)  # never sends the end: refused at 30 bytes, not waited for
    assert head_of(sent)[0] == 413


def test_a_body_the_server_times_is_read_without_a_deadline_of_the_apps() -> None:
    # A read that would outlast body_timeout: the app leaves it to the server (`BODY_TIMED`).
    app = make_app(body_timeout=1)
    slow = [{"type": "http.request", "body": b'{"name": "slow"}', "more_body": False}]

    async def late_receive_app() -> list[Message]:
        sent: list[Message] = []

        async def receive() -> Message:
            await asyncio.sleep(1.5)
            return slow.pop(0)

        async def send(message: Message) -> None:
            sent.append(message)

        await app({"type": "http", "method": "POST", "path": "/items", "raw_path": b"/items",
                   "query_string": b"", "scheme": "http", "server": ("test", 80),
                   "client": ("10.0.0.9", 1), "root_path": "", BODY_TIMED: True,
                   "headers": [(b"content-type", b"application/json"),
                               (b"content-length", b"16")]}, receive, send)
        return sent

    sent = asyncio.run(late_receive_app())
    assert head_of(sent)[0] == 201


def test_only_get_and_head_fall_back_to_static_files(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi")
    app = App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                handlers="pipeline_handlers", allow_unbound=True),
              static=tmp_path)
    sent, _ = call(app, "GET", "/hello.txt")
    assert head_of(sent)[0] == 200 and sent[1]["body"] == b"hi"
    sent, _ = call(app, "POST", "/hello.txt")
    assert head_of(sent)[0] == 404
    sent, _ = call(app, "GET", "/items/1")  # a route is never shadowed by a file
    assert head_of(sent)[0] == 200
