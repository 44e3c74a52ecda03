"""The schema dialect: OpenAPI 3.0/3.1 Schema Objects as plain JSON Schema 2020-12, and formats."""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from server.refs import RefError, deref, escape, unescape
from server.types import Direction, Schema

_FLOAT_MAX = 3.4028234663852886e38
_DOUBLE_MAX = 1.7976931348623157e308
NUMERIC_FORMATS: dict[str, Schema] = {
    "int32": {"minimum": -(2**31), "maximum": 2**31 - 1, "multipleOf": 1},
    "int64": {"minimum": -(2**63), "maximum": 2**63 - 1, "multipleOf": 1},
    "float": {"minimum": -_FLOAT_MAX, "maximum": _FLOAT_MAX},
    "double": {"minimum": -_DOUBLE_MAX, "maximum": _DOUBLE_MAX},
}
"""Formats checked on numbers, as the range each one stands for."""
_INT64 = NUMERIC_FORMATS["int64"]

# Keywords whose value is a map, a list, or one of subschemas (JSON Schema 2020-12).
SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas", "$defs"})
SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
SCHEMA_VALUED = frozenset({
    "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties",
})
_VALUES = frozenset({
    "type", "enum", "const", "multipleOf", "maximum", "minimum", "exclusiveMaximum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required",
    "dependentRequired", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor",
})
_COMPOSITIONS = ("$ref", "allOf", "oneOf", "anyOf")


def to_json_schema(
    schema: Schema | bool,
    *,
    version: str,
    direction: Direction,
    document: Any = None,
) -> Schema:
    """Rewrite one OpenAPI Schema Object as JSON Schema 2020-12 for one direction of data.

    `document` (the bundled OpenAPI document) lets `readOnly`/`writeOnly` and `discriminator`
    look through `$ref`s. The rewrite makes jsonschema-rs and `jsonschema` judge values alike:

    - Only JSON Schema 2020-12 assertions and applicators are kept. Annotations, OAS-only
      keywords (`example`, `xml`, `externalDocs`, `deprecated`, `nullable`, ...), `x-*`
      extensions, `$id` and `$schema` are dropped; so is a `format` outside `FORMAT_CHECKERS` and
      `NUMERIC_FORMATS`, so that neither validator checks a format the other does not know.
    - OpenAPI 3.0: `nullable: true` adds `"null"` to `type` (and `None` to `enum`); beside `$ref`,
      `allOf`, `oneOf` or `anyOf` the schema is wrapped as `anyOf: [schema, {"type": "null"}]`.
      Boolean `exclusiveMinimum`/`exclusiveMaximum` take the numeric 2020-12 form. Siblings of
      `$ref` are ignored, as 3.0 says, except `nullable`.
    - `readOnly` properties are neither required nor accepted in requests (their schema becomes
      `false`); `writeOnly` properties likewise in responses. The flag is read on the property
      schema and, through a `$ref`, on the schema it names. Only the `required` beside the
      `properties` that declare the flag is pruned.
    - Numeric formats (`int32`, `int64`, `float`, `double`) become a range in a synthesized `allOf`
      member `{"format": f, "minimum": .., "maximum": .., ["multipleOf": 1]}`, because format
      checkers only ever see strings; `validation.py` reports failures there as format errors.
    - An `integer` with no format means int64, widened to every bound it declares: each side it
      leaves open gets int64's bound, or the farthest declared bound beyond it, in a member
      `{"format": "int64", ...}` (`implied_integer_range`). An integer with `enum` or `const`,
      or whose type also allows `number`, is left as declared.
    - `discriminator` beside `oneOf`/`anyOf` becomes a dispatch on the tag, with the valid/invalid
      outcome of AJV's `discriminator` option: an object must carry the tag, its value must
      select a branch, and the object must be valid against that branch alone. The tag values
      are the `mapping` keys, then for each other branch the `const`/`enum` of its tag property
      (AJV's rule) or else the component name of its `$ref` (OpenAPI's implicit mapping).
      Non-objects are judged by the original `oneOf`/`anyOf`. The dispatch goes in `allOf`:

          {"discriminator": {"propertyName": tag},          # inert here; words the errors
           "if": {"type": "object"},
           "then": {"required": [tag], "properties": {tag: {"enum": values}},
                    "allOf": [{"if": {"required": [tag], "properties": {tag: {"enum": vs}}},
                               "then": branch}, ...]},
           "else": {"oneOf": branches}}

      A `discriminator` with neither `oneOf` nor `anyOf` (the allOf-inheritance style) is dropped.
    - `$ref`s stay references: `validation.py` carries normalized copies of their targets.

    >>> to_json_schema({"type": "string", "nullable": True, "example": "x"},
    ...                version="3.0", direction="request")
    {'type': ['string', 'null']}
    >>> to_json_schema({"properties": {"id": {"readOnly": True}}, "required": ["id"]},
    ...                version="3.1", direction="request")
    {'properties': {'id': False}}
    """
    normalized = normalize(schema, version=version, direction=direction, document=document)
    if normalized is True:
        return {}
    if normalized is False:
        return {"allOf": [False]}
    return normalized  # type: ignore[no-any-return]


def normalize(schema: Any, *, version: str, direction: Direction, document: Any = None) -> Any:
    """Like `to_json_schema`, but a boolean schema stays a boolean (for `$ref` targets).

    >>> normalize(False, version="3.1", direction="response")
    False
    """
    return _Normalizer(version, direction, document).schema(schema)


class _Normalizer:
    def __init__(self, version: str, direction: Direction, document: Any) -> None:
        self.legacy = version.startswith("3.0")
        self.hidden_flag = "readOnly" if direction == "request" else "writeOnly"
        self.document = document

    def schema(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node  # a boolean schema (3.1), or a fault the spec checker reports
        if self.legacy and "$ref" in node:
            out: Schema = {"$ref": node["$ref"]}
            return _or_null(out) if node.get("nullable") is True else out
        nullable = self.legacy and node.get("nullable") is True
        out = {}
        for key, value in node.items():
            if key in _VALUES:
                out[key] = value
            elif key in SCHEMA_VALUED:
                out[key] = self.schema(value)
            elif key in SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.schema(item) for item in value]
            elif key in SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self.schema(item) for name, item in value.items()}
        self._hide_properties(node, out)
        self._exclusive_limits(node, out)
        self._format(node, out)
        self._discriminator(node, out)
        if nullable:
            if any(key in node for key in _COMPOSITIONS):
                return _or_null(out)
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        return out

    def _follow(self, node: Any) -> Any:
        if self.document is None:
            return node
        try:
            return deref(self.document, node)
        except RefError:
            return node

    def _hide_properties(self, node: Schema, out: Schema) -> None:
        """Turn readOnly (requests) or writeOnly (responses) properties into `false`."""
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return
        hidden = [
            name for name, prop in properties.items()
            if isinstance(prop, dict) and self._flagged(prop)
        ]
        if not hidden:
            return
        for name in hidden:
            out["properties"][name] = False
        if isinstance(out.get("required"), list):
            required = [name for name in out["required"] if name not in hidden]
            if required:
                out["required"] = required
            else:
                del out["required"]

    def _flagged(self, prop: Schema) -> bool:
        if prop.get(self.hidden_flag) is True:
            return True
        target = self._follow(prop)
        return isinstance(target, dict) and target.get(self.hidden_flag) is True

    def _exclusive_limits(self, node: Schema, out: Schema) -> None:
        for exclusive, inclusive in (("exclusiveMinimum", "minimum"),
                                     ("exclusiveMaximum", "maximum")):
            flag = node.get(exclusive)
            if isinstance(flag, bool):  # OpenAPI 3.0 spelling
                del out[exclusive]
                if flag and inclusive in out:
                    out[exclusive] = out.pop(inclusive)

    def _format(self, node: Schema, out: Schema) -> None:
        name = node.get("format")
        name = name if isinstance(name, str) else None
        if name in FORMAT_CHECKERS:
            out["format"] = name
        elif name in NUMERIC_FORMATS:
            out["allOf"] = [*out.get("allOf", []), {"format": name, **NUMERIC_FORMATS[name]}]
            return
        implied = implied_integer_range(node)
        if implied:
            out["allOf"] = [*out.get("allOf", []), {"format": "int64", **implied}]

    def _discriminator(self, node: Schema, out: Schema) -> None:
        discriminator = node.get("discriminator")
        keyword = "oneOf" if "oneOf" in out else "anyOf" if "anyOf" in out else None
        if not isinstance(discriminator, dict) or keyword is None:
            return
        tag = discriminator.get("propertyName")
        branches = out[keyword]
        if not isinstance(tag, str) or not isinstance(branches, list):
            return
        routes = self._routes(tag, discriminator.get("mapping"), node[keyword], branches)
        if not routes:
            return
        values = [value for value, _ in routes]
        cases = []
        for value_group, target in _group_by_target(routes):
            cases.append({
                "if": {"required": [tag], "properties": {tag: {"enum": value_group}}},
                "then": target,
            })
        dispatch: Schema = {
            "discriminator": {"propertyName": tag},
            "if": {"type": "object"},
            "then": {"required": [tag], "properties": {tag: {"enum": values}}, "allOf": cases},
            "else": {keyword: out.pop(keyword)},
        }
        out["allOf"] = [*out.get("allOf", []), dispatch]

    def _routes(
        self, tag: str, mapping: Any, originals: list[Any], branches: list[Any]
    ) -> list[tuple[str, Any]]:
        """The (tag value, schema to apply) pairs, mapping first, then each unmapped branch."""
        routes: list[tuple[str, Any]] = []
        targeted: set[str] = set()
        if isinstance(mapping, dict):
            for value, target in mapping.items():
                if isinstance(target, str):
                    ref = target if "#" in target else f"#/components/schemas/{escape(target)}"
                    targeted.add(ref)
                    routes.append((str(value), {"$ref": ref}))
        known = {value for value, _ in routes}
        for original, branch in zip(originals, branches, strict=True):
            branch_ref = original.get("$ref") if isinstance(original, dict) else None
            if branch_ref in targeted:
                continue
            for value in _tag_values(self._follow(original), tag, branch_ref):
                if value not in known:
                    known.add(value)
                    routes.append((value, branch))
        return routes


def _tag_values(schema: Any, tag: str, ref: Any) -> list[str]:
    """A branch's tag values: its tag property's const/enum (AJV), else its component name."""
    prop = schema.get("properties", {}).get(tag) if isinstance(schema, dict) else None
    if isinstance(prop, dict):
        if isinstance(prop.get("const"), str):
            return [prop["const"]]
        if isinstance(prop.get("enum"), list):
            return [value for value in prop["enum"] if isinstance(value, str)]
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return [unescape(ref.rsplit("/", 1)[1])]
    return []


def _group_by_target(routes: list[tuple[str, Any]]) -> list[tuple[list[str], Any]]:
    groups: list[tuple[list[str], Any]] = []
    for value, target in routes:
        for values, existing in groups:
            if existing is target or existing == target:
                values.append(value)
                break
        else:
            groups.append(([value], target))
    return groups


def _or_null(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def integer_bounds(schema: Mapping[str, Any]) -> tuple[int | float | None, int | float | None]:
    """The finite lower and upper bounds a schema declares, inclusive or exclusive (3.0 and 3.1).

    >>> integer_bounds({"minimum": 0, "exclusiveMaximum": 2**70})
    (0, 1180591620717411303424)
    >>> integer_bounds({"maximum": 10, "exclusiveMaximum": True, "minimum": float("-inf")})
    (None, 10)
    """
    def bound(*keys: str) -> int | float | None:
        for key in keys:
            value = schema.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
                    value):
                return value
        return None

    return bound("minimum", "exclusiveMinimum"), bound("maximum", "exclusiveMaximum")


def implied_integer_range(schema: Mapping[str, Any]) -> Schema | None:
    """What an `integer` without a numeric format implies beside its own keywords: int64's range
    on each side it leaves open, widened to the farthest bound it declares. None when nothing is
    implied: another type, a numeric format, `enum`/`const`, or both sides declared.

    >>> implied_integer_range({"type": "integer"}) == {"minimum": -2**63, "maximum": 2**63 - 1}
    True
    >>> implied_integer_range({"type": ["integer", "null"], "maximum": 2**70})
    {'minimum': -9223372036854775808}
    >>> implied_integer_range({"type": "integer", "minimum": 2**70})
    {'maximum': 1180591620717411303424}
    >>> implied_integer_range({"type": "integer", "minimum": 0, "maximum": 2**70}) is None
    True
    """
    declared, name = schema.get("type"), schema.get("format")
    types = declared if isinstance(declared, list) else [declared]
    if ("integer" not in types or "number" in types or "enum" in schema or "const" in schema
            or (isinstance(name, str) and name in NUMERIC_FORMATS)):
        return None
    low, high = integer_bounds(schema)
    bounds = [bound for bound in (low, high) if bound is not None]
    implied: Schema = {}
    if low is None:
        implied["minimum"] = min([_INT64["minimum"], *bounds])
    if high is None:
        implied["maximum"] = max([_INT64["maximum"], *bounds])
    return implied or None


def is_numeric_format_check(node: Any) -> bool:
    """Whether `node` is the range that a numeric format was rewritten into.

    >>> is_numeric_format_check({"format": "int32", "minimum": -2, "maximum": 1})
    True
    """
    return isinstance(node, dict) and node.get("format") in NUMERIC_FORMATS


def referenced_pointers(schema: Any) -> set[str]:
    """Every `$ref` inside a (normalized) schema.

    >>> sorted(referenced_pointers({"items": {"$ref": "#/components/schemas/A"}}))
    ['#/components/schemas/A']
    """
    found: set[str] = set()
    _collect_refs(schema, found)
    return found


def _collect_refs(node: Any, found: set[str]) -> None:
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$ref"), str):
        found.add(node["$ref"])
    for child in subschemas(node):
        _collect_refs(child, found)


def subschemas(node: Mapping[str, Any]) -> Iterator[Any]:
    """The schemas directly inside a schema, found by keyword: `properties` names, `example`s
    and `default`s are values, never walked into.

    >>> list(subschemas({"items": {"type": "string"}, "example": {"type": "x"},
    ...                  "anyOf": [True], "properties": {"a": {}}}))
    [{'type': 'string'}, True, {}]
    """
    for key, value in node.items():
        if key in SCHEMA_VALUED:
            yield value
        elif key in SCHEMA_LISTS and isinstance(value, list):
            yield from value
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            yield from value.values()


# --- string formats ---------------------------------------------------------------------------

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
    re.IGNORECASE | re.ASCII,
)
_HOSTNAME = re.compile(
    r"(?=.{1,253}\.?\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?",
    re.IGNORECASE | re.ASCII | re.DOTALL,
)
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def is_date(value: str) -> bool:
    """RFC 3339 full-date: `is_date("2024-02-29")` is True, `is_date("2023-02-29")` False."""
    match = _DATE.fullmatch(value)
    if not match:
        return False
    year, month, day = (int(part) for part in match.groups())
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def is_time(value: str) -> bool:
    """RFC 3339 full-time, offset required: `is_time("23:59:60Z")` is True (a leap second)."""
    match = _TIME.fullmatch(value)
    if not match:
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    sign, offset_hour, offset_minute = match[4], int(match[5] or 0), int(match[6] or 0)
    if hour > 23 or minute > 59 or second > 60 or offset_hour > 23 or offset_minute > 59:
        return False
    if second < 60:
        return True
    offset = (offset_hour * 60 + offset_minute) * (-1 if sign == "-" else 1)
    return (hour * 60 + minute - offset) % 1440 == 23 * 60 + 59


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time: `is_date_time("2024-01-31T10:00:00+01:00")` is True."""
    parts = re.split("[Tt]", value)
    return len(parts) == 2 and is_date(parts[0]) and is_time(parts[1])


def is_email(value: str) -> bool:
    """A pragmatic addr-spec, as ajv-formats checks it: `is_email("a.b@example.com")`."""
    return _EMAIL.fullmatch(value) is not None


def is_hostname(value: str) -> bool:
    """RFC 1123 host name: `is_hostname("api.example.com")` is True, `is_hostname("-a")` False."""
    return _HOSTNAME.fullmatch(value) is not None


def is_uri(value: str) -> bool:
    """An absolute RFC 3986 URI: `is_uri("https://x.org/a?b#c")` is True, `is_uri("/a")` False."""
    return _URI.fullmatch(value) is not None and value.count("#") <= 1


def is_uuid(value: str) -> bool:
    """`is_uuid("123e4567-e89b-12d3-a456-426614174000")` is True."""
    return _UUID.fullmatch(value) is not None


def is_ipv4(value: str) -> bool:
    """Dotted quad without leading zeros: `is_ipv4("10.0.0.1")` is True, `is_ipv4("010.0.0.1")`
    False."""
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return value.isascii()


def is_ipv6(value: str) -> bool:
    """`is_ipv6("::1")` is True; zone ids (`fe80::1%eth0`) are not addresses."""
    if "%" in value or not value.isascii():
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def is_byte(value: str) -> bool:
    """Padded standard base64: `is_byte("aGk=")` is True, `is_byte("aGk")` False."""
    if _BASE64.fullmatch(value) is None:
        return False
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        return False
    return True


FORMAT_CHECKERS: dict[str, Callable[[str], bool]] = {
    "date": is_date,
    "date-time": is_date_time,
    "time": is_time,
    "email": is_email,
    "uri": is_uri,
    "uuid": is_uuid,
    "ipv4": is_ipv4,
    "ipv6": is_ipv6,
    "hostname": is_hostname,
    "byte": is_byte,
}
"""The string formats checked, by name; numeric formats are ranges (`NUMERIC_FORMATS`)."""
