"""Compiled routes: static and templated paths, 404 and 405."""

from __future__ import annotations

import pytest

from server.errors import EndpointNotFound, MethodNotAllowed
from server.routing import Router, compile_path

ROUTES = [
    ("/todos", "get", "find"),
    ("/todos", "post", "create"),
    ("/todos/{id}", "get", "findById"),
    ("/todos/{id}", "delete", "deleteById"),
    ("/todos/count", "get", "count"),
    ("/files/{name}.{ext}", "get", "file"),
    ("/a/{x}/b", "get", "literal"),
    ("/a/{x}/{y}", "get", "params"),
]


@pytest.fixture
def router() -> Router[str]:
    return Router(ROUTES)


def test_static_paths(router: Router[str]) -> None:
    assert router.find_route("GET", "/todos") == ("find", {})
    assert router.find_route("POST", "/todos") == ("create", {})


def test_concrete_path_wins_over_template(router: Router[str]) -> None:
    assert router.find_route("GET", "/todos/count") == ("count", {})
    assert router.find_route("GET", "/todos/12") == ("findById", {"id": "12"})
    assert router.find_route("GET", "/a/1/b") == ("literal", {"x": "1"})
    assert router.find_route("GET", "/a/1/c") == ("params", {"x": "1", "y": "c"})


def test_parameters_are_percent_decoded(router: Router[str]) -> None:
    assert router.find_route("GET", "/todos/a%2Fb%20c") == ("findById", {"id": "a/b c"})
    assert router.find_route("GET", "/files/report.v2.pdf") == (
        "file", {"name": "report.v2", "ext": "pdf"})


def test_head_is_served_by_get(router: Router[str]) -> None:
    assert router.find_route("HEAD", "/todos/3") == ("findById", {"id": "3"})


def test_unknown_path_is_404_with_loopback_message(router: Router[str]) -> None:
    with pytest.raises(EndpointNotFound) as caught:
        router.find_route("GET", "/nope")
    assert caught.value.message == 'Endpoint "GET /nope" not found.'
    with pytest.raises(EndpointNotFound):
        router.find_route("GET", "/todos/1/extra")


def test_wrong_method_is_405_with_allow(router: Router[str]) -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        router.find_route("PUT", "/todos/1")
    assert caught.value.headers == {"allow": "DELETE, GET, HEAD"}
    assert caught.value.status == 405
    assert router.allowed("/todos") == ["GET", "HEAD", "POST"]
    assert router.allowed("/nope") is None


def test_compile_path_escapes_literals() -> None:
    pattern, names = compile_path("/v1.0/items/{id}")
    assert names == ("id",)
    assert pattern.match("/v1.0/items/3")
    assert not pattern.match("/v1x0/items/3")


def test_parameter_names_that_are_not_identifiers() -> None:
    router = Router([("/users/{user-id}/posts/{post.id}", "get", "post")])
    assert router.find_route("GET", "/users/u%201/posts/9") == (
        "post", {"user-id": "u 1", "post.id": "9"})
