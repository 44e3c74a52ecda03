"""Compiled schema validators (jsonschema-rs) and their AJV-style error details."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any
from urllib.parse import unquote

import jsonschema_rs

from server.dialect import (
    FORMAT_CHECKERS,
    SCHEMA_LISTS,
    SCHEMA_MAPS,
    SCHEMA_VALUED,
    is_numeric_format_check,
    normalize,
    referenced_pointers,
    to_json_schema,
)
from server.jsontext import dump_json
from server.refs import pointer as pointer_of
from server.refs import resolve_pointer, unescape
from server.types import Direction, ErrorDetail, Schema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ALONE = 32
"""A schema that reaches at most this many others is compiled on its own, with copies of them:
sharing them would save little memory, and a shared document costs each call about 0.3 µs (the
wrapping) and each invalid instance's details a few µs more (jsonschema-rs's errors there).
`SchemaValidators(..., alone=-1)` shares every schema."""

# --- validators -------------------------------------------------------------------------------


class Validator:
    """One compiled schema: `is_valid` for the fast path, `errors` for AJV-style details.

    `Validator(schema)` compiles a standalone JSON Schema of its own. The validators that
    `SchemaValidators` hands out instead share one compiled document per direction (`_Shared`):
    each is one entry of its `properties`, and checks `{key: instance}` against it.
    """

    __slots__ = ("_compiled", "_document", "_key", "_paths", "_root", "_shared")

    def __init__(self, schema: Schema) -> None:
        self._root = self._document = schema
        self._key: str | None = None
        self._shared: _Shared | None = None
        self._compiled: jsonschema_rs.Validator | None = _compile(schema)
        self._paths: dict[tuple[str | int, ...], _Path | None] = {}  # shared by its reports

    @classmethod
    def _entry(cls, shared: _Shared, key: str, root: Schema) -> Validator:
        """The validator of `shared`'s entry `key`, compiled when `shared` next builds."""
        validator = cls.__new__(cls)
        validator._root, validator._document = root, root
        validator._key, validator._shared, validator._compiled = key, shared, None
        validator._paths = {}
        return validator

    def is_valid(self, instance: Any) -> bool:
        """Whether `instance` satisfies the schema: `Validator({"minimum": 1}).is_valid(0)` is
        False."""
        compiled = self._compiled or self._bind()
        if self._key is None:
            return bool(compiled.is_valid(instance))
        return bool(compiled.is_valid({self._key: instance}))

    def errors(self, instance: Any) -> list[ErrorDetail]:
        """Every failure, as AJV (allErrors) reports it for LoopBack; empty when valid.

        >>> Validator({"properties": {"title": {"type": "string"}}}).errors({"title": 1})[0]
        {'path': '/title', 'code': 'type', 'message': 'must be string', 'info': {'type': 'string'}}
        """
        compiled = self._compiled or self._bind()
        checked = instance if self._key is None else {self._key: instance}
        if compiled.is_valid(checked):
            return []
        report = _Report(self._root, instance, self._paths, document=self._document,
                         nested=self._key is not None)
        return report.details(compiled.iter_errors(checked))

    def _bind(self) -> jsonschema_rs.Validator:
        assert self._shared is not None  # a standalone validator is compiled when made
        self._shared.build()
        assert self._compiled is not None
        return self._compiled


def _compile(schema: Schema) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, validate_formats=True, formats=FORMAT_CHECKERS)


class _Shared:
    """The schemas of one direction, compiled together: every normalized target once, however
    many validators reach it, and each validator's own root as one entry of `properties`.

        {"$schema": ..., "components": {"schemas": {...targets...}}, "properties": {"0": root}}

    A validator made after a build is compiled in the next build; those made before keep the
    compiled document they were given, which holds their entries."""

    def __init__(self, validators: SchemaValidators, direction: Direction) -> None:
        self.validators, self.direction = validators, direction
        self.roots: dict[str, Schema] = {}
        self.pointers: set[str] = set()
        self.pending: list[Validator] = []

    def add(self, root: Schema, pointers: list[str]) -> Validator:
        key = str(len(self.roots))
        self.roots[key] = root
        self.pointers.update(pointers)
        validator = Validator._entry(self, key, root)
        self.pending.append(validator)
        return validator

    def build(self) -> None:
        """Compile the document if a validator waits for it, and hand it to those waiting."""
        if not self.pending:
            return
        pointers = sorted(self.pointers, key=lambda p: (p.count("/"), p))
        document = {"$schema": DRAFT, **self.validators._carry(pointers, self.direction),
                    "properties": dict(self.roots)}
        compiled = _compile(document)
        for validator in self.pending:
            validator._compiled, validator._document = compiled, document
        self.pending = []


class SchemaValidators:
    """Compiles the Schema Objects of one bundled OpenAPI document, sharing normalized targets.

    >>> validators = SchemaValidators({"components": {"schemas": {"Id": {"type": "integer"}}}},
    ...                               "3.1")
    >>> validators.compile({"$ref": "#/components/schemas/Id"}).is_valid("1")
    False
    """

    def __init__(self, document: dict[str, Any], version: str, *,
                 alone: int = ALONE) -> None:
        self.document = document
        self.version = version
        self.alone = alone
        self._targets: dict[Direction, dict[str, _Target]] = {"request": {}, "response": {}}
        self._compiled: dict[tuple[Direction, bytes], Validator] = {}
        self._shared = {"request": _Shared(self, "request"), "response": _Shared(self, "response")}

    def compile(self, schema: Schema | bool, direction: Direction = "request") -> Validator:
        """A validator for `schema`; identical schemas share one validator.

        The schemas a direction's validators reference are compiled once, together, at `build`
        (or at the first validation after it), unless `schema` reaches at most `alone` others
        (`ALONE`); a fault of the schema or of any it references (say a `pattern` that is no
        regex) raises `ValueError` here.

        >>> validators = SchemaValidators({}, "3.0")
        >>> validators.compile({"type": "string", "nullable": True}).errors(None)
        []
        """
        key = (direction, dump_json(schema, sort_keys=True))
        validator = self._compiled.get(key)
        if validator is None:
            validator = self._compiled[key] = self._validator(schema, direction)
        return validator

    def build(self) -> None:
        """Compile, now, whatever `compile` has handed out since the last build; `App` calls it
        at start-up so that no request pays for it."""
        for shared in self._shared.values():
            shared.build()

    def _validator(self, schema: Schema | bool, direction: Direction) -> Validator:
        root = to_json_schema(
            schema, version=self.version, direction=direction, document=self.document
        )
        pointers = self._closure(referenced_pointers(root), direction)
        targets = [self._target(pointer, direction) for pointer in pointers]
        local = _Target(root)
        for target in (local, *targets):
            if target.fault is not None:
                raise ValueError(target.fault)
        if len(pointers) <= self.alone or any(
                target.anchored for target in (local, *targets)) or not all(
                _shareable(pointer) for pointer in pointers):
            # Few targets: sharing would save little, and costs each call (see ALONE).
            # `$anchor`s of unrelated schemas could clash in a shared document, and a target
            # outside the OpenAPI document's own places could stand for a keyword at its root.
            return Validator({"$schema": DRAFT, **root, **self._carry(pointers, direction)})
        return self._shared[direction].add(root, pointers)

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
            node = resolve_pointer(self.document, pointer)
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
    """A normalized schema, what it references, and what compiling it alone found: its fault
    (the message), and whether it names `$anchor`s (then it is compiled apart, see `_Shared`)."""

    schema: Any
    refs: set[str] = field(default_factory=set)
    fault: str | None = field(init=False, default=None)
    anchored: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        anchored: list[bool] = []
        alone = _without_refs(self.schema, anchored)
        object.__setattr__(self, "anchored", bool(anchored))
        try:
            _compile({"$schema": DRAFT, **alone} if isinstance(alone, dict) else alone)
        except ValueError as exc:
            object.__setattr__(self, "fault", str(exc))


def _without_refs(node: Any, anchored: list[bool]) -> Any:
    """A copy of a normalized schema with its `$ref`s left out, to compile it alone; notes in
    `anchored` any `$anchor`, `$dynamicAnchor` or `$dynamicRef` it meets."""
    if not isinstance(node, dict):
        return node
    copy: Schema = {}
    for key, value in node.items():
        if key in _ANCHORS:
            anchored.append(True)
        if key in ("$ref", "$dynamicRef"):
            continue
        if key in SCHEMA_VALUED:
            copy[key] = _without_refs(value, anchored)
        elif key in SCHEMA_LISTS and isinstance(value, list):
            copy[key] = [_without_refs(item, anchored) for item in value]
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            copy[key] = {name: _without_refs(item, anchored) for name, item in value.items()}
        else:
            copy[key] = value
    return copy


_ANCHORS = frozenset({"$anchor", "$dynamicAnchor", "$dynamicRef"})


def _shareable(pointer: str) -> bool:
    """Whether a target can be carried in a shared document: it lives under `components`,
    `paths`, `webhooks` or an `x-` extension, none of them a JSON Schema keyword."""
    head = pointer[2:].split("/", 1)[0]
    return head in ("components", "paths", "webhooks") or head.startswith("x-")


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
_MAX_PATHS = 4096  # recursive schemas have unboundedly many evaluation paths
_BY_KEY = itemgetter(0)

Key = tuple[tuple[int, ...], ...]
_Entry = tuple[Key, str, str, str, dict[str, Any]]  # key, then the detail's path, code, message, info


@dataclass(frozen=True, slots=True)
class _Path:
    """What an error's evaluation path alone decides, worked out once per validator.

    `own` sorts the error's detail; where the path steps over an array item or an instance's
    own property name it holds `()`, filled per error by `steps`: (index in `own`, instance
    depth, head of the sort entry). A `(..., n)` below refers to `own[:n]`."""

    node: Any
    keyword: str | None
    depth: int  # instance tokens the path steps through
    steps: tuple[tuple[int, int, tuple[int, ...]], ...]
    ifs: tuple[tuple[int, int, str], ...]  # (n, depth, clause)
    dispatch: tuple[str, int, int] | None  # (tag, depth, n): a discriminator's tag or mapping
    numeric_format: tuple[str, int, int] | None  # (format, depth, n)
    own: Key  # ends with the keyword's rank
    location: list[str | int] | None  # the instance location, if the path alone names it
    pointer: str  # and its JSON pointer
    plain: bool  # no `if`, discriminator or numeric format to report


def _path(root: Schema, schema_path: list[str | int], document: Schema | None = None) -> _Path:
    """Walks an evaluation path from `root` through the compiled schema, as AJV would have
    reached it; its `$ref`s resolve in `document` (by default `root`)."""
    document = root if document is None else document
    node: Any = root
    depth = 0
    key: list[tuple[int, ...]] = []
    steps: list[tuple[int, int, tuple[int, ...]]] = []
    ifs: list[tuple[int, int, str]] = []
    numeric_format: tuple[str, int, int] | None = None
    found: str | None = None
    location: list[str | int] | None = []
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
            node = resolve_pointer(document, node["$ref"])
            index += 1
            continue
        if keyword in ("properties", "patternProperties", "dependentSchemas") and not last:
            name = str(following)
            names = list(node[keyword])
            head: tuple[int, ...] = (_RANKS[keyword], names.index(name) if name in names else 0)
            if keyword == "patternProperties":
                steps.append((len(key), depth, head))
                head = ()
                location = None
            elif keyword == "properties" and location is not None:
                location = [*location, name]
            key.append(head)
            if keyword != "dependentSchemas":
                depth += 1
            node = node[keyword][name]
            index += 2
            continue
        if keyword in ("allOf", "anyOf", "oneOf", "prefixItems") and not last:
            branch = int(following)  # type: ignore[arg-type]
            child = node[keyword][branch]
            if keyword == "prefixItems":
                depth += 1
                key.append((_RANKS[keyword], branch))
                location = None if location is None else [*location, branch]
            elif is_numeric_format_check(child):
                key.append((_RANKS["numeric format"], branch))
                numeric_format = (child["format"], depth, len(key))
            elif isinstance(child, dict) and "discriminator" in child:
                key.append((_RANKS["discriminator"], branch))
            else:
                key.append((_RANKS[keyword], branch))
            node = child
            index += 2
            continue
        if keyword in ("items", "additionalProperties", "contains", "unevaluatedItems",
                       "unevaluatedProperties") and not last:
            steps.append((len(key), depth, (_RANKS[keyword],)))
            key.append(())
            depth += 1
            location = None
            node = node[keyword]
            index += 1
            continue
        if keyword in ("not", "if", "then", "else", "propertyNames") and not last:
            if "discriminator" in node and keyword == "then":
                tag = node["discriminator"]["propertyName"]
                rest = schema_path[index + 1:]
                if rest == ["required"] or rest[:3] == ["properties", tag, "enum"]:
                    return _Path(node, "required" if rest == ["required"] else "enum", depth,
                                 tuple(steps), tuple(ifs), (tag, depth, len(key)),
                                 numeric_format, tuple(key), None, "", False)
                case_depth = len(key) + 2  # dispatch.then.allOf[i] is one case
            elif keyword in ("then", "else") and "discriminator" not in node and (
                    len(key) != case_depth):
                ifs.append((len(key), depth, keyword))
            key.append((_RANKS[keyword], 1 if keyword == "else" else 0))
            node = node[keyword]
            index += 1
            continue
        found = keyword
        break
    return _Path(node, found, depth, tuple(steps), tuple(ifs), None, numeric_format,
                 (*key, (_rank(found, node),)), location, pointer_of(location or []),
                 not (ifs or numeric_format))


class _Report:
    """Turns jsonschema-rs errors into LoopBack's details, ordered as AJV evaluates keywords.

    What an error's evaluation path alone decides is kept in `paths`, which a validator's reports
    share (None: a path it cannot walk); only the instance's part is done per error. The walk
    starts at `root`; `$ref`s resolve in `document`. `nested`: the errors are those of a shared
    document (`_Shared`), whose paths begin with the validator's entry, left out here."""

    __slots__ = ("document", "entries", "instance", "nested", "paths", "root")

    def __init__(self, root: Schema, instance: Any,
                 paths: dict[tuple[str | int, ...], _Path | None] | None = None, *,
                 document: Schema | None = None, nested: bool = False) -> None:
        self.root, self.instance = root, instance
        self.document = root if document is None else document
        self.nested = nested
        self.paths = {} if paths is None else paths
        self.entries: list[_Entry] = []

    def details(self, errors: Iterable[jsonschema_rs.ValidationError]) -> list[ErrorDetail]:
        for error in errors:
            self._add_error(error)
        entries = self.entries
        entries.sort(key=_BY_KEY)
        details: list[ErrorDetail] = []
        last = None
        for index, (key, path, code, message, info) in enumerate(entries):
            if key != last or not _repeats(entries, index):
                details.append({"path": path, "code": code, "message": message, "info": info})
            last = key
        return details

    def _add_error(self, error: jsonschema_rs.ValidationError) -> None:
        instance, entries = self.instance, self.entries
        location: list[str | int] = error.instance_path
        evaluation: list[str | int] = error.evaluation_path
        if self.nested:  # ["properties", key, ...] and [key, ...]
            location, evaluation = location[1:], evaluation[2:]
        try:
            path = self._walk(evaluation)
            if len(location) < path.depth:
                raise IndexError(path.depth)
            key = _fill(path, instance, location) if path.steps else path.own
            if not path.plain and self._add_surroundings(path, key, location):
                return
            kind = type(error.kind).__name__
            if kind in ("AnyOf", "OneOfNotValid", "OneOfMultipleValid"):
                for branch in error.kind.as_dict().get("context", []):
                    for sub_error in branch:
                        self._add_error(sub_error)
            pointer = path.pointer if location == path.location else pointer_of(location)
            _add_assertion(entries, path, key, pointer, instance, location, kind, error)
        except (KeyError, IndexError, TypeError, ValueError):
            # A path this module does not know how to walk: say what jsonschema-rs says rather
            # than turn a client's mistake into a server error.
            keyword = next((str(t) for t in reversed(error.schema_path) if isinstance(t, str)),
                           "")
            entries.append((((_LAST,),), pointer_of(location), keyword, str(error.message), {}))

    def _walk(self, schema_path: list[str | int]) -> _Path:
        """The schema side of an error at `schema_path`, walked once per validator."""
        marker = tuple(schema_path)
        if marker in self.paths:
            walked = self.paths[marker]
        else:
            walked = None
            with suppress(KeyError, IndexError, TypeError, ValueError):
                walked = _path(self.root, schema_path, self.document)
            if len(self.paths) < _MAX_PATHS:
                self.paths[marker] = walked
        if walked is None:
            raise KeyError(marker)  # the caller's fallback
        return walked

    def _add_surroundings(self, path: _Path, key: Key, location: list[str | int]) -> bool:
        """The `if` details of the `then`/`else` an error sits in, and a discriminator's or
        numeric format's own detail: True when that detail replaces the error's."""
        entries = self.entries
        for n, depth, clause in path.ifs:
            entries.append(((*key[:n], (_RANKS["if"], _LAST)), pointer_of(location[:depth]), "if",
                            f'must match "{clause}" schema', {"failingKeyword": clause}))
        if path.dispatch is not None:  # the tag is missing (`required`) or unknown (`enum`)
            tag, depth, n = path.dispatch
            value = _value_at(self.instance, location, path.depth)
            value = value.get(tag) if isinstance(value, dict) else None
            info: dict[str, Any] = {"error": "tag", "tag": tag}
            message = f'tag "{tag}" must be string'
            if path.keyword != "required":
                info["tagValue"] = value
                if isinstance(value, str):
                    info["error"] = "mapping"
                    message = f'value of tag "{tag}" must be in oneOf'
            entries.append(((*key[:n], (_RANKS["discriminator"], 0)), pointer_of(location[:depth]),
                            "discriminator", message, info))
            return True
        if path.numeric_format is not None:
            name, depth, n = path.numeric_format
            entries.append((key[:n], pointer_of(location[:depth]), "format",
                            f'must match format "{name}"', {"format": name}))
            return True
        return False


def _fill(path: _Path, instance: Any, location: list[str | int]) -> Key:
    """`path.own` with the positions of the items and property names it steps over."""
    parts = list(path.own)
    for index, depth, head in path.steps:
        value, token = _value_at(instance, location, depth), location[depth]
        parts[index] = (*head, int(token) if isinstance(value, list) else _index(value, token))
    return tuple(parts)


def _add_assertion(entries: list[_Entry], path: _Path, key: Key, pointer: str, instance: Any,
                   location: list[str | int], kind: str,
                   error: jsonschema_rs.ValidationError) -> None:
    """The details of one failed keyword. `key` sorts them, `order` places one among its
    keyword's others (the n-th required property). Few read the failing value itself."""
    node, keyword = path.node, path.keyword
    order: int | None = None
    info: dict[str, Any]
    if kind == "Type":
        types = node["type"]
        code, info = "type", {"type": types}
        message = f"must be {types if isinstance(types, str) else ','.join(types)}"
    elif kind == "Required" and keyword != "dependentRequired":
        missing = error.kind.property  # type: ignore[attr-defined]
        order = node["required"].index(missing) if missing in node["required"] else 0
        code, message = "required", f"must have required property '{missing}'"
        info = {"missingProperty": missing}
    elif kind == "FalseSchema" and keyword == "items" and "prefixItems" in node:
        limit = len(node["prefixItems"])
        code, message, info = "items", f"must NOT have more than {limit} items", {"limit": limit}
        pointer = pointer_of(location[:-1])
    elif kind == "FalseSchema":
        code, message, info = "false schema", "boolean schema is false", {}
    elif kind == "PropertyNames":
        name = error.kind.as_dict()["error"].instance
        order = _index(_value_at(instance, location, path.depth), name)
        code, message = "propertyNames", "property name must be valid"
        info = {"propertyName": name}
    elif kind == "Required":  # of dependentRequired
        missing = error.kind.as_dict()["property"]
        value = _value_at(instance, location, path.depth)
        for prop, deps in node["dependentRequired"].items():
            if missing in deps and isinstance(value, dict) and prop in value:
                noun = "property" if len(deps) == 1 else "properties"
                entries.append((key, pointer, "dependentRequired",
                                f"must have {noun} {', '.join(deps)} when property {prop} is present",
                                {"property": prop, "missingProperty": missing,
                                 "depsCount": len(deps), "deps": ", ".join(deps)}))
                return
        return
    elif kind in ("AdditionalProperties", "UnevaluatedProperties"):
        noun = "additional" if kind == "AdditionalProperties" else "unevaluated"
        value = _value_at(instance, location, path.depth)
        for name in error.kind.as_dict()["unexpected"]:
            entries.append(((*key[:-1], (*key[-1], _index(value, name))), pointer,
                            f"{noun}Properties", f"must NOT have {noun} properties",
                            {f"{noun}Property": name}))
        return
    elif keyword in _COMPARISONS:
        limit, comparison = node[keyword], _COMPARISONS[keyword]
        code, message = keyword, f"must be {comparison} {_js_number(limit)}"
        info = {"comparison": comparison, "limit": limit}
    elif keyword == "multipleOf":
        code, message = keyword, f"must be multiple of {_js_number(node[keyword])}"
        info = {"multipleOf": node[keyword]}
    elif keyword in _LIMIT_MESSAGES:
        code, message = keyword, _LIMIT_MESSAGES[keyword].format(node[keyword])
        info = {"limit": node[keyword]}
    elif keyword in ("pattern", "format"):
        code, message = keyword, f'must match {keyword} "{node[keyword]}"'
        info = {keyword: node[keyword]}
    elif keyword == "enum":
        code, message = "enum", "must be equal to one of the allowed values"
        info = {"allowedValues": node["enum"]}
    elif keyword == "const":
        code, message, info = "const", "must be equal to constant", {"allowedValue": node["const"]}
    elif keyword == "uniqueItems":
        i, j = _duplicate(_value_at(instance, location, path.depth), node)
        code, info = "uniqueItems", {"i": i, "j": j}
        message = f"must NOT have duplicate items (items ## {j} and {i} are identical)"
    elif kind == "Contains":
        least, most = node.get("minContains", 1), node.get("maxContains")
        code, message, info = "contains", f"must contain at least {least}", {"minContains": least}
        if most is not None:
            message, info["maxContains"] = f"{message} and no more than {most}", most
        message += " valid item(s)"
    elif kind == "Not":
        code, message, info = "not", "must NOT be valid", {}
    elif kind == "AnyOf":
        code, message, info, order = "anyOf", "must match a schema in anyOf", {}, _LAST
    elif kind in ("OneOfNotValid", "OneOfMultipleValid"):
        code, message, order = "oneOf", "must match exactly one schema in oneOf", _LAST
        passing = [i for i, branch in enumerate(error.kind.as_dict().get("context", []))
                   if not branch]
        info = {"passingSchemas": passing[:2] if kind == "OneOfMultipleValid" else None}
    elif kind == "UnevaluatedItems":
        unexpected = error.kind.as_dict().get("unexpected", [])
        value = _value_at(instance, location, path.depth)
        count = len(value) - len(unexpected) if isinstance(value, list) else 0
        code, message = "unevaluatedItems", f"must NOT have more than {count} items"
        info = {"limit": count}
    else:  # a fault of the schema itself (an unresolvable $ref, a runaway regex)
        code, message, info = keyword or kind, str(error.message), {}
    if order is not None:
        key = (*key[:-1], (*key[-1], order))
    entries.append((key, pointer, code, message, info))


def _repeats(entries: list[_Entry], index: int) -> bool:
    """Whether `entries[index]` repeats an earlier entry, which sorts just before it."""
    entry = entries[index]
    for other in reversed(entries[:index]):
        if other[0] != entry[0]:
            return False
        if other[1:4] == entry[1:4] and dump_json(other[4], sort_keys=True, default=str) == (
                dump_json(entry[4], sort_keys=True, default=str)):
            return True
    return False


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


def _value_at(instance: Any, location: list[str | int], depth: int) -> Any:
    """The value at the first `depth` steps of an instance location."""
    value = instance
    for token in location[:depth]:
        if isinstance(value, list):
            value = value[int(token)]
        else:
            value = value.get(str(token)) if isinstance(value, dict) else None
    return value


def _index(value: Any, name: str | int) -> int:
    """Where a property name comes in an object, as AJV meets it."""
    names = list(value) if isinstance(value, dict) else []
    return names.index(name) if name in names else 0


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
    marks = [_canonical(item) for item in items]
    for i in range(len(items) - 1, 0, -1):
        for j in range(i - 1, -1, -1):
            if marks[i] == marks[j]:
                return i, j
    return 0, 0


def _canonical(value: Any) -> bytes:
    """Equal JSON values give equal bytes (1 and 1.0 alike, true and 1 not), at any depth."""
    return dump_json(_normalized(value), sort_keys=True, default=str)


def _normalized(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


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
