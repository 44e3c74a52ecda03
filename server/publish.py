"""The republished spec: the bundled document plus every error response the server can give."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson
import yaml

from server.errors import ERROR_MEDIA_TYPES
from server.operations import DERIVED
from server.refs import deref
from server.spec import HTTP_METHODS, Spec

ERROR_SCHEMA = "Charter.Error"

# status -> (component name, description)
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Charter.BadRequest", "A parameter is missing or invalid, or the body is malformed."),
    404: ("Charter.NotFound", "The endpoint or the entity was not found."),
    405: ("Charter.MethodNotAllowed", "The path does not serve this method."),
    409: ("Charter.Conflict", "The change conflicts with stored data: a unique value or a "
                              "reference."),
    412: ("Charter.PreconditionFailed", "If-Match names a version the entity no longer has."),
    413: ("Charter.PayloadTooLarge", "The request body is larger than the server accepts."),
    415: ("Charter.UnsupportedMediaType", "The request body's media type is not accepted."),
    422: ("Charter.UnprocessableEntity", "The request body does not match its schema."),
    500: ("Charter.InternalServerError", "The server failed."),
    501: ("Charter.NotImplemented", "The operation is in the spec but has no handler yet."),
    503: ("Charter.ServiceUnavailable", "The database is unavailable; try again later."),
}
_WRITES = frozenset({"post", "put", "patch", "delete"})

_DETAILS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["path", "code", "message", "info"],
        "properties": {"path": {"type": "string"}, "code": {"type": "string"},
                       "message": {"type": "string"}, "info": {"type": "object"}},
    },
}


def error_schema(error_format: str) -> dict[str, Any]:
    """The JSON Schema of every error body the server writes, in the configured format."""
    details = {"anyOf": [_DETAILS, {"type": "object"}]}
    if error_format == "problem":
        return {
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                           "status": {"type": "integer"}, "detail": {"type": "string"},
                           "code": {"type": "string"}, "details": details,
                           "stack": {"type": "string"}},
        }
    return {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["statusCode", "name", "message"],
            "properties": {"statusCode": {"type": "integer"}, "name": {"type": "string"},
                           "message": {"type": "string"}, "code": {"type": "string"},
                           "details": details, "stack": {"type": "string"}},
        }},
    }


def error_statuses(operation: Mapping[str, Any], path_item: Mapping[str, Any], *,
                   unbound: bool, method: str = "get") -> list[int]:
    """The error statuses the server itself can answer for one operation.

    An operation the data layer derived (`x-charter-derived`) may also meet the database:
    503 when it is unavailable, 409 when a write breaks a unique index or a reference, and 412
    when it takes `If-Match`.

    >>> error_statuses({"x-charter-derived": {}, "parameters": [
    ...     {"name": "If-Match", "in": "header"}]}, {}, unbound=False, method="delete")
    [400, 404, 405, 409, 412, 500, 503]
    """
    statuses = [404, 405, 500]
    if operation.get("parameters") or path_item.get("parameters") or "requestBody" in operation:
        statuses.append(400)
    if "requestBody" in operation:
        statuses += [413, 415, 422]
    if unbound:
        statuses.append(501)
    if isinstance(operation.get(DERIVED), Mapping):
        statuses.append(503)
        if method in _WRITES:
            statuses.append(409)
        if _takes_if_match(operation):
            statuses.append(412)
    return sorted(statuses)


def _takes_if_match(operation: Mapping[str, Any]) -> bool:
    return any(isinstance(p, Mapping) and p.get("in") == "header"
               and str(p.get("name", "")).lower() == "if-match"
               for p in operation.get("parameters") or ())


class Publisher:
    """Builds the published document once, and renders it per base URL (cached).

    >>> publisher = Publisher(spec, error_format="loopback", unbound=set())   # doctest: +SKIP
    >>> publisher.render_json("http://localhost:8000")                     # doctest: +SKIP
    b'{"openapi":"3.0.3",...'
    """

    def __init__(self, spec: Spec, *, error_format: str, unbound: set[str]) -> None:
        document = copy.deepcopy(spec.document)
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})[ERROR_SCHEMA] = error_schema(error_format)
        media_type = ERROR_MEDIA_TYPES[error_format]
        error_content = {media_type: {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
        responses = components.setdefault("responses", {})
        used: set[int] = set()
        for path, item in (document.get("paths") or {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                declared = operation.setdefault("responses", {})
                key = f"{method.upper()} {path}"
                for status in error_statuses(operation, item, unbound=key in unbound,
                                             method=method):
                    if self._add_error(document, declared, status, error_content):
                        used.add(status)
        for status in sorted(used):  # only the responses something refers to
            name, description = _ERRORS[status]
            responses[name] = {"description": description, "content": error_content}
        self.document = document
        self._json: dict[str, bytes] = {}
        self._yaml: dict[str, bytes] = {}

    @staticmethod
    def _add_error(document: dict[str, Any], declared: dict[str, Any], status: int,
                   content: dict[str, Any]) -> bool:
        """Declare one error status; True when it refers to the shared response component."""
        existing = declared.get(str(status)) or declared.get(f"{str(status)[0]}XX")
        if existing is None:
            declared[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
            return True
        # Declared without a body: the server's error body is what actually comes back.
        resolved = deref(document, existing)
        if isinstance(resolved, dict) and not resolved.get("content"):
            if isinstance(existing.get("$ref"), str):
                resolved["content"] = content  # a shared response (the document is a copy)
            else:
                key = str(status) if str(status) in declared else f"{str(status)[0]}XX"
                declared[key] = {**resolved, "content": content}
        return False

    def _with_servers(self, base_url: str) -> dict[str, Any]:
        return {**self.document, "servers": [{"url": base_url}]}

    def render_json(self, base_url: str) -> bytes:
        cached = self._json.get(base_url)
        if cached is None:
            cached = orjson.dumps(self._with_servers(base_url))
            if len(self._json) < 64:
                self._json[base_url] = cached
        return cached

    def render_yaml(self, base_url: str) -> bytes:
        cached = self._yaml.get(base_url)
        if cached is None:
            cached = yaml.safe_dump(self._with_servers(base_url), sort_keys=False,
                                    allow_unicode=True).encode()
            if len(self._yaml) < 64:
                self._yaml[base_url] = cached
        return cached


def base_url(scope: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The URL clients reach this app at, from the Host and `X-Forwarded-*` headers.

    >>> base_url({"scheme": "http", "root_path": ""},
    ...          {"host": "api.example", "x-forwarded-proto": "https",
    ...           "x-forwarded-prefix": "/v1"})
    'https://api.example/v1'
    """
    scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or scope.get(
        "scheme", "http")
    host = headers.get("x-forwarded-host", "").split(",")[0].strip() or headers.get("host", "")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if not server[1] else f"{server[0]}:{server[1]}"
    prefix = headers.get("x-forwarded-prefix", "").split(",")[0].strip().rstrip("/")
    root = str(scope.get("root_path", "")).rstrip("/")
    return f"{scheme}://{host}{prefix}{root}"
