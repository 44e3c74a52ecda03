"""Operations: each one compiled once, from its spec and its handler, then only looked up."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.app import App
from server.errors import InvalidParameterValue, ValidationFailed
from server.interceptors import Intercepted
from server.operations import Operation
from server.parameters import RequestParts
from server.responses import Response
from server.settings import Settings

SPEC = """\
openapi: 3.0.3
info: {title: ops, version: '1'}
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getThing
      parameters:
        - {name: session, in: cookie, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, maximum: 10}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
        '404':
          description: none
          content: {application/problem+json: {schema: {type: object}}}
        4XX: {description: other, content: {application/json: {schema: {type: object}}}}
    put:
      operationId: putThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties: {name: {type: string}, size: {type: integer}}
      responses:
        '204': {description: replaced}
"""


@pytest.fixture
def operations(tmp_path: Path) -> dict[str, Operation]:
    (tmp_path / "openapi.yaml").write_text(SPEC)
    app = App(Settings.from_env({}, spec=tmp_path, handlers="no_such_package",
                                allow_unbound=True))
    return {op.operation_id or "": op for op in app.operations}


def test_cookies_are_read_only_where_a_parameter_is_one(
        operations: dict[str, Operation]) -> None:
    assert operations["getThing"].reads_cookies
    assert not operations["putThing"].reads_cookies


def test_errors_take_the_format_documented_for_their_status_or_range(
        operations: dict[str, Operation]) -> None:
    get = operations["getThing"]
    assert get.error_format(404) == ("problem", "application/problem+json")
    assert get.error_format(400) == ("loopback", "application/json")
    assert get.error_format(500) is None
    assert operations["putThing"].error_format(404) is None


def test_parameters_are_coerced_then_checked_and_a_bad_one_named(
        operations: dict[str, Operation]) -> None:
    get = operations["getThing"]
    with pytest.raises(InvalidParameterValue, match='"id"'):
        get.parse(RequestParts({"id": "x"}, "limit=3", {}, {}), None, b"")
    with pytest.raises(InvalidParameterValue, match='"limit"') as caught:
        get.parse(RequestParts({"id": "7"}, "limit=11", {}, {}), None, b"")
    assert [detail["code"] for detail in caught.value.details or []] == ["maximum"]
    get.parse(RequestParts({"id": "7"}, "limit=3", {}, {"session": "s"}), None, b"")


def test_every_fault_of_a_body_is_reported_at_once(operations: dict[str, Operation]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        operations["putThing"].parse(RequestParts({"id": "1"}, "", {}, {}),
                                     "application/json", b'{"size": "big"}')
    assert sorted(detail["path"] for detail in caught.value.details or []) == ["", "/size"]


def test_results_are_rendered_by_what_they_are(operations: dict[str, Operation]) -> None:
    get, put = operations["getThing"], operations["putThing"]
    assert put.render(None).status == 204
    assert (get.render({"a": 1}).status, get.render({"a": 1}).body) == (200, b'{"a":1}')
    custom = Response({"queued": True}, status=202)
    assert get.render(custom) is custom
    timed = get.render(Intercepted({"a": 1}, {"Server-Timing": "handler;dur=1"}))
    assert timed.headers["server-timing"] == "handler;dur=1"
    assert timed.headers["content-type"] == "application/json" and timed.body == b'{"a":1}'
