"""Middleware (`server/middleware.py`): one ordered stack inside Charter's own, folded once at
start-up; error responses pass through it."""

from __future__ import annotations

import functools

import pytest

from server.app import ContractError
from tests.client import Client
from tests.composition import Layer, handlers_on_path, make_app


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers_on_path(monkeypatch)


def test_middleware_is_one_ordered_stack_inside_charters_own() -> None:
    app = make_app(middleware=[functools.partial(Layer, name="outer"),
                               functools.partial(Layer, name="inner")])
    assert app.middleware == ["charter.cors", "tests.composition.Layer",
                              "tests.composition.Layer"]
    with Client(app) as client:
        response = client.get("/items", headers={"origin": "https://a.example"})
    assert response.headers["x-layers"] == "inner,outer"  # the first is the outermost
    assert response.headers["access-control-allow-origin"] == "*"


def test_error_responses_pass_through_the_middleware_and_cors() -> None:
    app = make_app(middleware=[Layer])
    with Client(app) as client:
        response = client.get("/nowhere", headers={"origin": "https://a.example"})
    assert response.status_code == 404
    assert response.json()["error"]["statusCode"] == 404
    assert response.headers["x-layers"] == "layer"
    assert response.headers["access-control-allow-origin"] == "*"


def test_middleware_that_is_not_callable_stops_the_start() -> None:
    with pytest.raises(ContractError) as caught:
        make_app(middleware=["not a middleware"])
    assert caught.value.problems == [
        "middleware 'not a middleware' is not callable: it takes the app it wraps"]
