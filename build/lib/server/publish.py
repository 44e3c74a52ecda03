"""The republished spec: the bundled document plus every error response the server can give,
less the extensions that only Charter reads."""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from server.dialect import subschemas
from server.errors import ERROR_MEDIA_TYPES
from server.jsontext import dump_json
from server.refs import deref
from server.spec import HTTP_METHODS, Spec

ERROR_SCHEMA = "Charter.Error"
CHARTER_PREFIX = "x-charter-"
"""Extensions Charter writes for itself (`x-charter-derived`...): never published."""
MORE_ERRORS = "x-charter-errors"
"""On an operation: the error statuses its implementation answers besides those of the server
itself (the data layer's derived operations: 503, 409, 412). Published as error responses."""

# status -> (component name, description)
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Charter.BadRequest", "A parameter is missing or invalid, or the body is malformed."),
    401: ("Charter.Unauthorized", "The request has no credentials that the operation accepts, "
                                  "or they were refused."),
    403: ("Charter.Forbidden", "The credentials do not grant what the operation requires."),
    404: ("Charter.NotFound", "The endpoint or the entity was not found."),
    405: ("Charter.MethodNotAllowed", "The path does not serve this method."),
    408: ("Charter.RequestTimeout", "The request body did not arrive in time."),
    409: ("Charter.Conflict", "The change conflicts with stored data: a unique value or a "
                              "reference."),
    412: ("Charter.PreconditionFailed", "If-Match names a version the entity no longer has."),
    413: ("Charter.PayloadTooLarge", "The request body is larger than the server accepts."),
    415: ("Charter.UnsupportedMediaType", "The request body's media type is not accepted."),
    422: ("Charter.UnprocessableEntity", "The request body does not match its schema."),
    431: ("Charter.RequestHeaderFieldsTooLarge", "The request has too many headers, or too "
                                                 "large ones."),
    500: ("Charter.InternalServerError", "The server failed."),
    501: ("Charter.NotImplemented", "The operation is in the spec but has no handler yet."),
    503: ("Charter.ServiceUnavailable", "The database is unavailable; try again later."),
}

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
                   unbound: bool, secured: bool = False) -> list[int]:
    """The error statuses the server itself can answer for one operation.

    Any request may carry too many headers (431); one with a body may send it too slowly (408);
    one to a `secured` operation may not authenticate (401) or not be allowed (403). An
    operation's `x-charter-errors` adds the statuses its implementation answers.

    >>> error_statuses({"x-charter-errors": [503, 409], "parameters": [{}]}, {}, unbound=False)
    [400, 404, 405, 409, 431, 500, 503]
    """
    statuses = [404, 405, 431, 500]
    if secured:
        statuses += [401, 403]
    if operation.get("parameters") or path_item.get("parameters") or "requestBody" in operation:
        statuses.append(400)
    if "requestBody" in operation:
        statuses += [408, 413, 415, 422]
    if unbound:
        statuses.append(501)
    more = operation.get(MORE_ERRORS)
    statuses += [status for status in more if status in _ERRORS] if isinstance(more, list) else []
    return sorted(set(statuses))


# Base URLs that PyYAML writes as plain scalars: `url: http://[::1]:8000/v1`, never quoted.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9._~:%/\[\]-]*[A-Za-z0-9._~/\]-]")


class Publisher:
    """Builds the published document once, serialized once, and splices in each base URL.

    Nothing is cached per base URL, so no Host value, however many, costs more than a splice.

    Charter's own extensions are left out: `x-charter-*` keys of operations and schemas, and
    `private` keys of schemas (the data layer's `x-entity`, `x-crud`, `x-column`); a user's
    other `x-` keys stay.

    >>> publisher = Publisher(spec, error_format="loopback", unbound=set())   # doctest: +SKIP
    >>> publisher.render_json("http://localhost:8000")                     # doctest: +SKIP
    b'{"openapi":"3.0.3",...'
    """

    def __init__(self, spec: Spec, *, error_format: str, unbound: set[str],
                 private: Iterable[str] = (),
                 unfilled: Mapping[str, frozenset[str]] | None = None,
                 secured: Iterable[str] = (), scheme_private: Iterable[str] = ()) -> None:
        """`unfilled` names, by operation (`"GET /path"`), the error responses it documents
        that no error body of Charter's matches: what Charter sends there is published in them.
        `secured` names the operations with security requirements (401 and 403 published);
        `scheme_private`, the keys of security schemes that configure the server (`x-jwt`)."""
        document = copy.deepcopy(spec.document)
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})[ERROR_SCHEMA] = error_schema(error_format)
        media_type = ERROR_MEDIA_TYPES[error_format]
        error_content = {media_type: {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
        responses = components.setdefault("responses", {})
        used: set[int] = set()
        secured_set = set(secured)
        for path, item in (document.get("paths") or {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                declared = operation.setdefault("responses", {})
                key = f"{method.upper()} {path}"
                for status in error_statuses(operation, item, unbound=key in unbound,
                                             secured=key in secured_set):
                    if self._add_error(document, declared, status, error_content):
                        used.add(status)
                for code in (unfilled or {}).get(key, ()):
                    response = deref(document, declared[code])
                    response["content"] = {**response["content"], **error_content}
                _strip(operation, frozenset())  # its marker was read just above
        private_keys = frozenset(private)
        for schema in components["schemas"].values():
            _strip_schema(schema, private_keys)
        for scheme in (components.get("securitySchemes") or {}).values():
            if isinstance(scheme, dict):
                _strip(scheme, frozenset(scheme_private))
        for status in sorted(used):  # only the responses something refers to
            name, description = _ERRORS[status]
            responses[name] = {"description": description, "content": error_content}
            if status in (401, 403):
                responses[name]["headers"] = {"WWW-Authenticate": {
                    "description": "The challenges of the operation's http, oauth2 and "
                                   "openIdConnect schemes (RFC 9110 §11.6.1, RFC 6750 §3).",
                    "schema": {"type": "string"}}}
        self.document = document
        self._template, self._marker = _servers_template(document)

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

    # Serialized once, at the first request for each format, and cut where `servers` goes: a base
    # URL then costs a splice, not a render. Not at start-up: the YAML of the example takes 75 ms,
    # which every App (and every test) would pay for a page few clients ask for.
    @functools.cached_property
    def _json(self) -> tuple[bytes, bytes]:
        head, tail = dump_json(self._template).split(dump_json(self._marker))
        return head, tail

    @functools.cached_property
    def _yaml(self) -> tuple[bytes, bytes]:
        rendered = yaml.safe_dump(self._template, sort_keys=False, allow_unicode=True).encode()
        # A top-level key starts its line, so the head ends with a newline (or is empty).
        head, tail = rendered.split(f"servers: {self._marker}\n".encode())
        return head + b"servers:\n", tail

    def render_json(self, base_url: str) -> bytes:
        """The published document as JSON, with `base_url` as its one server."""
        head, tail = self._json
        return b"".join((head, dump_json([{"url": base_url}]), tail))

    def render_yaml(self, base_url: str) -> bytes:
        """The published document as YAML, with `base_url` as its one server."""
        head, tail = self._yaml
        if _PLAIN_URL.fullmatch(base_url):  # what PyYAML writes unquoted, as it would write it
            servers = b"- url: " + base_url.encode() + b"\n"
        else:
            servers = yaml.safe_dump([{"url": base_url}], allow_unicode=True).encode()
        return b"".join((head, servers, tail))


def _strip(node: dict[str, Any], private: frozenset[str]) -> None:
    """Remove Charter's keys from one object: `x-charter-*` and `private` ones."""
    for key in [key for key in node if key in private or key.startswith(CHARTER_PREFIX)]:
        del node[key]


def _strip_schema(schema: Any, private: frozenset[str]) -> None:
    """`_strip` a schema and every schema inside it (`subschemas`)."""
    if not isinstance(schema, dict):
        return
    _strip(schema, private)
    for child in subschemas(schema):
        _strip_schema(child, private)


def _servers_template(document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`document` with a marker string, found nowhere else, where its `servers` go; and the marker.

    `servers` keeps its place when the spec has one, and otherwise follows `info`.
    """
    marker = f"charter-servers-{os.urandom(8).hex()}"
    template: dict[str, Any] = {}
    for key, value in document.items():
        if key != "servers":
            template[key] = value
        if key == "servers" or (key == "info" and "servers" not in document):
            template["servers"] = marker
    template.setdefault("servers", marker)
    return template, marker
