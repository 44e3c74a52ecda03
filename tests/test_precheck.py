"""The quick check against openapi-spec-validator: it passes a valid document, and fails every
kind of fault the validator reports, on 3.0 and 3.1; on the real-world corpus and on Charter's
own specs it never passes what the validator faults."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from server.precheck import passes
from server.spec import SpecError, _Bundler, _version_of
from tests.test_corpus import CORPUS

ROOT = Path(__file__).resolve().parents[1]


def _faults(document: dict[str, Any], version: str) -> list[Any]:
    validator = OpenAPIV31SpecValidator if version == "3.1" else OpenAPIV30SpecValidator
    return list(validator(document).iter_errors())


def _valid(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.3",
        "info": {"title": "shop", "version": "1"},
        "tags": [{"name": "items"}],
        "paths": {
            "/items/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "get": {
                    "operationId": "getItem",
                    "parameters": [{"name": "fields", "in": "query",
                                    "schema": {"type": "string", "default": "all",
                                               "enum": ["all", "some"]}}],
                    "responses": {"200": {"description": "the item", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}},
                },
            },
        },
        "components": {"schemas": {
            "Named": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Item": {
                "allOf": [{"$ref": "#/components/schemas/Named"}],
                "properties": {"id": {"type": "integer", "minimum": 1, "default": 1}},
                "required": ["id", "name"],
            },
        }},
    }


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node = document
        for token in path[:-1]:
            node = node[token]
        if isinstance(node, list) and path[-1] == len(node):
            node.append(value)
        else:
            node[path[-1]] = value
    return change


_ITEM = ["components", "schemas", "Item"]
_GET = ["paths", "/items/{id}", "get"]
FAULTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "the document against the meta-schema": _set(["info", "version"], None),
    "a schema against its meta-schema": _set(
        ["components", "schemas", "Named", "properties", "name", "type"], "strin"),
    "a required name no property defines, beside allOf": _set([*_ITEM, "required"],
                                                               ["id", "nickname"]),
    "a default its schema refuses": _set([*_ITEM, "properties", "id", "default"], 0),
    "a parameter's default its schema refuses": _set(
        [*_GET, "parameters", 0, "schema", "default"], "none"),
    "a parameter twice": _set([*_GET, "parameters", 1],
                              {"name": "fields", "in": "query", "schema": {"type": "string"}}),
    "a path parameter the path does not name": _set(
        [*_GET, "parameters", 1], {"name": "other", "in": "path", "required": True,
                                   "schema": {"type": "string"}}),
    "a path parameter no parameter declares": lambda document: document["paths"].update(
        {"/items/{id}/{part}": copy.deepcopy(document["paths"]["/items/{id}"])}),
    "an operationId twice": lambda document: document["paths"].update(
        {"/other/{id}": copy.deepcopy(document["paths"]["/items/{id}"])}),
    "a tag name twice": _set(["tags", 1], {"name": "items"}),
}


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_a_valid_document_passes(version: str) -> None:
    document = _valid(version)
    assert _faults(document, version) == []
    assert passes(document, version)


@pytest.mark.parametrize("version", ["3.0", "3.1"])
@pytest.mark.parametrize("fault", FAULTS)
def test_every_kind_of_fault_the_validator_reports_fails_it(fault: str, version: str) -> None:
    document = _valid(version)
    FAULTS[fault](document)
    assert _faults(document, version), "the change must be a fault the validator reports"
    assert not passes(document, version)


def test_a_dialect_it_does_not_know_is_left_to_the_validator() -> None:
    document = _valid("3.1")
    document["components"]["schemas"]["Named"]["$schema"] = "https://example.com/dialect"
    assert not passes(document, "3.1")


def test_a_cycle_of_refs_is_left_to_the_validator() -> None:
    document = _valid("3.0")
    document["components"]["schemas"]["Named"] = {"$ref": "#/components/schemas/Named"}
    assert not passes(document, "3.0")


def _specs() -> list[Any]:
    found = [ROOT / "spec" / "openapi.yaml",
             *sorted((ROOT / "tests" / "fixtures" / "specs").glob("*/openapi.yaml"))]
    if CORPUS.is_dir():
        found += sorted([*CORPUS.glob("oai/v3.*/*.yaml"), *CORPUS.glob("oai/v3.*/*.json"),
                         CORPUS / "museum" / "openapi.yaml"])
    return [pytest.param(path, id=str(path.relative_to(path.parents[1]))) for path in found]


@pytest.mark.parametrize("path", _specs())
def test_on_real_specs_it_agrees_with_the_validator(path: Path) -> None:
    bundler = _Bundler(path)
    try:
        document = bundler.bundle()
        version = _version_of(document, path)
    except SpecError as exc:
        pytest.skip(f"not a document to check: {exc.problems[0]}")
    if bundler.problems:
        pytest.skip(f"not a document to check: {bundler.problems[0]}")
    faults = _faults(document, version)
    assert passes(document, version) == (not faults), faults[:3]
