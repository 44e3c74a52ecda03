"""Schemathesis hooks: what Charter knows of its contract beyond JSON Schema, for `charter
contract` (which names this module in the configuration it writes), `make test-all` and the
in-suite `tests/api/test_schemathesis.py`. Schemathesis imports it; nothing in the server does.

- A `regexp` operand must lie in the portable subset of regular expressions
  (`server/data/patterns.py`; the published schema says `format: regex`). Generated filters
  outside it are left out, through a hook that asks the server's own check, rather than
  weakening `positive_data_acceptance`.
- Numeric formats are ranges (`int32`, `int64`, `float`, `double`, and int64 for an integer
  without a format: `server/dialect.py`), as for LoopBack's AJV; schemathesis reads them as
  annotations and generates `1e300` for a `float`. Generated parameters and bodies whose only
  fault, by the server's own validator, is such a range are left out.
- Two rules of `include` are beyond JSON Schema too (`server/data/relations.py`): it nests at
  most CHARTER_MAX_INCLUDE_DEPTH levels (the published scopes are recursive), and names a
  relation again only with the same scope. The coverage phase builds such filters itself, past
  any filter hook, so `before_call` takes what breaks them out of a case labelled valid: the
  includes nested too deep, and a relation's later entries with another scope.

`before_call` also corrects a fault of schemathesis 4.32.5 rather than the contract: its
coverage phase limits header values to letters and digits, so an optional header whose pattern
needs a quote or `*` (If-Match's entity tags) has no valid value there. It then sends cases
labelled valid that carry an invalid one (`If-Match: 0`), and counts the 400 as a valid request
refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

from server.data.derive import IF_MATCH_PATTERN
from server.data.patterns import Unportable, is_regex_format, portable_regexp
from server.dialect import NUMERIC_FORMATS
from server.parameters import merge_parameters
from server.refs import deref
from server.settings import Settings
from server.validation import SchemaValidators, Validator

_ENTITY_TAGS = re.compile(IF_MATCH_PATTERN)


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """Keep the queries whose `regexp` operands are all in the portable subset, and whose
    numbers are within their formats' ranges."""
    return (all(portable(value) for value in (query or {}).values())
            and _within_ranges(context, "query", query))


@schemathesis.hook
def filter_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> bool:
    return _within_ranges(context, "path", path_parameters)


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """Keep the bodies whose numbers are within their formats' ranges, unless they break the
    schema otherwise too."""
    operation = getattr(context, "operation", None)
    if operation is None:
        return True
    ranges = _Ranges.of(operation.schema.raw_schema)
    request_body = deref(ranges.document, operation.definition.raw.get("requestBody") or {})
    for media_type, media in (request_body.get("content") or {}).items():
        if (any(kind in media_type for kind in ("json", "form")) and isinstance(media, dict)
                and "schema" in media):
            return not ranges.only_out_of_range(media["schema"], body)
    return True


class _Ranges:
    """The server's validators of one published document, asked only whether a value breaks
    nothing but the numeric formats' ranges."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        version = "3.1" if str(document.get("openapi", "")).startswith("3.1") else "3.0"
        self.validators = SchemaValidators(document, version)
        self._compiled: dict[int, Validator] = {}

    @classmethod
    def of(cls, document: dict[str, Any]) -> _Ranges:
        found = _RANGES.get(id(document))
        if found is None or found.document is not document:
            found = _RANGES[id(document)] = cls(document)
        return found

    def only_out_of_range(self, schema: Any, value: Any) -> bool:
        validator = self._compiled.get(id(schema))
        if validator is None:
            try:
                validator = self._compiled[id(schema)] = self.validators.compile(schema)
            except ValueError:
                return False
        try:
            errors = validator.errors(value)
        except ValueError:  # not JSON at all (bytes, a negative case): nothing to say
            return False
        return bool(errors) and all(error["code"] == "format" and error["info"].get("format")
                                    in NUMERIC_FORMATS for error in errors)


_RANGES: dict[int, _Ranges] = {}
"""By the document's identity: schemathesis holds one per run."""


def _within_ranges(context: Any, location: str, values: dict[str, Any] | None) -> bool:
    operation = getattr(context, "operation", None)
    if operation is None or not values:
        return True
    ranges = _Ranges.of(operation.schema.raw_schema)
    path_item = deref(ranges.document, (ranges.document.get("paths") or {}).get(operation.path)
                      or {})
    parameters = merge_parameters(ranges.document, path_item.get("parameters") or [],
                                  operation.definition.raw.get("parameters") or [])
    for parameter in parameters:
        value = values.get(parameter["name"])
        if (parameter["in"] == location and isinstance(value, int | float)
                and not isinstance(value, bool) and "schema" in parameter
                and ranges.only_out_of_range(parameter["schema"], value)):
            return False
    return True


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A case labelled valid goes without an If-Match that is not (the header is optional),
    and with its filter's includes within the server's rules.

    Removing it is an edit schemathesis sees: it checks the case again before sending it.
    """
    headers = case.headers or {}
    value = headers.get("If-Match")
    meta = case.meta
    if (value is not None and meta is not None and meta.generation.mode.is_positive
            and not _ENTITY_TAGS.fullmatch(value)):
        del headers["If-Match"]
    if meta is not None and meta.generation.mode.is_positive and case.query:
        for name, query_value in case.query.items():
            case.query[name] = within_include_rules(query_value)


def portable(value: Any) -> bool:
    """Whether every `regexp` operand in a query value (JSON text or parsed) is portable.

    >>> portable('{"where": {"title": {"regexp": "^a"}}}'), portable({"regexp": "(?=a)"})
    (True, False)
    """
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return True
    if isinstance(value, dict):
        return all(portable(v) and (k != "regexp" or _portable_pattern(v))
                   for k, v in value.items())
    if isinstance(value, list):
        return all(portable(item) for item in value)
    return True


def _portable_pattern(operand: Any) -> bool:
    if not isinstance(operand, str):
        return True
    if not is_regex_format(operand):
        return False
    delimited = re.fullmatch(r"/(.*)/([A-Za-z]*)", operand, re.DOTALL)
    pattern, flags = delimited.groups() if delimited else (operand, "")
    try:
        portable_regexp(pattern, fold="i" in flags)
    except Unportable:
        return False
    return True


def within_include_rules(value: Any, max_depth: int = Settings.max_include_depth) -> Any:
    """A filter (JSON text or parsed) without what the server's include rules refuse: includes
    nested past `max_depth` levels, and a relation named again with another scope than at first.

    >>> within_include_rules({"include": ["todos", {"relation": "todos", "scope": {"limit": 1}}]})
    {'include': ['todos']}
    >>> within_include_rules('{"include": [{"relation": "todos", "scope": {"include": "todoList"}}]}',
    ...                      max_depth=1)
    '{"include": [{"relation": "todos", "scope": {}}]}'
    """
    if isinstance(value, str) and value[:1] == "{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        kept = within_include_rules(parsed, max_depth)
        return value if kept == parsed else json.dumps(kept)
    if not isinstance(value, dict) or "include" not in value:
        return value
    return _with_include(value, _kept_include(value["include"], 1, max_depth))


_DROPPED = object()


def _with_include(filter_: dict[str, Any], include: Any) -> dict[str, Any]:
    rest = {key: item for key, item in filter_.items() if key != "include"}
    return rest if include is _DROPPED else {**rest, "include": include}


def _kept_include(include: Any, depth: int, max_depth: int) -> Any:
    if not include:
        return include
    if depth > max_depth:
        return _DROPPED
    kept: list[Any] = []
    scopes: dict[str, Any] = {}
    for item in include if isinstance(include, list) else [include]:
        name, scope = (item.get("relation"), item.get("scope") or {}) if isinstance(
            item, dict) else (item, {})
        if isinstance(name, str) and isinstance(scope, dict):
            if "include" in scope:
                scope = _with_include(scope, _kept_include(scope["include"], depth + 1,
                                                           max_depth))
                item = {**item, "scope": scope}
            if scopes.setdefault(name, scope) != scope:
                continue
        kept.append(item)
    return kept if isinstance(include, list) else kept[0]
