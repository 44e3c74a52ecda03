"""Parameters: one compiled parser per operation, from raw request parts to validated values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from server.coercion import Coercer, CoercionError, compile_coercer
from server.errors import InvalidParameterValue, MissingRequiredParameter
from server.jsontext import dump_json, load_json
from server.refs import deref
from server.styles import (
    Query,
    QueryEncodingError,
    Raw,
    Reader,
    Shape,
    StyleError,
    compile_reader,
    parse_query,
    read_deep_object,
)

if TYPE_CHECKING:
    from server.validation import SchemaValidators, Validator

_LOCATIONS = ("path", "query", "header", "cookie")
_SOURCE_INDEX = {location: index for index, location in enumerate(_LOCATIONS)}
# LoopBack treats an empty or `null` JSON parameter as not given at all.
_ABSENT_JSON = frozenset({"", "null"})


class RequestParts(NamedTuple):
    """The raw parameter sources of one request (a tuple: it is built for every request).

    `path` holds percent-decoded segment values, `query` the undecoded query string,
    `headers` lower-case names.
    """

    path: Mapping[str, str]
    query: str
    headers: Mapping[str, str]
    cookies: Mapping[str, str]


class _JsonSyntaxError(ValueError):
    pass


class _Parameter:
    """One compiled parameter: read from its location, coerce, validate."""

    __slots__ = ("allow_empty", "coerce", "default", "is_json", "key", "location", "name", "read",
                 "required", "source", "validator")

    def __init__(
        self,
        name: str,
        location: str,
        read: Reader,
        coerce: Coercer,
        validator: Validator | None,
        required: bool,
        allow_empty: bool,
        default: Callable[[], Any] | None,
        is_json: bool,
        key: str | None,
    ) -> None:
        self.name = name
        self.location = location
        self.source = _SOURCE_INDEX[location]
        self.read = read
        self.coerce = coerce
        self.validator = validator
        self.required = required
        self.allow_empty = allow_empty
        self.default = default
        self.is_json = is_json
        self.key = key
        """Where `parse` puts the value: the spec's name, a handler's argument name, or None to
        check the parameter without handing it over."""


class ParameterParser:
    """An operation's parameters, compiled; `parse` is all a request costs."""

    __slots__ = ("_needs_query", "_parameters")

    def __init__(self, parameters: tuple[_Parameter, ...]) -> None:
        self._parameters = parameters
        self._needs_query = any(p.location == "query" for p in parameters)

    @property
    def names(self) -> tuple[str, ...]:
        """The spec's parameter names, in declaration order."""
        return tuple(p.name for p in self._parameters)

    def parse(self, parts: RequestParts) -> dict[str, Any]:
        """Typed, validated values keyed by the spec's parameter names.

        Omitted optional parameters are left out, or take their schema's `default`.

        >>> parser = compile_parameters(
        ...     [{"name": "id", "in": "path", "schema": {"type": "integer"}}], None, {})
        >>> parser.parse(RequestParts({"id": "7"}, "", {}, {}))
        {'id': 7}
        """
        try:
            query: Query = parse_query(parts.query) if self._needs_query else {}
        except QueryEncodingError as error:
            raise InvalidParameterValue(error.name, error.raw,
                                        details={"encodingError": str(error)}) from None
        sources = (parts.path, query, parts.headers, parts.cookies)
        values: dict[str, Any] = {}
        for parameter in self._parameters:
            name = parameter.name
            try:
                raw = parameter.read(sources[parameter.source])
            except StyleError as error:
                raise InvalidParameterValue(name, error.raw) from None
            if raw is None or (
                parameter.required and not parameter.allow_empty and (not raw or raw == [""])
            ):
                if parameter.required:
                    raise MissingRequiredParameter(name)
                if parameter.default is not None and parameter.key is not None:
                    values[parameter.key] = parameter.default()
                continue
            try:
                value = parameter.coerce(raw)
            except CoercionError as error:
                # A top-level mismatch reads as LoopBack's; a nested one says where it is.
                details = [error.detail] if error.path else None
                raise InvalidParameterValue(name, raw, details=details) from None
            except _JsonSyntaxError as error:
                syntax = {"syntaxError": str(error)}
                raise InvalidParameterValue(name, raw, details=syntax) from None
            if parameter.validator is not None:
                errors = parameter.validator.errors(value)
                if errors:
                    # As LoopBack: a JSON or deepObject value is named as parsed, others as sent.
                    shown = value if parameter.is_json else raw
                    raise InvalidParameterValue(name, shown, details=errors)
            if parameter.key is not None:
                values[parameter.key] = value
        return values


def compile_parameters(
    parameters: list[dict[str, Any]], validators: SchemaValidators | None, document: Any,
    keys: Mapping[str, str | None] | None = None,
) -> ParameterParser:
    """Compile an operation's Parameter Objects (path and operation level already merged).

    `$ref`s are followed; a later parameter with the same `name` and `in` replaces an earlier
    one. `validators` may be `None` to coerce without validating. `keys` renames the results
    (spec name -> handler argument); a name mapped to None is checked but left out.

    >>> parser = compile_parameters(
    ...     [{"name": "tags", "in": "query", "schema": {"type": "array"}}], None, {})
    >>> parser.parse(RequestParts({}, "tags=a&tags=b", {}, {}))
    {'tags': ['a', 'b']}
    """
    specs = merge_parameters(document, parameters)
    query_names = {spec["name"] for spec in specs if spec["in"] == "query"}
    keys = keys or {}
    return ParameterParser(tuple(
        _compile_parameter(spec, validators, document, query_names - {spec["name"]},
                           keys.get(spec["name"], spec["name"]))
        for spec in specs
    ))


def merge_parameters(document: Any, *levels: Iterable[Any]) -> list[dict[str, Any]]:
    """Parameter Objects with `$ref`s followed; a later one replaces an earlier one with the same
    `name` and `in` (operation-level parameters override path-level ones).

    >>> merge_parameters({}, [{"name": "a", "in": "query", "x": 1}],
    ...                  [{"name": "a", "in": "query", "x": 2}])
    [{'name': 'a', 'in': 'query', 'x': 2}]
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for level in levels:
        for raw in level:
            spec = deref(document, raw)
            merged[(spec["in"], spec["name"])] = spec
    return list(merged.values())


def _compile_parameter(
    spec: dict[str, Any], validators: SchemaValidators | None, document: Any, claimed: set[str],
    key: str | None,
) -> _Parameter:
    name: str = spec["name"]
    location: str = spec["in"]
    if location not in _SOURCE_INDEX:
        raise ValueError(f"parameter {name!r} has an unknown location {location!r}")
    content = spec.get("content")
    media_type = None
    if isinstance(content, dict) and content:
        media_type, media = next(iter(content.items()))
        schema_ref = (media or {}).get("schema")
    else:
        schema_ref = spec.get("schema")
    schema = deref(document, schema_ref) if schema_ref is not None else {}
    shape = _shape(schema, document)
    coercer = compile_coercer(schema, document, validators)
    style = spec.get("style")
    read: Reader
    coerce: Coercer
    # LoopBack also takes a deepObject parameter whole, as JSON in its plain key: `?filter={...}`.
    is_json = (media_type is not None and _is_json(media_type)) or (
        media_type is None and location == "query" and style == "deepObject")
    if is_json:
        read = _json_reader(name, location)
        coerce = _json_coercer(coercer)
    else:
        properties = tuple(_properties(schema, document))
        additional = schema.get("additionalProperties")
        read = compile_reader(
            location, name, style, spec.get("explode"), shape,
            properties=properties,
            open_object=not properties or (additional is not None and additional is not False),
            claimed=claimed,
        )
        coerce = coercer
    validator = (
        validators.compile(schema_ref, direction="request")
        if validators is not None and schema_ref is not None else None
    )
    return _Parameter(
        name=name,
        location=location,
        read=read,
        coerce=coerce,
        validator=validator,
        required=location == "path" or spec.get("required") is True,
        allow_empty=spec.get("allowEmptyValue") is True,
        default=_default_factory(schema),
        is_json=is_json,
        key=key,
    )


def _json_reader(name: str, location: str) -> Reader:
    if location != "query":
        def read_json_text(source: Mapping[str, str]) -> Raw | None:
            text = source.get(name.lower() if location == "header" else name)
            return None if text is None or text in _ABSENT_JSON else text

        return read_json_text

    def read_json_query(query: Query) -> Raw | None:
        values = query.get(name)
        if values is None:
            # The deepObject form of the same parameter: `filter[where][id]=1`.
            return read_deep_object(query, name)
        if len(values) > 1:
            raise StyleError(f"{name!r} is repeated", values)
        text = values[0]
        return None if text in _ABSENT_JSON else text

    return read_json_query


def _json_coercer(coercer: Coercer) -> Coercer:
    def coerce_json(raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                value = load_json(raw)
            except orjson.JSONDecodeError as error:
                raise _JsonSyntaxError(str(error)) from None
            # An escaped key (`\u005f_proto__`) still contains a backslash.
            if "proto" in raw or "\\" in raw:
                _refuse_prototype_keys(value)
            return value
        _refuse_prototype_keys(raw)
        return coercer(raw)

    return coerce_json


def _refuse_prototype_keys(value: Any) -> None:
    """LoopBack's `parseJson` rules, innermost key first as `JSON.parse`'s reviver meets them."""
    if isinstance(value, list):
        for item in value:
            _refuse_prototype_keys(item)
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        _refuse_prototype_keys(child)
        if key == "__proto__":
            raise _JsonSyntaxError(f'JSON string cannot contain "{key}" key.')
        if key == "constructor" and isinstance(child, dict) and any(
            _matches(inner, "prototype") for inner in child
        ):
            raise _JsonSyntaxError('JSON string cannot contain "constructor.prototype" key.')
        if _matches(key, "__proto__") or _matches(key, "constructor.prototype"):
            raise _JsonSyntaxError(f'JSON string cannot contain "{key}" key.')


def _matches(key: str, pattern: str) -> bool:
    return key == pattern or key.startswith(pattern + ".")


def _is_json(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json") or essence == "*/*"


def _shape(schema: Any, document: Any) -> Shape:
    schema = deref(document, schema)
    if not isinstance(schema, dict):
        return "primitive"
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else declared or []
    if "array" in types or (not types and ("items" in schema or "prefixItems" in schema)):
        return "array"
    if "object" in types or (not types and ("properties" in schema
                                            or "additionalProperties" in schema)):
        return "object"
    if not types:
        for keyword in ("allOf", "oneOf", "anyOf"):
            for part in schema.get(keyword) or ():
                shape = _shape(part, document)
                if shape != "primitive":
                    return shape
    return "primitive"


def _properties(schema: Any, document: Any) -> list[str]:
    schema = deref(document, schema)
    if not isinstance(schema, dict):
        return []
    names = list(schema.get("properties") or ())
    for part in schema.get("allOf") or ():
        names.extend(name for name in _properties(part, document) if name not in names)
    return names


def _default_factory(schema: Any) -> Callable[[], Any] | None:
    if not isinstance(schema, dict) or "default" not in schema:
        return None
    default = schema["default"]
    if isinstance(default, (dict, list)):
        # Each request gets its own copy, so that a handler cannot change the next one's.
        frozen = dump_json(default)
        return lambda: load_json(frozen)
    return lambda: default
