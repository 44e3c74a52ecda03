"""Coercion: split parameter strings into typed values, by the schema's type and format."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from server.dialect import implied_integer_range, integer_bounds
from server.refs import deref, escape
from server.types import ErrorDetail, Schema
from server.validation import SchemaValidators

Coercer = Callable[[Any], Any]
"""Turns a raw value (str, list or dict of raw values) into a typed one; raises `CoercionError`."""

_INTEGER = re.compile(r"[-+]?[0-9]+")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
# Which scalar type a string tries first when a schema allows several: the most specific.
_PRECEDENCE = ("boolean", "integer", "number", "null", "object", "array", "string")
_SCALARS = frozenset({"boolean", "integer", "number", "null", "string"})
_OBJECT_KEYWORDS = ("properties", "additionalProperties", "patternProperties", "required")
_ARRAY_KEYWORDS = ("items", "prefixItems")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null",
               list: "array", dict: "object"}


class CoercionError(ValueError):
    """A raw value that its schema's type refuses; `detail` says where and why, AJV style."""

    def __init__(
        self,
        raw: Any,
        message: str,
        *,
        code: str = "type",
        info: dict[str, Any] | None = None,
        path: str = "",
    ) -> None:
        super().__init__(f"{raw!r} {message}")
        self.raw = raw
        self.detail: ErrorDetail = {"path": path, "code": code, "message": message,
                                    "info": info or {}}

    @property
    def path(self) -> str:
        return self.detail["path"]

    def within(self, token: str | int) -> CoercionError:
        """The same error one level down: its path is prefixed with `/token`."""
        self.detail["path"] = f"/{escape(str(token))}{self.detail['path']}"
        return self


def coerce(raw: Any, schema: Schema, document: Any) -> Any:
    """Coerce one raw value by a schema; compiles the schema on every call, so prefer
    `compile_coercer` outside tests.

    >>> coerce(["1", "2"], {"type": "array", "items": {"type": "integer"}}, {})
    [1, 2]
    """
    return compile_coercer(schema, document)(raw)


def compile_coercer(schema: Schema | bool, document: Any,
                    validators: SchemaValidators | None = None) -> Coercer:
    """Build, once, the function that coerces raw values for `schema` (`$ref`s followed).

    Strings are converted; values of any other kind (already typed, say from JSON) pass
    through unchanged for the validator to judge. Strings stay strings for `type: string`.
    The branches of a `oneOf`/`anyOf` are judged by validators from `validators` (the app's,
    so that they are compiled with the rest), else from validators of the coercer's own.

    >>> compile_coercer({"type": "object", "properties": {"n": {"type": "integer"}}}, {})(
    ...     {"n": "7", "s": "x"})
    {'n': 7, 's': 'x'}
    """
    return _Compiler(document, validators).compile(schema)


def _identity(raw: Any) -> Any:
    return raw


class _Compiler:
    def __init__(self, document: Any, validators: SchemaValidators | None = None) -> None:
        self.document = document
        # Keyed by id(); the schema is kept alongside so that its id cannot be reused.
        self.cache: dict[int, tuple[Any, Coercer]] = {}
        self.validators = validators

    def compile(self, schema: Any) -> Coercer:
        schema = deref(self.document, schema)
        if not isinstance(schema, dict):
            return _identity
        cached = self.cache.get(id(schema))
        if cached is not None:
            return cached[1]
        # A recursive schema meets itself while being built; it gets a forwarder until done.
        built: list[Coercer] = []
        self.cache[id(schema)] = (schema, lambda raw: built[0](raw))
        coercer = self._build(schema)
        built.append(coercer)
        self.cache[id(schema)] = (schema, coercer)
        return coercer

    def _build(self, schema: Schema) -> Coercer:
        if isinstance(schema.get("allOf"), list):
            schema = self._merge_all_of(schema, set())
        types = _types(schema)
        if types is None:
            for keyword in ("oneOf", "anyOf"):
                if isinstance(schema.get(keyword), list):
                    return self._alternatives(schema[keyword], keyword)
            return _identity
        if len(types) == 1:
            return self._for_type(types[0], schema)
        return self._type_list(types, schema)

    def _merge_all_of(self, schema: Schema, seen: set[int]) -> Schema:
        seen.add(id(schema))
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        properties = dict(merged.get("properties") or {})
        for part in schema["allOf"]:
            part = deref(self.document, part)
            if not isinstance(part, dict) or id(part) in seen:
                continue
            if isinstance(part.get("allOf"), list):
                part = self._merge_all_of(part, seen)
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    for name, subschema in value.items():
                        properties.setdefault(name, subschema)
                elif key not in merged:
                    merged[key] = value
        if properties:
            merged["properties"] = properties
        return merged

    def _for_type(self, type_: str, schema: Schema) -> Coercer:
        if type_ == "integer":
            return _integer_coercer(schema)
        if type_ == "number":
            return _coerce_number
        if type_ == "boolean":
            return _coerce_boolean
        if type_ == "null":
            return _coerce_null
        if type_ == "array":
            return self._array(schema)
        if type_ == "object":
            return self._object(schema)
        return _identity

    def _type_list(self, types: list[str], schema: Schema) -> Coercer:
        ordered = sorted(types, key=lambda t: _PRECEDENCE.index(t) if t in _PRECEDENCE else 99)
        scalars = [self._for_type(t, schema) for t in ordered if t in _SCALARS]
        array = self._array(schema) if "array" in types else None
        object_ = self._object(schema) if "object" in types else None
        expected = ",".join(types)

        def coerce_type_list(raw: Any) -> Any:
            if isinstance(raw, str):
                for coercer in scalars:
                    try:
                        return coercer(raw)
                    except CoercionError:
                        continue
                if array is not None:
                    return array(raw)
                raise CoercionError(raw, f"must be {expected}", info={"type": expected})
            if isinstance(raw, dict) and object_ is not None:
                return object_(raw)
            if isinstance(raw, list) and array is not None:
                return array(raw)
            return raw

        return coerce_type_list

    def _alternatives(self, schemas: list[Any], keyword: str) -> Coercer:
        ranked = sorted(
            ((_rank(deref(self.document, s)), index, s) for index, s in enumerate(schemas)),
            key=lambda entry: (entry[0], entry[1]),
        )
        branches = [(self.compile(s), self._check(s)) for _, _, s in ranked]
        message = ("must match exactly one schema in oneOf" if keyword == "oneOf"
                   else "must match a schema in anyOf")

        def coerce_alternatives(raw: Any) -> Any:
            # The first branch whose coercion its own schema accepts: a deepObject dict such as
            # `{"gt": "2"}` passes untouched through a scalar branch, which must not win.
            fallback: list[Any] = []
            nested: CoercionError | None = None
            for coercer, check in branches:
                try:
                    value = coercer(raw)
                except CoercionError as error:
                    if nested is None and error.path:
                        nested = error  # the branch had the raw value's shape, but not inside
                    continue
                if check(value):
                    return value
                fallback.append(value)
            if nested is not None:
                raise nested
            if fallback:
                return fallback[0]  # for the validator to report against the whole schema
            raise CoercionError(raw, message, code=keyword)

        return coerce_alternatives

    def _check(self, schema: Any) -> Callable[[Any], bool]:
        """Whether a coerced value satisfies one branch of a oneOf/anyOf."""
        if self.validators is None:
            document = self.document if isinstance(self.document, dict) else {}
            version = "3.0" if str(document.get("openapi", "")).startswith("3.0") else "3.1"
            self.validators = SchemaValidators(document, version)
        try:
            return self.validators.compile(schema).is_valid
        except (ValueError, LookupError):  # a schema the validator cannot compile
            return lambda value: True

    def _array(self, schema: Schema) -> Coercer:
        items = self.compile(schema.get("items", True))
        prefix = [self.compile(s) for s in schema.get("prefixItems") or ()]

        def coerce_array(raw: Any) -> Any:
            if isinstance(raw, str):
                raw = [raw]
            elif not isinstance(raw, list):
                return raw
            result = []
            for index, item in enumerate(raw):
                coercer = prefix[index] if index < len(prefix) else items
                try:
                    result.append(coercer(item))
                except CoercionError as error:
                    raise error.within(index) from None
            return result

        return coerce_array

    def _object(self, schema: Schema) -> Coercer:
        properties = {
            name: self.compile(subschema)
            for name, subschema in (schema.get("properties") or {}).items()
        }
        patterns = [
            (re.compile(pattern), self.compile(subschema))
            for pattern, subschema in (schema.get("patternProperties") or {}).items()
        ]
        additional = schema.get("additionalProperties", True)
        rest = self.compile(additional) if isinstance(additional, dict) else _identity

        def coerce_object(raw: Any) -> Any:
            if not isinstance(raw, dict):
                return raw
            result = {}
            for key, value in raw.items():
                coercer = properties.get(key)
                if coercer is None:
                    coercer = next((c for p, c in patterns if p.search(key)), rest)
                try:
                    result[key] = coercer(value)
                except CoercionError as error:
                    raise error.within(key) from None
            return result

        return coerce_object


def _types(schema: Schema) -> list[str] | None:
    declared = schema.get("type")
    types: list[str] | None
    if isinstance(declared, str):
        types = [declared]
    elif isinstance(declared, list):
        types = [t for t in declared if isinstance(t, str)]
    elif any(key in schema for key in _OBJECT_KEYWORDS):
        types = ["object"]
    elif any(key in schema for key in _ARRAY_KEYWORDS):
        types = ["array"]
    elif "const" in schema or isinstance(schema.get("enum"), list):
        values = [schema["const"]] if "const" in schema else schema["enum"]
        types = list(dict.fromkeys(_JSON_TYPES.get(type(value), "string") for value in values))
    else:
        return None
    if schema.get("nullable") is True and "null" not in types:
        types.append("null")
    return types or None


def _rank(schema: Any) -> int:
    """Where an alternative comes in a oneOf/anyOf: specific scalars first, strings last."""
    types = _types(schema) if isinstance(schema, dict) else None
    if not types:
        return len(_PRECEDENCE)
    return min(_PRECEDENCE.index(t) if t in _PRECEDENCE else len(_PRECEDENCE) for t in types)


def _integer_coercer(schema: Schema) -> Coercer:
    """Text to an exact int. The range of a format, or the one `dialect.implied_integer_range`
    gives, is a format error here; declared bounds are the validator's, which names them."""
    format_ = schema.get("format")
    name = format_ if isinstance(format_, str) and format_ in _INTEGER_RANGES else "int64"
    checked: tuple[int | None, int | None] = _INTEGER_RANGES[name]
    low: float | None
    high: float | None
    low, high = checked
    if name != format_:
        implied = implied_integer_range(schema) or {}
        checked = implied.get("minimum"), implied.get("maximum")
        declared = integer_bounds(schema)
        low = checked[0] if checked[0] is not None else declared[0]
        high = checked[1] if checked[1] is not None else declared[1]
    # Text longer than every bound lies beyond them; int() is quadratic in its length.
    widest = max((abs(n) for n in (low, high, *_listed_numbers(schema)) if n is not None),
                 default=_INTEGER_RANGES["int64"][1])
    max_digits = len(str(int(widest))) + 1

    def coerce_integer(raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        text = raw if _INTEGER.fullmatch(raw) is not None else _integral(raw, max_digits)
        if text is None:
            raise CoercionError(raw, "must be integer", info={"type": "integer"})
        format_error = CoercionError(raw, f'must match format "{name}"', code="format",
                                     info={"format": name})
        negative = text.startswith("-")
        edge = low if negative else high
        if len(text.lstrip("+-").lstrip("0")) <= max_digits:
            value = int(text)
        elif edge is None:
            raise format_error
        else:  # a stand-in just past the bound it passes, for the check that names that bound
            value = int(edge) - 1 if negative else int(edge) + 1
        if (checked[0] is not None and value < checked[0]) or (
                checked[1] is not None and value > checked[1]):
            raise format_error
        return value

    return coerce_integer


def _integral(raw: str, max_digits: int) -> str | None:
    """Decimal text whose value is a whole number (`7.0`, `-2.`, `1e3`: JSON Schema's integers,
    and LoopBack's, which reads them with `Number`) as integer text; None for any other. A value
    of more than `max_digits` digits becomes a stand-in of that many digits and one more, never
    the whole number (`1e999999999` is short text).

    >>> _integral("-75511117.0", 20), _integral("1e3", 20), _integral("1.5", 20)
    ('-75511117', '1000', None)
    >>> _integral("9e99", 20)
    '999999999999999999999'
    """
    if _NUMBER.fullmatch(raw) is None:
        return None
    value = Decimal(raw)
    if value != value.to_integral_value():
        return None
    if value.adjusted() >= max_digits:
        return ("-" if value < 0 else "") + "9" * (max_digits + 1)
    return str(int(value))


def _listed_numbers(schema: Schema) -> list[int | float]:
    """The finite numbers an `enum` or `const` lists."""
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    return [value for value in values if isinstance(value, int | float) and not isinstance(
        value, bool) and math.isfinite(value)] if isinstance(values, list) else []


def _coerce_number(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    if _NUMBER.fullmatch(raw) is None:
        raise CoercionError(raw, "must be number", info={"type": "number"})
    value = float(raw)
    if not math.isfinite(value):
        raise CoercionError(raw, "must be number", info={"type": "number"})
    return value


def _coerce_boolean(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CoercionError(raw, "must be boolean", info={"type": "boolean"})


def _coerce_null(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    if raw in ("", "null"):
        return None
    raise CoercionError(raw, "must be null", info={"type": "null"})
