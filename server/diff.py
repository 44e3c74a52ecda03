"""`charter diff OLD NEW`: what a spec change breaks for the clients of the old one.

Both specs are loaded as Charter serves them (bundled, every `$ref` internal, the entities'
derived operations included) and compared operation by operation; a path's parameter names do
not matter (`/pets/{id}` is `/pets/{petId}`). What each rule finds is a `Change`; `RULES` is the
table of them, each with its level:

- `breaking`: a client written against OLD may now fail: an operation removed; a parameter,
  a request body or a body property newly required, or a property removed from a body that
  refuses others; a request's type, enum, format or bounds narrowed;
  a request media type dropped; a response property, a response media type or the success
  status changed away; security added where there was none, or scopes added to it.
- `warning`: a client may be surprised: a response enum, or a response type, widened.
- `info`: the rest worth knowing: operations added, optional parameters added.

No engine on PyPI or the npm registry fits: oasdiff, the well-kept one, is a Go program with
no package here; the npm ones need Node at run time, and PyPI's are young one-person projects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard

from server.data.entities import declares_entities
from server.parameters import merge_parameters
from server.refs import deref
from server.security import requirements_of
from server.spec import Spec, SpecError, load_spec

Level = Literal["breaking", "warning", "info"]

RULES: dict[str, tuple[Level, str]] = {
    "operation-removed": ("breaking", "an operation is gone"),
    "operation-added": ("info", "a new operation"),
    "parameter-required": ("breaking", "a parameter is new and required, or now required"),
    "parameter-added": ("info", "a new optional parameter"),
    "request-body-required": ("breaking", "the request body is now required"),
    "request-media-type-removed": ("breaking", "a request media type is no longer accepted"),
    "request-property-required": ("breaking", "a request body property is new and required, "
                                              "or now required"),
    "request-property-removed": ("breaking", "a request body property is gone where others "
                                             "are refused"),
    "request-type-narrowed": ("breaking", "a request value's types are fewer"),
    "request-enum-narrowed": ("breaking", "a request value's enum lost values"),
    "request-bound-narrowed": ("breaking", "a request value's bounds are tighter"),
    "response-property-removed": ("breaking", "a success response property is gone, or no "
                                              "longer always there"),
    "response-media-type-removed": ("breaking", "a success response media type is gone"),
    "success-status-changed": ("breaking", "the success status is another"),
    "security-added": ("breaking", "credentials are now required, or more scopes"),
    "response-type-widened": ("warning", "a success response value may be of more types"),
    "response-enum-widened": ("warning", "a success response value's enum has new values"),
}
"""Every rule: its level and what it finds."""

LEVELS: tuple[Level, ...] = ("breaking", "warning", "info")

# Bounds a request value may not tighten: the larger lower bound, or the smaller upper one.
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_TEMPLATE = re.compile(r"\{[^}/]*\}")
_WIDER_FORMATS = frozenset({("int32", "int64"), ("float", "double")})
"""A format changed to one of these takes every value it took before."""


@dataclass(frozen=True)
class Change:
    rule: str
    where: str
    """The operation, and where in it: `POST /pets body /tag`."""
    detail: str

    @property
    def level(self) -> Level:
        return RULES[self.rule][0]


def read(path: Path | str) -> Spec:
    """A spec as Charter serves it: its entities' derived operations included. Raises
    `SpecError` naming every fault."""
    spec = load_spec(path)
    if declares_entities(spec.document):
        from server.data.model import read_model

        spec, _, problems = read_model(spec)
        if problems:
            raise SpecError(problems)
    return spec


def compare(old: Spec, new: Spec) -> list[Change]:
    """Every change from `old` to `new` that a rule finds, operation by operation."""
    before, after = _operations(old), _operations(new)
    changes: list[Change] = []
    for key, (label, operation, item) in before.items():
        if key not in after:
            changes.append(Change("operation-removed", label, "clients calling it get 404 or 405"))
            continue
        new_label, new_operation, new_item = after[key]
        changes += _Operation(old, new, (label, new_label), operation, item, new_operation,
                              new_item).changes()
    changes += [Change("operation-added", label, "") for key, (label, _, _) in after.items()
                if key not in before]
    return sorted(changes, key=lambda change: (LEVELS.index(change.level), change.where))


def table(changes: list[Change]) -> str:
    """The changes as a table, the breaking first."""
    if not changes:
        return "charter diff: no changes that clients can see.\n"
    counts = {level: sum(change.level == level for change in changes) for level in LEVELS}
    head = ", ".join(f"{count} {level}" for level, count in counts.items() if count)
    rows = [("LEVEL", "RULE", "WHERE", "CHANGE")] + [
        (change.level, change.rule, change.where, change.detail) for change in changes]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
             + "  " + row[3] for row in rows]
    return f"charter diff: {head}\n" + "\n".join(f"  {line.rstrip()}" for line in lines) + "\n"


def _operations(spec: Spec) -> dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]]:
    return {(method, _TEMPLATE.sub("{}", path)): (f"{method.upper()} {path}", operation, item)
            for path, method, operation, item in spec.operations()}


class _Operation:
    """One operation in both specs: the rules that look inside it."""

    def __init__(self, old: Spec, new: Spec, labels: tuple[str, str],
                 operation: dict[str, Any], item: dict[str, Any], new_operation: dict[str, Any],
                 new_item: dict[str, Any]) -> None:
        self.old, self.new = old.document, new.document
        self.old_label, self.label = labels
        self.operation, self.item = operation, item
        self.new_operation, self.new_item = new_operation, new_item

    def changes(self) -> list[Change]:
        return [*self._parameters(), *self._body(), *self._responses(), *self._security()]

    def _parameters(self) -> Iterator[Change]:
        old_path, new_path = self.old_label.split(" ", 1)[1], self.label.split(" ", 1)[1]
        before = {_key(p, old_path): p
                  for p in merge_parameters(self.old, self.item.get("parameters") or [],
                                            self.operation.get("parameters") or [])}
        after = merge_parameters(self.new, self.new_item.get("parameters") or [],
                                 self.new_operation.get("parameters") or [])
        for parameter in after:
            where = f"{self.label} {parameter['in']} {parameter['name']}"
            old = before.get(_key(parameter, new_path))
            if old is None:
                rule = "parameter-required" if parameter.get("required") else "parameter-added"
                yield Change(rule, where, "new" + (", required" if parameter.get("required")
                                                  else ""))
                continue
            if parameter.get("required") and not old.get("required"):
                yield Change("parameter-required", where, "was optional")
            if "schema" in old and "schema" in parameter:
                yield from _Schemas(self.old, self.new, where, "request").compare(
                    old["schema"], parameter["schema"])

    def _body(self) -> Iterator[Change]:
        old = deref(self.old, self.operation.get("requestBody") or {})
        new = deref(self.new, self.new_operation.get("requestBody") or {})
        if not new:
            return
        where = f"{self.label} body"
        if new.get("required") and not old.get("required"):
            yield Change("request-body-required", where, "was optional" if old else "new")
        yield from self._content(old, new, where, "request")

    def _responses(self) -> Iterator[Change]:
        old_status = _success(self.operation)
        new_status = _success(self.new_operation)
        if old_status is not None and old_status != new_status:
            yield Change("success-status-changed", f"{self.label} response",
                         f"{old_status} -> {new_status or 'none'}")
            return
        if old_status is None:
            return
        old = deref(self.old, (self.operation.get("responses") or {})[old_status])
        new = deref(self.new, (self.new_operation.get("responses") or {})[old_status])
        yield from self._content(old, new, f"{self.label} response {old_status}", "response")

    def _content(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str,
                 direction: Literal["request", "response"]) -> Iterator[Change]:
        """A body's or a response's media types: each of OLD's still there, its schema
        compared."""
        new_content = new.get("content") or {}
        for media_type, media in (old.get("content") or {}).items():
            new_media = new_content.get(media_type)
            if new_media is None:
                yield Change(f"{direction}-media-type-removed", where, media_type)
            elif (isinstance(media, Mapping) and "schema" in media
                    and isinstance(new_media, Mapping) and "schema" in new_media):
                yield from _Schemas(self.old, self.new, where, direction).compare(
                    media["schema"], new_media["schema"])

    def _security(self) -> Iterator[Change]:
        old = _alternatives(requirements_of(self.old, self.operation))
        new = _alternatives(requirements_of(self.new, self.new_operation))
        where = f"{self.label} security"
        if not new or frozenset() in new:
            return  # anyone may call it
        if not old or frozenset() in old:
            yield Change("security-added", where, _shown(new))
            return
        # Each old way in must still be one: the same schemes, no scope more.
        if not all(any(alternative <= before for alternative in new) for before in old):
            yield Change("security-added", where, f"{_shown(old)} -> {_shown(new)}")


class _Schemas:
    """Two schemas compared in one direction, recursively through properties and items."""

    def __init__(self, old: dict[str, Any], new: dict[str, Any], where: str,
                 direction: Literal["request", "response"]) -> None:
        self.old, self.new, self.where, self.direction = old, new, where, direction
        self.seen: set[tuple[int, int]] = set()

    def compare(self, old: Any, new: Any, at: str = "") -> Iterator[Change]:
        old, new = deref(self.old, old), deref(self.new, new)
        if (id(old), id(new)) in self.seen:
            return  # a recursive schema, already compared here
        self.seen.add((id(old), id(new)))
        old, new = _flat(self.old, old), _flat(self.new, new)
        where = f"{self.where} {at or '/'}"
        old_types, new_types = _types(old), _types(new)
        request = self.direction == "request"
        if request and new_types is not None and (old_types is None or old_types - new_types):
            yield Change("request-type-narrowed", where, f"{_show(old_types)} -> "
                                                         f"{_show(new_types)}")
        if not request and old_types is not None and (new_types is None or new_types - old_types):
            yield Change("response-type-widened", where, f"{_show(old_types)} -> "
                                                         f"{_show(new_types)}")
        old_enum, new_enum = _enum(old), _enum(new)
        if request and new_enum is not None and (old_enum is None or old_enum - new_enum):
            yield Change("request-enum-narrowed", where,
                         "now only " + ", ".join(sorted(map(repr, new_enum))) if old_enum is None
                         else "no longer " + ", ".join(sorted(map(repr, old_enum - new_enum))))
        if not request and old_enum is not None and (new_enum is None or new_enum - old_enum):
            yield Change("response-enum-widened", where,
                         "now any value" if new_enum is None
                         else "now also " + ", ".join(sorted(map(repr, new_enum - old_enum))))
        if request:
            yield from self._bounds(old, new, where)
        yield from self._properties(old, new, at)
        if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
            yield from self.compare(old["items"], new["items"], f"{at}/items")

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any],
                where: str) -> Iterator[Change]:
        for keys, sign in ((_LOWER, 1), (_UPPER, -1)):
            for key in keys:
                before, after = old.get(key), new.get(key)
                if not _number(after) or (_number(before) and sign * (after - before) <= 0):
                    continue  # no bound now, or one no tighter
                yield Change("request-bound-narrowed", where,
                             f"{key} {before if _number(before) else 'none'} -> {after}")
        for key in ("pattern", "format"):
            if (isinstance(new.get(key), str) and new.get(key) != old.get(key)
                    and (old.get(key), new[key]) not in _WIDER_FORMATS):
                yield Change("request-bound-narrowed", where,
                             f"{key} {old.get(key, 'none')!s} -> {new[key]}")

    def _properties(self, old: Mapping[str, Any], new: Mapping[str, Any],
                    at: str) -> Iterator[Change]:
        old_properties = old.get("properties") or {}
        new_properties = new.get("properties") or {}
        old_required, new_required = set(old.get("required") or []), set(new.get("required") or [])
        if self.direction == "request":
            for name in sorted(new_required - old_required):
                if name in new_properties or name not in old_properties:
                    detail = "was optional" if name in old_properties else "new"
                    yield Change("request-property-required", f"{self.where} {at}/{name}", detail)
            if new.get("additionalProperties") is False:
                for name in old_properties:
                    if name not in new_properties:
                        yield Change("request-property-removed", f"{self.where} {at}/{name}",
                                     "sent, it is refused")
        else:
            for name in old_properties:
                if name not in new_properties:
                    yield Change("response-property-removed", f"{self.where} {at}/{name}",
                                 "gone")
                elif name in old_required and name not in new_required:
                    yield Change("response-property-removed", f"{self.where} {at}/{name}",
                                 "no longer required")
        for name, schema in old_properties.items():
            if name in new_properties:
                yield from self.compare(schema, new_properties[name], f"{at}/{name}")


def _key(parameter: Mapping[str, Any], path: str) -> tuple[str, str | int]:
    """A parameter as clients know it: a path parameter by its place in the template (its name
    is the server's), a header by its name in lower case."""
    name, where = str(parameter["name"]), str(parameter["in"])
    if where == "path":
        names = [match.group()[1:-1] for match in _TEMPLATE.finditer(path)]
        return where, names.index(name) if name in names else name
    return where, name.lower() if where == "header" else name


def _flat(document: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    """A schema with its `$ref` followed and its `allOf` members' properties, required and
    types merged in: the object a client sees."""
    schema = deref(document, schema)
    if not isinstance(schema, Mapping):
        return {}
    members = [_flat(document, member) for member in schema.get("allOf") or []]
    if not members:
        return dict(schema)
    merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
    for member in members:
        merged["properties"] = {**(member.get("properties") or {}),
                                **(merged.get("properties") or {})}
        merged["required"] = sorted({*(merged.get("required") or []),
                                     *(member.get("required") or [])})
        for key, value in member.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    return merged


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types a schema allows (None: any); `number` includes `integer`."""
    declared = schema.get("type")
    if declared is None:
        return None
    types = set(declared) if isinstance(declared, list) else {declared}
    if schema.get("nullable") is True:
        types.add("null")
    if "number" in types:
        types.add("integer")
    return {str(kind) for kind in types}


def _enum(schema: Mapping[str, Any]) -> set[Any] | None:
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    if not isinstance(values, list):
        return None
    return {repr(value) if isinstance(value, dict | list) else value for value in values}


def _show(types: set[str] | None) -> str:
    if types is None:
        return "any"
    shown = sorted(types - {"integer"} if "number" in types else types)
    return "|".join(shown)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _success(operation: Mapping[str, Any]) -> str | None:
    codes = sorted(str(code) for code in operation.get("responses") or {})
    success = [code for code in codes if code.startswith("2")]
    return success[0] if success else None


def _alternatives(requirements: list[Any]) -> list[frozenset[str]]:
    """Each alternative as its schemes and scopes (`bearer`, `oauth:read`)."""
    return [frozenset(f"{name}:{scope}" if scope else name for name, scopes in alt.items()
                      for scope in (scopes or [None]))
            for alt in requirements if isinstance(alt, Mapping)]


def _shown(alternatives: list[frozenset[str]]) -> str:
    return " or ".join("+".join(sorted(alternative)) for alternative in alternatives)
