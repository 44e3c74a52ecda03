"""Compiled schema validators (jsonschema-rs) and their AJV-style error details."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import jsonschema_rs
import orjson

from server.dialect import (
    FORMAT_CHECKERS,
    is_numeric_format_check,
    normalize,
    referenced_pointers,
    to_json_schema,
)
from server.refs import RefError, escape, resolve_pointer, unescape
from server.types import Direction, ErrorDetail, Schema

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# --- validators -------------------------------------------------------------------------------


class Validator:
    """One compiled schema: `is_valid` for the fast path, `errors` for AJV-style details."""

    __slots__ = ("_compiled", "schema")

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._compiled = jsonschema_rs.validator_for(
            schema, validate_formats=True, formats=FORMAT_CHECKERS
        )

    def is_valid(self, instance: Any) -> bool:
        """Whether `instance` satisfies the schema: `Validator({"minimum": 1}).is_valid(0)` is
        False."""
        return bool(self._compiled.is_valid(instance))

    def errors(self, instance: Any) -> list[ErrorDetail]:
        """Every failure, as AJV (allErrors) reports it for LoopBack; empty when valid.

        >>> Validator({"properties": {"title": {"type": "string"}}}).errors({"title": 1})[0]
        {'path': '/title', 'code': 'type', 'message': 'must be string', 'info': {'type': 'string'}}
        """
        if self._compiled.is_valid(instance):
            return []
        return _Report(self.schema, instance).details(self._compiled.iter_errors(instance))


class SchemaValidators:
    """Compiles the Schema Objects of one bundled OpenAPI document, sharing normalized targets.

    >>> validators = SchemaValidators({"components": {"schemas": {"Id": {"type": "integer"}}}},
    ...                               "3.1")
    >>> validators.compile({"$ref": "#/components/schemas/Id"}).is_valid("1")
    False
    """

    def __init__(self, document: dict[str, Any], version: str) -> None:
        self.document = document
        self.version = version
        self._targets: dict[Direction, dict[str, _Target]] = {"request": {}, "response": {}}
        self._compiled: dict[tuple[Direction, bytes], Validator] = {}

    def compile(self, schema: Schema | bool, direction: Direction = "request") -> Validator:
        """A validator for `schema`; identical schemas share one compiled validator.

        >>> validators = SchemaValidators({}, "3.0")
        >>> validators.compile({"type": "string", "nullable": True}).errors(None)
        []
        """
        key = (direction, orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
        validator = self._compiled.get(key)
        if validator is None:
            validator = self._compiled[key] = Validator(self.json_schema(schema, direction))
        return validator

    def json_schema(self, schema: Schema | bool, direction: Direction = "request") -> Schema:
        """The standalone JSON Schema 2020-12 that `compile` compiles.

        It carries normalized copies of every schema it references, at their own pointers, so
        `#/components/schemas/X` resolves inside it. Those copies are shared: read, do not edit.

        >>> document = {"components": {"schemas": {"Id": {"type": "integer", "format": "int32"}}}}
        >>> SchemaValidators(document, "3.0").json_schema({"$ref": "#/components/schemas/Id"})
        ... # doctest: +NORMALIZE_WHITESPACE
        {'$schema': 'https://json-schema.org/draft/2020-12/schema',
         '$ref': '#/components/schemas/Id',
         'components': {'schemas': {'Id': {'type': 'integer', 'allOf': [{'format': 'int32',
             'minimum': -2147483648, 'maximum': 2147483647, 'multipleOf': 1}]}}}}
        """
        root = to_json_schema(
            schema, version=self.version, direction=direction, document=self.document
        )
        pointers = self._closure(referenced_pointers(root), direction)
        carried = self._carry(pointers, direction)
        return {"$schema": DRAFT, **root, **carried}

    def _target(self, pointer: str, direction: Direction) -> _Target:
        targets = self._targets[direction]
        if pointer not in targets:
            try:
                node = resolve_pointer(self.document, pointer)
            except RefError:
                node = resolve_pointer(self.document, unquote(pointer))
            normalized = normalize(
                node, version=self.version, direction=direction, document=self.document
            )
            targets[pointer] = _Target(normalized, referenced_pointers(normalized))
        return targets[pointer]

    def _closure(self, pointers: set[str], direction: Direction) -> list[str]:
        found: set[str] = set()
        pending = [p for p in pointers if p.startswith("#")]
        while pending:
            pointer = pending.pop()
            if pointer in found:
                continue
            found.add(pointer)
            pending.extend(
                p for p in self._target(pointer, direction).refs
                if p.startswith("#") and p not in found
            )
        return sorted(found, key=lambda p: (p.count("/"), p))

    def _carry(self, pointers: list[str], direction: Direction) -> Schema:
        carried: Schema = {}
        placed: set[tuple[str, ...]] = set()
        for pointer in pointers:
            tokens = tuple(unescape(unquote(t)) for t in pointer[1:].lstrip("/").split("/"))
            if not pointer[1:] or any(tokens[:n] in placed for n in range(1, len(tokens))):
                continue  # a pointer into a carried schema resolves inside that copy
            placed.add(tokens)
            holder = carried
            for token in tokens[:-1]:
                holder = holder.setdefault(token, {})
            holder[tokens[-1]] = self._target(pointer, direction).schema
        return carried


@dataclass(frozen=True)
class _Target:
    schema: Any
    refs: set[str] = field(default_factory=set)


# --- AJV-style error details ------------------------------------------------------------------

# AJV 8 evaluates a schema's keywords by group, not in the order they are written: the type
# check, untyped keywords, then number, string, array and object keywords, then unevaluated*.
_RANKS = {
    "type": 0, "$ref": 1, "$dynamicRef": 1, "const": 2, "enum": 3, "not": 4, "anyOf": 5,
    "oneOf": 6, "allOf": 7, "if": 8, "then": 8, "else": 8,
    "maximum": 10, "minimum": 11, "exclusiveMaximum": 12, "exclusiveMinimum": 13,
    "multipleOf": 14, "numeric format": 15,
    "maxLength": 20, "minLength": 21, "pattern": 22, "format": 23,
    "maxItems": 30, "minItems": 31, "prefixItems": 32, "items": 33, "contains": 34,
    "minContains": 34, "maxContains": 34, "uniqueItems": 35,
    "maxProperties": 40, "minProperties": 41, "required": 42, "dependentRequired": 43,
    "propertyNames": 44, "additionalProperties": 45, "dependentSchemas": 46, "properties": 47,
    "patternProperties": 48, "discriminator": 49,
    "unevaluatedProperties": 60, "unevaluatedItems": 61,
}
_GROUPS = {"number": 10, "string": 20, "array": 30, "object": 40}
_LAST = 1 << 30
_COMPARISONS = {"maximum": "<=", "minimum": ">=", "exclusiveMaximum": "<", "exclusiveMinimum": ">"}
_LIMIT_MESSAGES = {
    "maxLength": "must NOT have more than {} characters",
    "minLength": "must NOT have fewer than {} characters",
    "maxItems": "must NOT have more than {} items",
    "minItems": "must NOT have fewer than {} items",
    "maxProperties": "must NOT have more than {} properties",
    "minProperties": "must NOT have fewer than {} properties",
}

Key = tuple[tuple[int, ...], ...]


@dataclass
class _Site:
    """Where an error sits: the schema node holding its keyword, the value, the sort key."""

    node: Any
    keyword: str | None
    value: Any
    location: list[str | int]
    key: list[tuple[int, ...]]
    ifs: list[tuple[Key, int, str]] = field(default_factory=list)
    dispatch: tuple[str, int, Key] | None = None
    numeric_format: tuple[str, int, Key] | None = None


class _Report:
    """Turns jsonschema-rs errors into LoopBack's details, ordered as AJV evaluates keywords."""

    def __init__(self, root: Schema, instance: Any) -> None:
        self.root = root
        self.instance = instance
        self.entries: list[tuple[Key, ErrorDetail]] = []

    def details(self, errors: Iterable[jsonschema_rs.ValidationError]) -> list[ErrorDetail]:
        for error in errors:
            self._add_error(error)
        self.entries.sort(key=lambda entry: entry[0])
        seen: set[bytes] = set()
        details: list[ErrorDetail] = []
        for key, detail in self.entries:
            mark = orjson.dumps([key, detail], option=orjson.OPT_SORT_KEYS, default=str)
            if mark not in seen:
                seen.add(mark)
                details.append(detail)
        return details

    def _emit(self, key: Key, location: list[str | int], code: str, message: str,
              info: dict[str, Any]) -> None:
        path = "".join("/" + escape(str(token)) for token in location)
        self.entries.append((key, {"path": path, "code": code, "message": message, "info": info}))

    def _add_error(self, error: jsonschema_rs.ValidationError) -> None:
        try:
            self._translate(error)
        except (KeyError, IndexError, TypeError, ValueError):
            # A path this module does not know how to walk: say what jsonschema-rs says rather
            # than turn a client's mistake into a server error.
            keyword = next((str(t) for t in reversed(error.schema_path) if isinstance(t, str)),
                           "")
            self._emit(((_LAST,),), list(error.instance_path), keyword, str(error.message), {})

    def _translate(self, error: jsonschema_rs.ValidationError) -> None:
        site = self._locate(list(error.evaluation_path), list(error.instance_path))
        for key, depth, clause in site.ifs:
            self._emit(key, site.location[:depth], "if", f'must match "{clause}" schema',
                       {"failingKeyword": clause})
        if site.dispatch is not None:
            self._add_discriminator(site, *site.dispatch)
            return
        if site.numeric_format is not None:
            name, depth, key = site.numeric_format
            self._emit(key, site.location[:depth], "format", f'must match format "{name}"',
                       {"format": name})
            return
        kind = type(error.kind).__name__
        params = error.kind.as_dict()
        if kind in ("AnyOf", "OneOfNotValid", "OneOfMultipleValid"):
            for branch in params.get("context", []):
                for sub_error in branch:
                    self._add_error(sub_error)
        self._add_assertion(site, kind, params, error)

    def _add_discriminator(self, site: _Site, tag: str, depth: int, key: Key) -> None:
        value = site.value.get(tag) if isinstance(site.value, dict) else None
        info: dict[str, Any] = {"error": "tag", "tag": tag}
        message = f'tag "{tag}" must be string'
        if site.keyword != "required":
            info["tagValue"] = value
            if isinstance(value, str):
                info["error"] = "mapping"
                message = f'value of tag "{tag}" must be in oneOf'
        self._emit(key, site.location[:depth], "discriminator", message, info)

    def _add_assertion(self, site: _Site, kind: str, params: dict[str, Any],
                       error: jsonschema_rs.ValidationError) -> None:
        node, keyword, value, location = site.node, site.keyword, site.value, site.location
        key = (*site.key, (_rank(keyword, node),))

        def emit(code: str, message: str, info: dict[str, Any], *order: int) -> None:
            self._emit((*site.key, (_rank(keyword, node), *order)), location, code, message,
                       info)

        if kind == "FalseSchema" and keyword == "items" and "prefixItems" in node:
            limit = len(node["prefixItems"])
            self._emit(key, location[:-1], "items", f"must NOT have more than {limit} items",
                       {"limit": limit})
        elif kind == "FalseSchema":
            self._emit(key, location, "false schema", "boolean schema is false", {})
        elif kind == "PropertyNames":
            name = params["error"].instance
            names = list(value) if isinstance(value, dict) else []
            emit("propertyNames", "property name must be valid", {"propertyName": name},
                 names.index(name) if name in names else 0)
        elif kind == "Type":
            types = node["type"]
            shown = types if isinstance(types, str) else ",".join(types)
            emit("type", f"must be {shown}", {"type": types})
        elif kind == "Required" and keyword == "dependentRequired":
            missing = params["property"]
            for prop, deps in node["dependentRequired"].items():
                if missing in deps and isinstance(value, dict) and prop in value:
                    noun = "property" if len(deps) == 1 else "properties"
                    emit("dependentRequired",
                         f"must have {noun} {', '.join(deps)} when property {prop} is present",
                         {"property": prop, "missingProperty": missing, "depsCount": len(deps),
                          "deps": ", ".join(deps)})
                    break
        elif kind == "Required":
            missing = params["property"]
            order = node["required"].index(missing) if missing in node["required"] else 0
            emit("required", f"must have required property '{missing}'",
                 {"missingProperty": missing}, order)
        elif kind in ("AdditionalProperties", "UnevaluatedProperties"):
            code = "additionalProperties" if kind == "AdditionalProperties" else (
                "unevaluatedProperties")
            noun = "additional" if kind == "AdditionalProperties" else "unevaluated"
            names = list(value) if isinstance(value, dict) else []
            for name in params["unexpected"]:
                emit(code, f"must NOT have {noun} properties",
                     {code[:-len("Properties")] + "Property": name},
                     names.index(name) if name in names else 0)
        elif keyword in _COMPARISONS:
            limit = node[keyword]
            emit(keyword, f"must be {_COMPARISONS[keyword]} {_js_number(limit)}",
                 {"comparison": _COMPARISONS[keyword], "limit": limit})
        elif keyword == "multipleOf":
            emit("multipleOf", f"must be multiple of {_js_number(node[keyword])}",
                 {"multipleOf": node[keyword]})
        elif keyword in _LIMIT_MESSAGES:
            emit(keyword, _LIMIT_MESSAGES[keyword].format(node[keyword]),
                 {"limit": node[keyword]})
        elif keyword == "pattern":
            emit("pattern", f'must match pattern "{node["pattern"]}"',
                 {"pattern": node["pattern"]})
        elif keyword == "format":
            emit("format", f'must match format "{node["format"]}"', {"format": node["format"]})
        elif keyword == "enum":
            emit("enum", "must be equal to one of the allowed values",
                 {"allowedValues": node["enum"]})
        elif keyword == "const":
            emit("const", "must be equal to constant", {"allowedValue": node["const"]})
        elif keyword == "uniqueItems":
            i, j = _duplicate(value, node)
            emit("uniqueItems", f"must NOT have duplicate items (items ## {j} and {i} are "
                 "identical)", {"i": i, "j": j})
        elif kind == "Contains":
            least = node.get("minContains", 1)
            most = node.get("maxContains")
            if most is None:
                emit("contains", f"must contain at least {least} valid item(s)",
                     {"minContains": least})
            else:
                emit("contains",
                     f"must contain at least {least} and no more than {most} valid item(s)",
                     {"minContains": least, "maxContains": most})
        elif kind == "Not":
            emit("not", "must NOT be valid", {})
        elif kind == "AnyOf":
            emit("anyOf", "must match a schema in anyOf", {}, _LAST)
        elif kind in ("OneOfNotValid", "OneOfMultipleValid"):
            passing = [i for i, branch in enumerate(params.get("context", [])) if not branch]
            emit("oneOf", "must match exactly one schema in oneOf",
                 {"passingSchemas": passing[:2] if kind == "OneOfMultipleValid" else None},
                 _LAST)
        elif kind == "UnevaluatedItems":
            count = len(value) - len(params.get("unexpected", [])) if isinstance(
                value, list) else 0
            emit("unevaluatedItems", f"must NOT have more than {count} items", {"limit": count})
        else:  # a fault of the schema itself (an unresolvable $ref, a runaway regex)
            emit(keyword or kind, str(error.message), {})

    def _locate(self, schema_path: list[str | int], instance_path: list[str | int]) -> _Site:
        node: Any = self.root
        value = self.instance
        depth = 0
        key: list[tuple[int, ...]] = []
        site = _Site(node, None, value, instance_path, key)
        index = 0
        case_depth = -1  # steps into a discriminator's dispatch, where `if` is not reported
        while index < len(schema_path):
            keyword = str(schema_path[index])
            if not isinstance(node, dict):
                break
            following = schema_path[index + 1] if index + 1 < len(schema_path) else None
            last = following is None
            if keyword == "$ref" and not last:
                key.append((_RANKS["$ref"],))
                node = _resolve(self.root, node["$ref"])
                index += 1
                continue
            if keyword in ("properties", "patternProperties", "dependentSchemas") and not last:
                name = str(following)
                names = list(node[keyword])
                order = [names.index(name) if name in names else 0]
                if keyword != "dependentSchemas":
                    token = instance_path[depth]
                    if keyword == "patternProperties":
                        order.append(_position(value, token))
                    value = _child(value, token)
                    depth += 1
                key.append((_RANKS[keyword], *order))
                node = node[keyword][name]
                index += 2
                continue
            if keyword in ("allOf", "anyOf", "oneOf", "prefixItems") and not last:
                branch = int(following)  # type: ignore[arg-type]
                child = node[keyword][branch]
                if keyword == "prefixItems":
                    value = _child(value, instance_path[depth])
                    depth += 1
                    key.append((_RANKS[keyword], branch))
                elif is_numeric_format_check(child):
                    site.numeric_format = (
                        child["format"], depth, (*key, (_RANKS["numeric format"], branch))
                    )
                    key.append((_RANKS["numeric format"], branch))
                elif isinstance(child, dict) and "discriminator" in child:
                    key.append((_RANKS["discriminator"], branch))
                else:
                    key.append((_RANKS[keyword], branch))
                node = child
                index += 2
                continue
            if keyword in ("items", "additionalProperties", "contains", "unevaluatedItems",
                           "unevaluatedProperties") and not last:
                token = instance_path[depth]
                key.append((_RANKS[keyword], _position(value, token)))
                value = _child(value, token)
                depth += 1
                node = node[keyword]
                index += 1
                continue
            if keyword in ("not", "if", "then", "else", "propertyNames") and not last:
                if "discriminator" in node and keyword == "then":
                    tag = node["discriminator"]["propertyName"]
                    rest = schema_path[index + 1:]
                    if rest == ["required"] or rest[:3] == ["properties", tag, "enum"]:
                        site.dispatch = (tag, depth, (*key, (_RANKS["discriminator"], 0)))
                        site.keyword = "required" if rest == ["required"] else "enum"
                        site.node, site.value = node, value
                        return site
                    case_depth = len(key) + 2  # dispatch.then.allOf[i] is one case
                elif keyword in ("then", "else") and "discriminator" not in node and (
                        len(key) != case_depth):
                    site.ifs.append(((*key, (_RANKS["if"], _LAST)), depth, keyword))
                key.append((_RANKS[keyword], 1 if keyword == "else" else 0))
                node = node[keyword]
                index += 1
                continue
            site.keyword = keyword
            break
        site.node, site.value = node, value
        return site


def _rank(keyword: str | None, node: Any) -> int:
    if keyword is None:
        return 0
    if keyword == "type" and isinstance(node, dict):
        group = node.get("type")
        if isinstance(group, str) and group in _GROUPS and any(
            _GROUPS[group] <= _RANKS.get(other, -1) < _GROUPS[group] + 10 for other in node
        ):
            return _GROUPS[group] + 9  # AJV checks a lone type beside that type's keywords
    return _RANKS.get(keyword, 70)


def _resolve(root: Schema, ref: str) -> Any:
    try:
        return resolve_pointer(root, ref)
    except RefError:
        return resolve_pointer(root, unquote(ref))


def _child(value: Any, token: str | int) -> Any:
    if isinstance(value, list):
        return value[int(token)]
    if isinstance(value, dict):
        return value.get(str(token))
    return None


def _position(value: Any, token: str | int) -> int:
    if isinstance(value, list):
        return int(token)
    if isinstance(value, dict):
        names = list(value)
        return names.index(token) if token in names else 0
    return 0


def _duplicate(items: Any, node: Schema) -> tuple[int, int]:
    """The pair of equal items AJV names first: it scans from the end of the array."""
    if not isinstance(items, list):
        return 0, 0
    item_types = node.get("items", {}).get("type") if isinstance(node.get("items"), dict) else None
    types = [item_types] if isinstance(item_types, str) else item_types or []
    if types and not {"object", "array"} & set(types):
        seen: dict[bytes, int] = {}
        for i in range(len(items) - 1, -1, -1):
            mark = _canonical(items[i])
            if mark in seen:
                return i, seen[mark]
            seen[mark] = i
        return 0, 0
    for i in range(len(items) - 1, 0, -1):
        for j in range(i - 1, -1, -1):
            if _canonical(items[i]) == _canonical(items[j]):
                return i, j
    return 0, 0


def _canonical(value: Any) -> bytes:
    """Equal JSON values give equal bytes (1 and 1.0 alike, true and 1 not)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    elif isinstance(value, dict):
        value = {k: _Canonical(v) for k, v in value.items()}
    elif isinstance(value, list):
        value = [_Canonical(v) for v in value]
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=_canonical_default)


@dataclass(frozen=True)
class _Canonical:
    value: Any


def _canonical_default(value: Any) -> Any:
    if isinstance(value, _Canonical):
        return orjson.Fragment(_canonical(value.value))
    raise TypeError


def _js_number(number: Any) -> str:
    """A number as JavaScript prints it in a message: 3.0 as "3", 1e-05 as "0.00001"."""
    if isinstance(number, bool) or not isinstance(number, float):
        return str(number)
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    text = repr(number)
    if "e" not in text:
        return text
    if 1e-7 <= abs(number) < 1e21:
        return format(Decimal(text), "f")
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{'+' if int(exponent) > 0 else '-'}{abs(int(exponent))}"
