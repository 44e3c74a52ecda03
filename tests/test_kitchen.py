"""End to end over an OpenAPI 3.1 spec using every parameter place, many styles and media types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import App
from server.settings import Settings
from tests.client import Client

FIXTURES = Path(__file__).parent / "fixtures"
TRACE = "0b7e2a3c-1f52-4c1e-9f0e-7d7a9c1b2e3f"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))
    with Client(App(Settings.from_env({}, spec=FIXTURES / "specs" / "kitchen",
                                      handlers="kitchen_handlers"))) as client:
        yield client


def bad_request(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"statusCode": 400, "name": "BadRequestError", "message": message,
                      "code": code, **extra}}


def test_every_place_and_style_is_coerced(client: Client) -> None:
    response = client.get(
        "/echo/.7/;x=1;y=2/a,b?sizes=1%202%203&red=1&green=2&range[min]=1.5&when=2026-11-21",
        headers={"x-trace-id": TRACE, "cookie": "session=s1"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id_": 7, "point": {"x": 1, "y": 2}, "tags": ["a", "b"], "x_trace_id": TRACE,
        "session": "s1", "sizes": [1, 2, 3], "color": {"red": 1, "green": 2},
        "range_": {"min": 1.5}, "when": "2026-11-21", "verbose": False}


def test_parameter_errors_name_the_parameter(client: Client) -> None:
    response = client.get("/echo/.7/;x=1/a", headers={"x-trace-id": "not-a-uuid"})
    assert response.status_code == 400
    assert response.json() == bad_request(
        'Invalid data "not-a-uuid" for parameter "X-Trace-Id".', "INVALID_PARAMETER_VALUE",
        details=[{"path": "", "code": "format", "message": 'must match format "uuid"',
                  "info": {"format": "uuid"}}])
    response = client.get("/echo/.7/;x=1/a")
    assert response.json() == bad_request("Required parameter X-Trace-Id is missing!",
                                          "MISSING_REQUIRED_PARAMETER")
    response = client.get("/echo/.seven/;x=1/a", headers={"x-trace-id": TRACE})
    assert response.json() == bad_request('Invalid data "seven" for parameter "id".',
                                          "INVALID_PARAMETER_VALUE")
    response = client.get("/echo/.7/;x=1/a?when=2026-13-01", headers={"x-trace-id": TRACE})
    assert response.json()["error"]["details"] == [
        {"path": "", "code": "format", "message": 'must match format "date"',
         "info": {"format": "date"}}]


def test_multipart_with_a_file(client: Client) -> None:
    response = client.post("/uploads", files={"file": ("notes.txt", b"hello", "text/plain")},
                           data={"count": "3"})
    assert response.status_code == 200, response.text
    assert response.json() == {"filename": "notes.txt", "type": "text/plain", "size": 5,
                               "count": 3}
    response = client.post("/uploads", files={"other": ("x.txt", b"x", "text/plain")})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"path": "", "code": "required", "message": "must have required property 'file'",
         "info": {"missingProperty": "file"}}]


def test_urlencoded_text_and_bytes(client: Client) -> None:
    response = client.post("/uploads", data={"count": "2", "flags": ["true", "0"]})
    assert response.json() == {"body": {"count": 2, "flags": [True, False]}}
    response = client.post("/uploads", content=b"plain words",
                           headers={"content-type": "text/plain; charset=utf-8"})
    assert response.json() == {"body": "plain words"}
    response = client.post("/uploads", content=b"\x00\x01\x02",
                           headers={"content-type": "application/octet-stream"})
    assert response.json() == {"bytes": 3}
    response = client.post("/uploads", content=b"<x/>", headers={"content-type": "text/xml"})
    assert response.status_code == 415


def test_openapi_31_types_read_only_and_recursion(client: Client) -> None:
    response = client.post("/things", json={"name": "a", "note": None,
                                            "parent": {"name": "b", "note": "x"}})
    assert response.status_code == 201
    assert response.json() == {"id": 1, "name": "a", "note": None,
                               "parent": {"name": "b", "note": "x"}}
    response = client.post("/things", json={"id": 5, "name": "", "parent": {"note": 3}})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"path": "/id", "code": "false schema", "message": "boolean schema is false",
         "info": {}},
        {"path": "/name", "code": "minLength", "message": "must NOT have fewer than 1 characters",
         "info": {"limit": 1}},
        {"path": "/parent", "code": "required", "message": "must have required property 'name'",
         "info": {"missingProperty": "name"}},
        {"path": "/parent/note", "code": "type", "message": "must be string,null",
         "info": {"type": ["string", "null"]}},
    ]
