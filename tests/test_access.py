"""The access log: one line per request, buffered for at most a second."""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path

import httpx
import pytest

from server.access import AccessLog
from server.app import App
from server.settings import Settings
from server.types import Message, Receive, Scope, Send
from tests.client import Client
from tests.live import live_server

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(**overrides: object) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", allow_unbound=True, **overrides))


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


def test_each_request_is_one_line_without_its_query_string() -> None:
    app = make_app(access_log=True)
    assert app.access_log is not None
    app.access_log.stream = written = io.StringIO()
    with Client(app) as client:
        found = client.get("/items?api_key=secret", headers={"x-request-id": "req-7"})
        missing = client.get("/no%0Awhere")
    lines = written.getvalue().splitlines()  # the shutdown wrote what was buffered
    assert found.status_code == 200 and missing.status_code == 404
    assert re.fullmatch(r"GET /items 200 \d+\.\dms req-7", lines[0]), lines
    generated = re.escape(missing.headers["x-request-id"])
    # A client's mistake is named on its line, quoted so that its newline cannot start another
    assert re.fullmatch(rf"GET /no%0Awhere 404 \d+\.\dms {generated} NotFoundError "
                        r'"Endpoint \\"GET /no\\nwhere\\" not found\."', lines[1]), lines
    assert len(lines) == 2 and "secret" not in written.getvalue()


def test_off_unless_asked_for() -> None:
    app = make_app()
    assert app.access_log is None and not isinstance(app._app, AccessLog)


def test_lines_are_written_within_the_interval_or_when_the_buffer_fills() -> None:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def noop(message: Message) -> None:
        return None

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    written = io.StringIO()
    log = AccessLog(answer, written, interval=0.05)

    async def run() -> tuple[int, int]:
        scope = {"type": "http", "method": "GET", "path": "/a", "raw_path": b"/a"}
        for _ in range(3):
            await log(scope, nothing, noop)
        before = len(written.getvalue().splitlines())
        await asyncio.sleep(0.2)
        after = len(written.getvalue().splitlines())
        for _ in range(300):  # more than the buffer holds: written at once
            await log(scope, nothing, noop)
        return before, after

    before, after = asyncio.run(run())
    assert (before, after) == (0, 3)
    assert len(written.getvalue().splitlines()) == 3 + 256


def test_charter_serve_logs_each_request_unless_told_not_to(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        httpx.get(f"{server.url}/todos/count?where=%7B%7D")
        deadline = time.monotonic() + 5
        while "GET /todos/count" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        output = server.output()
    assert re.search(r"\nGET /todos/count 200 \d+\.\dms \S+-\d+\n", output), output
    with live_server(tmp_path, args=("--no-access-log",)) as server:
        httpx.get(f"{server.url}/todos/count")
        time.sleep(1.5)
        output = server.output()
    assert "GET /todos/count" not in output
