"""The republished spec: error responses added per operation, servers spliced in per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from server.data.entities import EXTENSIONS
from server.publish import Publisher, error_schema, error_statuses
from server.spec import Spec


def test_error_statuses_follow_what_the_operation_takes() -> None:
    # 431 (too many or too large headers) for every operation; 408 (a body too slow) with a body.
    assert error_statuses({}, {}, unbound=False) == [404, 405, 431, 500]
    assert error_statuses({"parameters": [{}]}, {}, unbound=False) == [400, 404, 405, 431, 500]
    assert error_statuses({}, {"parameters": [{}]}, unbound=True) == [
        400, 404, 405, 431, 500, 501]
    assert error_statuses({"requestBody": {}}, {}, unbound=False) == [
        400, 404, 405, 408, 413, 415, 422, 431, 500]


def test_an_operation_names_the_errors_its_implementation_adds() -> None:
    # The data layer's derived operations meet the database: `x-charter-errors` says so.
    assert error_statuses({"x-charter-errors": [503, 409]}, {}, unbound=False) == [
        404, 405, 409, 431, 500, 503]
    assert error_statuses({"x-charter-errors": [412, 404, 999]}, {}, unbound=False) == [
        404, 405, 412, 431, 500]  # each once, and only those Charter can describe
    # An operation written by hand: only what the server itself answers.
    assert error_statuses({"parameters": [{"name": "If-Match", "in": "header"}]}, {},
                          unbound=False) == [400, 404, 405, 431, 500]


def publisher(document: dict[str, Any]) -> Publisher:
    return Publisher(Spec(document, "3.0", Path(".")), error_format="loopback", unbound=set())


DOCUMENT = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"description": "servers: x\ncharter-servers-", "responses": {
                "200": {"description": "ok"}}}}}}


def with_servers(document: dict[str, Any], url: str) -> dict[str, Any]:
    """`document` with `url` as its one server: in the place of its own, or after `info`."""
    if "servers" in document:
        return {**document, "servers": [{"url": url}]}
    head = dict(list(document.items())[:list(document).index("info") + 1])
    return {**head, "servers": [{"url": url}], **document}


def rendered_by_yaml(document: dict[str, Any], url: str) -> bytes:
    """What `yaml.safe_dump` writes for the whole document with `url` as its server."""
    return yaml.safe_dump(with_servers(document, url), sort_keys=False,
                          allow_unicode=True).encode()


def test_servers_are_spliced_into_the_document_rendered_once() -> None:
    published = publisher(DOCUMENT)
    document = published.document
    assert list(document) == ["openapi", "info", "paths", "components"]
    for url in ("http://test", "https://api.example:8443/v1", "http://[::1]:8000",
                "http://a b/é", "http://h/it's: #1"):
        as_json = published.render_json(url)
        assert as_json == orjson.dumps(with_servers(document, url))
        assert list(orjson.loads(as_json)) == ["openapi", "info", "servers", "paths", "components"]
        as_yaml = published.render_yaml(url)
        assert as_yaml == rendered_by_yaml(document, url)
        assert yaml.safe_load(as_yaml) == orjson.loads(as_json)


def test_a_specs_own_servers_keep_their_place_and_are_replaced() -> None:
    for document in ({"servers": [{"url": "/v1"}], **DOCUMENT},
                     {**DOCUMENT, "servers": [{"url": "/v1"}]}):
        published = publisher(document)
        as_json = orjson.loads(published.render_json("http://test"))
        assert as_json["servers"] == [{"url": "http://test"}]
        assert list(as_json) == [*document, "components"]
        assert published.render_yaml("http://test") == rendered_by_yaml(
            published.document, "http://test")


PUBLISHED = publisher(DOCUMENT)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"https?://[A-Za-z0-9._~:%/\[\] -]{0,40}", fullmatch=True))
def test_the_yaml_splice_writes_what_pyyaml_writes(url: str) -> None:
    """Plain URLs take a fast path; it must write exactly what PyYAML would."""
    assert PUBLISHED.render_yaml(url) == rendered_by_yaml(PUBLISHED.document, url)


def test_error_schemas_describe_both_formats() -> None:
    assert error_schema("loopback")["required"] == ["error"]
    assert error_schema("problem")["required"] == ["type", "title", "status"]


def test_charters_own_extensions_are_left_out_and_a_users_stay() -> None:
    column = {"type": "string", "x-column": "TXT", "x-mine": 1}
    document = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/notes": {"get": {
            "operationId": "NoteController.find", "x-controller-name": "NoteController",
            "x-charter-derived": {"entity": "Note", "action": "find"}, "x-charter-errors": [503],
            "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": {"Note": {
            "type": "object", "x-entity": {"hidden": []}, "x-crud": {"path": "/notes"},
            "x-logo": "note.png",
            "properties": {"text": column, "x-entity": {"type": "string"},
                           "tags": {"type": "array", "items": {"x-column": "t", "x-mine": 2}}},
            "allOf": [{"x-charter-later": 1, "description": "d"}],
            "example": {"x-entity": "a value, kept as written"}}}},
    }
    published = Publisher(Spec(document, "3.0", Path(".")), error_format="loopback",
                          unbound=set(), private=EXTENSIONS).document
    operation = published["paths"]["/notes"]["get"]
    assert [key for key in operation if key.startswith("x-")] == ["x-controller-name"]
    assert "503" in operation["responses"]  # the marker was read before it was left out
    assert published["components"]["schemas"]["Note"] == {
        "type": "object", "x-logo": "note.png",
        "properties": {"text": {"type": "string", "x-mine": 1}, "x-entity": {"type": "string"},
                       "tags": {"type": "array", "items": {"x-mine": 2}}},
        "allOf": [{"description": "d"}],
        "example": {"x-entity": "a value, kept as written"}}
    assert document["components"]["schemas"]["Note"]["properties"]["text"] == column


def test_integers_beyond_64_bits_are_published_exactly() -> None:
    import json

    wide = 2**70
    schema = {"type": "integer", "minimum": -wide, "maximum": wide, "example": wide}
    document = {**DOCUMENT, "components": {"schemas": {"Meter": schema}}}
    published = publisher(document)
    for rendered in (json.loads(published.render_json("http://test")),
                     yaml.safe_load(published.render_yaml("http://test"))):
        assert rendered["components"]["schemas"]["Meter"] == schema
