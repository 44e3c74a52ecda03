"""The access log: one line per request, only where its logger is on."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from server.access import AccessLog
from server.app import App
from server.settings import Settings
from tests.client import Client
from tests.live import live_server

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(**overrides: object) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", allow_unbound=True, **overrides))


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


def test_each_request_is_one_line_without_its_query_string(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="charter.access"):
        client = Client(make_app())
        caplog.clear()
        found = client.get("/items?api_key=secret", headers={"x-request-id": "req-7"})
        missing = client.get("/no%0Awhere")
    lines = [r.getMessage() for r in caplog.records if r.name == "charter.access"]
    assert found.status_code == 200 and missing.status_code == 404
    assert re.fullmatch(r"GET /items 200 \d+\.\dms req-7", lines[0]), lines
    generated = missing.headers["x-request-id"]
    assert re.fullmatch(rf"GET /no%0Awhere 404 \d+\.\dms {re.escape(generated)}", lines[1])
    assert "secret" not in "".join(lines)


def test_no_access_log_where_its_logger_is_off_or_the_setting_is(
        caplog: pytest.LogCaptureFixture) -> None:
    assert not isinstance(make_app()._app, AccessLog)  # logging left as it is: WARNING
    with caplog.at_level(logging.INFO, logger="charter.access"):
        assert isinstance(make_app()._app, AccessLog)
        assert not isinstance(make_app(access_log=False)._app, AccessLog)


def test_charter_serve_logs_each_request_unless_told_not_to(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        httpx.get(f"{server.url}/todos/count?where=%7B%7D")
        output = server.output()
    assert re.search(r"INFO: +GET /todos/count 200 \d+\.\dms \S+-\d+\n", output), output
    with live_server(tmp_path, args=("--no-access-log",)) as server:
        httpx.get(f"{server.url}/todos/count")
        output = server.output()
    assert "GET /todos/count" not in output
