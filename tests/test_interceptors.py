"""Interceptors bound with `x-interceptors`: order across global, tag and operation; what they
see and change; when they do not run; the contract problems of a wrong one."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import App, ContractError
from server.cli import main
from server.settings import Settings
from tests.client import Client

SPEC = """
openapi: 3.0.3
info: {title: intercepted, version: "1"}
x-interceptors: [Audit.outer]
tags:
  - name: items
    x-interceptors: [Audit.tagged]
paths:
  /items/{id}:
    get:
      operationId: Items.get
      tags: [items]
      x-interceptors: [Audit.own, audit.swap]
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, maximum: 100}}
      responses:
        "200":
          description: the item
          content:
            application/json:
              schema: {type: object}
  /plain:
    post:
      operationId: Items.plain
      responses:
        "204": {description: done}
"""

HANDLERS = '''
from server import NotFound


class Items:
    def get(self, id_):
        if id_ == 13:
            raise NotFound("no 13")
        return {"id": id_}

    def plain(self):
        return None


class Audit:
    def __init__(self, calls):
        self.calls = calls

    async def outer(self, context, call_next):
        self.calls.append(("outer", context.operation_id, context.route))
        result = await call_next()
        context.response_headers["Server-Timing"] = "app"
        return result

    async def tagged(self, context, call_next):
        self.calls.append(("tagged", dict(context.arguments)))
        try:
            return await call_next()
        except NotFound:
            self.calls.append(("tagged saw", "NotFound"))
            raise

    async def own(self, context, call_next):
        self.calls.append(("own", context.request.headers.get("x-who")))
        if context.arguments["id_"] == 7:
            context.arguments["id_"] = 8  # the handler gets the change
        result = await call_next()
        return {**result, "seen": True} if context.arguments["id_"] != 9 else {"replaced": 1}


def services(settings):
    return {"calls": []}
'''

SWAP = '''
async def swap(context, call_next):
    result = await call_next()
    context.response_headers["x-swapped"] = "yes"
    return result
'''


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield _app(tmp_path, monkeypatch, SPEC, HANDLERS)


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, handlers: str) -> App:
    (tmp_path / "openapi.yaml").write_text(spec)
    package = tmp_path / "intercepting"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(handlers)
    (package / "audit.py").write_text(SWAP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in [name for name in sys.modules if name.split(".")[0] == "intercepting"]:
        monkeypatch.delitem(sys.modules, name)  # each test's own package, not the last one's
    importlib.invalidate_caches()
    return App(Settings.from_env({}, spec=tmp_path / "openapi.yaml", handlers="intercepting"))


def test_they_run_global_then_tag_then_operation_around_the_handler(app: App) -> None:
    with Client(app) as client:
        response = client.get("/items/5", headers={"x-who": "ann"})
    assert response.status_code == 200
    assert response.json() == {"id": 5, "seen": True}
    assert response.headers["server-timing"] == "app"
    assert response.headers["x-swapped"] == "yes"
    assert response.headers["content-type"] == "application/json"
    assert app.services["calls"] == [("outer", "Items.get", "GET /items/{id}"),
                                     ("tagged", {"id_": 5}), ("own", "ann")]
    assert [op.interceptors for op in app.operations] == [
        ("Audit.outer", "Audit.tagged", "Audit.own", "audit.swap"), ("Audit.outer",)]


def test_they_change_the_arguments_and_the_result(app: App) -> None:
    with Client(app) as client:
        assert client.get("/items/7").json() == {"id": 8, "seen": True}
        assert client.get("/items/9").json() == {"replaced": 1}


def test_they_see_the_handlers_errors_which_still_answer(app: App) -> None:
    with Client(app) as client:
        response = client.get("/items/13")
    assert response.status_code == 404
    assert ("tagged saw", "NotFound") in app.services["calls"]
    assert "server-timing" not in response.headers  # an error carries no interceptor headers


def test_a_204_keeps_its_empty_body_and_gains_their_headers(app: App) -> None:
    with Client(app) as client:
        response = client.post("/plain")
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["server-timing"] == "app"
    assert "content-type" not in response.headers


def test_they_never_run_for_a_404_a_405_or_a_refused_request(app: App) -> None:
    with Client(app) as client:
        assert client.get("/nothing").status_code == 404
        assert client.delete("/items/5").status_code == 405
        assert client.get("/items/500").status_code == 400  # id over its maximum
        assert app.services["calls"] == []


def test_check_prints_each_operations_chain(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--spec", "openapi.yaml", "--handlers", "intercepting"]) == 0
    out = capsys.readouterr().out
    assert "-> intercepting.Items.get [Audit.outer, Audit.tagged, Audit.own, audit.swap]" in out
    assert "-> intercepting.Items.plain [Audit.outer]" in out


@pytest.mark.parametrize(("handlers", "problem"), [
    (HANDLERS.replace("    async def own(self, context, call_next):",
                      "    def own(self, context, call_next):\n        return call_next\n\n"
                      "    async def later(self, context, call_next):"),
     "GET /items/{id}: interceptor 'Audit.own' must be `async def`: it is awaited with "
     "(context, call_next)"),
    (HANDLERS.replace("def own", "def owned"),
     "GET /items/{id}: interceptor 'Audit.own': class 'Audit' has no method 'own' "
     "(did you mean 'owned'?)"),
    (HANDLERS.replace("return {\"calls\": []}", "return {}"),
     "GET /items/{id}: interceptor 'Audit.outer': Audit.__init__ needs 'calls', which is not a "
     "registered dependency (available: settings)"),
])
def test_a_wrong_interceptor_stops_the_start_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handlers: str, problem: str) -> None:
    with pytest.raises(ContractError) as caught:
        _app(tmp_path, monkeypatch, SPEC, handlers)
    assert problem in caught.value.problems


def test_without_interceptors_the_handler_is_invoked_directly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, monkeypatch, SPEC.replace("x-interceptors", "x-unused"), HANDLERS)
    operation: Any = app.operations[0]
    assert operation.interceptors == ()
    assert operation.invoke.__name__ != "invoke_intercepted"


def test_under_allow_unbound_an_unwritten_interceptor_is_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "openapi.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="charter"):
        app = App(Settings.from_env({}, spec=tmp_path / "openapi.yaml",
                                    handlers="not_written_yet", allow_unbound=True))
    assert [op.interceptors for op in app.operations] == [(), ()]
    assert "interceptor 'Audit.outer': there is no handlers package to find it in; the " \
           "operation runs without it" in caplog.text
    with Client(app) as client:
        assert client.get("/items/1").status_code == 501
