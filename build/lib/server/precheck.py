"""The quick check: whether a bundled document may hold a fault that openapi-spec-validator
would report, decided in a fraction of the validator's time and memory.

openapi-spec-validator checks a document in two stages: the whole document against the
OpenAPI meta-schema (fast, with jsonschema-rs), then a walk of its paths and schemas in Python
(slow: seconds and tens of megabytes on a large spec, most of Charter's start-up). `passes`
makes the same checks over the plain bundled document, using the validator's own meta-schemas:

- the document against the OpenAPI meta-schema of its version;
- every Schema Object the walk reaches (components, parameters, media types), against its
  dialect's meta-schema: JSON Schema draft 4 for 3.0; for 3.1 the `$schema`, or the document's
  `jsonSchemaDialect`, or OpenAPI's base dialect;
- a `required` name beside `allOf` that no property defines, a `default` its schema refuses,
  a parameter twice, a path parameter that the path and the operation do not both name, an
  operationId or a tag name twice.

It may be stricter than the validator (then the validator decides), never laxer: a document
that passes would get no fault from it. A document that does not pass is checked by the
validator, whose report names every fault (`spec.check_document`).

>>> passes({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}, "3.1")
True
>>> passes({"openapi": "3.1.0", "info": {"title": "t"}, "paths": {}}, "3.1")
False
"""

from __future__ import annotations

import functools
import importlib.util
import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs

from server.dialect import FORMAT_CHECKERS, NUMERIC_FORMATS
from server.refs import RefError, pointer, resolve_pointer
from server.validation import SchemaValidators

OAS31_BASE_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def passes(document: dict[str, Any], version: str) -> bool:
    """Whether `document` (bundled: every `$ref` an internal pointer) certainly holds no fault
    that openapi-spec-validator reports."""
    try:
        if not _document_validator(version).is_valid(document):
            return False
        return _Walk(document, version).passes()
    except (RefError, RecursionError, TypeError, ValueError, KeyError, AttributeError):
        return False  # something unexpected: let the validator say what it is


def meta_errors(document: dict[str, Any], version: str) -> list[tuple[str, str]]:
    """Where `document` breaks the OpenAPI meta-schema of `version`, and how: `(JSON pointer,
    message)` pairs. What is left to say when openapi-spec-validator itself trips."""
    return [(pointer([str(part) for part in error.instance_path]), error.message)
            for error in _document_validator(version).iter_errors(document)]


class _Walk:
    """openapi-spec-validator's second stage over a plain document: `passes` is False at the
    first fault it would report."""

    def __init__(self, document: dict[str, Any], version: str) -> None:
        self.document = document
        self.version = version
        self.meta_checked: set[int] = set()
        self.visited: set[int] = set()
        self.values = SchemaValidators(document, version, alone=-1)

    def passes(self) -> bool:
        document = self.document
        names = [tag["name"] for tag in document.get("tags", ())]
        if len(names) != len(set(names)):
            return False
        operation_ids: set[str] = set()
        for url, item in document.get("paths", {}).items():
            item = self.resolve(item)
            shared = self.parameters(item.get("parameters"))
            if shared is None:
                return False
            for method, operation in item.items():
                if method not in _OPERATIONS:
                    continue
                operation = self.resolve(operation)
                operation_id = operation.get("operationId")
                if operation_id is not None:
                    if operation_id in operation_ids:
                        return False
                    operation_ids.add(operation_id)
                if not self.responses(operation.get("responses")):
                    return False
                own = self.parameters(operation.get("parameters"))
                if own is None or set(_template_names(url)) != own | shared:
                    return False
        schemas = self.resolve(document.get("components", {})).get("schemas", {})
        return all(self.schema(schema) for schema in self.resolve(schemas).values())

    def resolve(self, node: Any) -> Any:
        for _ in range(64):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            node = resolve_pointer(self.document, node["$ref"])
        raise RecursionError("a cycle of $refs")

    def parameters(self, parameters: Any) -> set[str] | None:
        """The path parameters' names; None at a fault."""
        seen: set[tuple[str, str]] = set()
        path: set[str] = set()
        for parameter in self.resolve(parameters) or ():
            parameter = self.resolve(parameter)
            if "schema" in parameter and not self.schema(parameter["schema"]):
                return None
            key = (parameter["name"], parameter["in"])
            if key in seen:
                return None
            seen.add(key)
            if parameter["in"] == "path":
                path.add(parameter["name"])
        return path

    def responses(self, responses: Any) -> bool:
        for response in (self.resolve(responses) or {}).values():
            content = self.resolve(self.resolve(response).get("content")) or {}
            for media_type in content.values():
                media_type = self.resolve(media_type)
                if "schema" in media_type and not self.schema(media_type["schema"]):
                    return False
        return True

    def schema(self, schema: Any, top: bool = True) -> bool:
        """openapi-spec-validator's `SchemaValidator`: the meta-schema check of a schema met at
        the top (its subschemas are checked with it), then its own rules, once per schema."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict | bool):
            return False
        if top and id(schema) not in self.meta_checked:
            self.meta_checked.add(id(schema))
            if not self.meta_valid(schema):
                return False
        if id(schema) in self.visited or isinstance(schema, bool):
            return True
        self.visited.add(id(schema))
        for keyword in ("allOf", "anyOf", "oneOf"):
            if not all(self.schema(sub, False) for sub in schema.get(keyword, ())):
                return False
        for keyword in ("not", "items"):
            if keyword in schema and not self.schema(schema[keyword], False):
                return False
        if not all(self.schema(sub, False) for sub in schema.get("properties", {}).values()):
            return False
        if top and "allOf" in schema:
            defined = set(schema.get("properties", {}))
            for sub in schema["allOf"]:
                defined |= self.properties(sub, set())
            if set(schema.get("required", ())) - defined:
                return False
        if "default" in schema:
            default = schema["default"]
            if default is not None or schema.get("nullable") is not True:
                return self.default_valid(schema, default)
        return True

    def properties(self, schema: Any, seen: set[int]) -> set[str]:
        """Every property name `schema` defines, through its subschemas."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or id(schema) in seen:
            return set()
        seen.add(id(schema))
        names = set(schema.get("properties", ()))
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(keyword, ()):
                names |= self.properties(sub, seen)
        for keyword in ("items", "not"):
            if keyword in schema:
                names |= self.properties(schema[keyword], seen)
        return names

    def meta_valid(self, schema: dict[str, Any] | bool) -> bool:
        if self.version == "3.0":
            return _meta_validator("draft4").is_valid(schema)
        dialect = (schema.get("$schema") if isinstance(schema, dict) else None) or \
            self.document.get("jsonSchemaDialect", OAS31_BASE_DIALECT)
        if dialect == OAS31_BASE_DIALECT:
            return _meta_validator("oas31").is_valid(schema)
        if dialect in _DRAFTS:
            return _meta_validator(_DRAFTS[dialect]).is_valid(schema)
        return False  # a dialect the validator may not know: it decides

    def default_valid(self, schema: dict[str, Any], default: Any) -> bool:
        """Whether `default` fits `schema`, judged as Charter judges values. A format Charter
        does not check (the validator might), anywhere in the schema, leaves it to the
        validator."""
        if any(format_ not in FORMAT_CHECKERS and format_ not in NUMERIC_FORMATS
               for format_ in _formats(schema, self, set())):
            return False
        return all(self.values.compile(schema, direction).is_valid(default)
                   for direction in ("request", "response"))


def _formats(schema: Any, walk: _Walk, seen: set[int]) -> Iterator[str]:
    schema = walk.resolve(schema)
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if isinstance(schema, dict):
        if isinstance(schema.get("format"), str):
            yield schema["format"]
        for value in schema.values():
            if isinstance(value, dict | list):
                yield from _formats(value, walk, seen)
    elif isinstance(schema, list):
        for value in schema:
            yield from _formats(value, walk, seen)


def _template_names(url: str) -> Iterator[str]:
    """The parameter names in a path template, as openapi-spec-validator finds them."""
    return (name for _, name, _, _ in string.Formatter().parse(url) if name)


# --- the meta-schemas, openapi-spec-validator's own (read without importing it) --------------

_DRAFTS = {
    "https://json-schema.org/draft/2020-12/schema": "draft2020-12",
    "https://json-schema.org/draft/2019-09/schema": "draft2019-09",
    "http://json-schema.org/draft-07/schema#": "draft7",
    "http://json-schema.org/draft-06/schema#": "draft6",
    "http://json-schema.org/draft-04/schema#": "draft4",
}


def _package_file(package: str, *parts: str) -> Any:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{package} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _document_validator(version: str) -> jsonschema_rs.Validator:
    """The OpenAPI meta-schema of `version`, compiled as openapi-spec-validator compiles it."""
    schema = _package_file("openapi_spec_validator", "resources", "schemas",
                           f"v{version}", "schema.json")
    validator: jsonschema_rs.Validator = jsonschema_rs.validator_cls_for(schema)(schema)
    return validator


@functools.cache
def _meta_validator(name: str) -> jsonschema_rs.Validator:
    """A meta-schema validator: JSON Schema's drafts, or OpenAPI 3.1's base dialect."""
    if name == "oas31":
        folder = ("schemas", "oas3.1")
        dialect = _package_file("openapi_schema_validator", *folder, "metaschema.json")
        vocabulary = _package_file("openapi_schema_validator", *folder, "vocabularies", "base")
        registry = jsonschema_rs.Registry([(dialect["$id"], dialect),
                                           (vocabulary["$id"], vocabulary)])
        return jsonschema_rs.validator_for(dialect, registry=registry, validate_formats=True)
    meta = {"$schema": next(uri for uri, draft in _DRAFTS.items() if draft == name),
            "$ref": next(uri for uri, draft in _DRAFTS.items() if draft == name)}
    return jsonschema_rs.validator_for(meta, validate_formats=True)
