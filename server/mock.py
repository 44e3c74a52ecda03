"""The mock: operations nothing implements, answered from the contract (`charter serve --mock`).

Each unbound operation's documented responses are compiled at start-up into `Documented`
answers: their media types, the examples that satisfy their schemas (an example that does not
is left out, with a warning naming it), and their headers. A request picks one, as Prism's
`Prefer` conventions say:

- `Prefer: code=404` answers the response documented for that status; for a status the
  server answers itself (404, 405, 431, 500, 501; 400, 401, 403, 408, 413, 415 and 422 where
  they apply), whose error it publishes where the spec documents no such status, that error;
  else the documented range (`4XX`), else `default`. Without it, the success response;
- `Prefer: example=cat` answers the example of that name;
- `Prefer: dynamic=true` answers data generated from the schema, new on each request.

Otherwise the answer is the response's first example, or else one composed of its schema's
parts' examples, defaults and enums where that satisfies it (as Prism does), or else data
generated from its schema once (derandomized: the same on every start) and kept. Generated data comes from
hypothesis-jsonschema, filtered by the same validator that checks the operation's responses,
so whatever the mock sends satisfies the contract; where no value does, it answers 501. The
answer says where it came from in `X-Charter-Mock` (`example=cat`, `example`, `composed`,
`generated`, `generated; dynamic`; `error` for the server's own).

A path a mocked DELETE answered with success is gone: its operations answer their documented
404 from then on, until a PUT to it, or a POST to it or to its collection, succeeds (the
contract's `use_after_free` rule, which a mock without memory breaks; a mock's new member may
well have a deleted one's id).

The request itself is checked first, as for any operation: routing, security, parameters and
body. Operations with handlers (mixed mode) and the entities' derived operations (real CRUD, on
the mock's in-memory database) are never mocked.
"""

from __future__ import annotations

import logging
import random
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from server.binding import Invoke
from server.errors import HttpError, NotImplementedYet, UnknownPreference
from server.jsontext import dump_json
from server.publish import error_statuses
from server.refs import deref, escape, resolve_pointer
from server.requests import Request
from server.responses import Response
from server.security import requirements_of
from server.types import Schema
from server.validation import SchemaValidators, Validator

logger = logging.getLogger("charter")

MOCK_HEADER = "x-charter-mock"
"""The response header that says an answer is the mock's, and where it came from."""

BATCH = 24
"""Values generated at once for `dynamic=true` answers, taken in turn; another batch is
generated when they are used up."""

STATIC_BATCH = 8
"""Values generated for a static answer, chosen among them: few, for the first answer waits."""

MAX_DELETED = 10_000
"""The most deleted paths the mock remembers; beyond, the oldest is forgotten."""

_NOTHING = object()


@dataclass(frozen=True)
class Content:
    """One documented media type of a response: its valid examples, by name, in the spec's
    order (`None` names the `example`), and the schema to generate from."""

    media_type: str
    examples: tuple[tuple[str | None, Any], ...]
    schema: Schema | None
    validator: Validator | None
    left_out: tuple[str, ...] = ()
    """The names of the examples that do not satisfy the schema."""
    composed: Any = None
    """Without examples: one composed of the schema's parts' (`_NOTHING` when there is none that
    satisfies the schema), as Prism does."""

    @property
    def is_json(self) -> bool:
        return "json" in self.media_type


@dataclass(frozen=True)
class Header:
    name: str
    example: Any
    schema: Schema | None
    validator: Validator | None


@dataclass(frozen=True)
class Documented:
    """One documented response: `code` as the spec writes it (`200`, `4XX`, `default`)."""

    code: str
    contents: tuple[Content, ...]
    headers: tuple[Header, ...]

    def status(self, preferred: int | None = None) -> int:
        if self.code.isdigit():
            return int(self.code)
        if preferred is not None:
            return preferred
        return int(self.code.replace("XX", "00")) if self.code.endswith("XX") else 200


def preferences(header: str) -> dict[str, str]:
    """RFC 7240's `Prefer` header, as Prism reads it: its `name=value` preferences.

    >>> preferences('code=404, example="not found"; dynamic=true')
    {'code': '404', 'example': 'not found', 'dynamic': 'true'}
    """
    found: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        name, equals, value = part.partition("=")
        if equals:
            found.setdefault(name.strip().lower(), value.strip().strip('"'))
    return found


class Generator:
    """Values generated from JSON Schemas with hypothesis-jsonschema, each checked by the
    operation's own validator. One generation at a time (Hypothesis is not made for threads);
    each runs in a worker thread, off the event loop."""

    def __init__(self, validators: SchemaValidators) -> None:
        from hypothesis_jsonschema import from_schema  # the mock's dependency, loaded for it

        self._from_schema = from_schema
        self._validators = validators
        self._lock = threading.Lock()
        self._static: dict[str, Any] = {}
        self._pools: dict[str, list[Any]] = {}

    async def static(self, key: str, schema: Schema, validator: Validator | None,
                     accept: Callable[[Any], bool] | None = None) -> Any:
        """The same value for `key` every time, and on every start."""
        if key not in self._static:
            batch = await self._generate(schema, validator, accept, STATIC_BATCH,
                                         derandomize=True)
            # Hypothesis starts from the simplest values ([] and ""): the median by size is a
            # more telling example of the schema.
            self._static[key] = sorted(batch, key=lambda value: len(dump_json(value)))[
                len(batch) // 2]
        return self._static[key]

    async def dynamic(self, key: str, schema: Schema, validator: Validator | None,
                      accept: Callable[[Any], bool] | None = None) -> Any:
        """Another value for `key` each time."""
        pool = self._pools.get(key)
        if not pool:
            pool = self._pools[key] = await self._generate(schema, validator, accept, BATCH,
                                                           derandomize=False)
            random.shuffle(pool)
        return pool.pop()

    async def _generate(self, schema: Schema, validator: Validator | None,
                        accept: Callable[[Any], bool] | None, count: int, *,
                        derandomize: bool) -> list[Any]:
        json_schema = self._validators.json_schema(schema, "response")
        return await anyio.to_thread.run_sync(self._draw, json_schema, validator, accept, count,
                                              derandomize)

    def _draw(self, json_schema: Schema, validator: Validator | None,
              accept: Callable[[Any], bool] | None, count: int,
              derandomize: bool) -> list[Any]:
        from hypothesis import HealthCheck, Phase, given, settings

        drawn: list[Any] = []
        failure: Exception | None = None
        # Plausible data first: printable ASCII text, and objects without properties the schema
        # does not name. Where the schema needs more, the whole of what it allows.
        for schema, codec in ((tidied(json_schema), "ascii"), (json_schema, "utf-8")):

            def keep(value: Any) -> bool:
                return ((validator is None or validator.is_valid(value))
                        and (accept is None or accept(value)))

            strategy = self._from_schema(schema, allow_x00=False, codec=codec)
            if codec == "ascii":  # control characters made letters, then checked again
                strategy = strategy.map(_printed)

            @settings(max_examples=count, database=None, deadline=None, derandomize=derandomize,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                      print_blob=False)
            @given(strategy.filter(keep))
            def draw(value: Any) -> None:
                drawn.append(value)

            with self._lock, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    draw()
                except Exception as exc:
                    failure = exc
            if drawn:
                return drawn
        reason = (f": {type(failure).__name__}: {str(failure).splitlines()[0]}"
                  if failure is not None and str(failure) else "")
        raise NotImplementedYet(f"The mock found no value that satisfies the schema{reason}.")


def tidied(schema: Any) -> Any:
    """`schema` (a standalone JSON Schema, its `$ref`s local) with `additionalProperties: false`
    wherever an object names its properties and says nothing of others: what generated data
    should look like, not all that it may. An `allOf`'s members (and what their `$ref`s name)
    are left as they are, since each would refuse the others' properties; the object holding
    the `allOf` names them all instead.

    >>> tidied({"type": "object", "properties": {"a": {"type": "object", "properties": {}}}})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'type': 'object', 'properties': {'a': {'type': 'object', 'properties': {},
     'additionalProperties': False}}, 'additionalProperties': False}
    >>> tidied({"$defs": {"A": {"properties": {"a": {}}}},
    ...         "allOf": [{"$ref": "#/$defs/A"}, {"properties": {"b": {}}}]})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'$defs': {'A': {'properties': {'a': {}}}}, 'allOf': [{'$ref': '#/$defs/A'},
     {'properties': {'b': {}}}], 'properties': {'a': True, 'b': True},
     'additionalProperties': False}
    """
    targets: set[str] = set()
    _member_targets(schema, targets)
    return _tidy(schema, schema, targets, "", member=False)


_OTHERS = frozenset({"additionalProperties", "patternProperties", "unevaluatedProperties"})


def _member_targets(node: Any, found: set[str]) -> None:
    """The pointers that `allOf` members `$ref`."""
    if isinstance(node, list):
        for item in node:
            _member_targets(item, found)
    elif isinstance(node, dict):
        for member in node.get("allOf") or []:
            if isinstance(member, dict) and isinstance(member.get("$ref"), str):
                found.add(member["$ref"].removeprefix("#"))
        for value in node.values():
            _member_targets(value, found)


def _tidy(node: Any, root: Any, targets: set[str], at: str, *, member: bool) -> Any:
    if isinstance(node, list):
        return [_tidy(item, root, targets, f"{at}/{index}", member=member)
                for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    made = {key: _tidy(value, root, targets, f"{at}/{escape(key)}", member=key == "allOf")
            for key, value in node.items()}
    if member or at in targets or _OTHERS & set(made):
        return made
    names = _property_names(made, root)
    if names is not None and ("properties" in made or "allOf" in made):
        if "allOf" in made:
            made["properties"] = {**dict.fromkeys(names, True), **(made.get("properties") or {})}
        made["additionalProperties"] = False
    return made


def _property_names(node: dict[str, Any], root: Any) -> list[str] | None:
    """The properties an object schema names, its `allOf` members' too; None where a member
    allows others (then nothing is tidied there)."""
    names = list(node.get("properties") or {})
    for member in node.get("allOf") or []:
        if isinstance(member, dict) and isinstance(member.get("$ref"), str):
            try:
                member = resolve_pointer(root, member["$ref"].removeprefix("#"))
            except (KeyError, IndexError, ValueError, TypeError):
                return None
        if not isinstance(member, dict) or (_OTHERS & set(member)
                                            and member.get("additionalProperties") is not False):
            return None
        if "allOf" in member:
            more = _property_names(member, root)
            if more is None:
                return None
            names += more
        names += [name for name in member.get("properties") or {} if name not in names]
    return names


class Mock:
    """The mock's answers, compiled per operation at start-up (`invoke`); `warnings` names the
    examples left out because they do not satisfy their schemas."""

    def __init__(self, document: Mapping[str, Any], validators: SchemaValidators) -> None:
        self.document = document
        self.validators = validators
        self.generator = Generator(validators)
        self.warnings: list[str] = []
        self.deleted: OrderedDict[str, None] = OrderedDict()
        """The paths a mocked DELETE answered with success, the oldest first."""

    def invoke(self, label: str, operation: Mapping[str, Any]) -> Invoke:
        """The invoke that answers `operation` from its documented responses."""
        responses = operation.get("responses") or {}
        documented = {str(code).upper() if str(code) != "default" else "default":
                      self._documented(label, str(code), deref(self.document, raw))
                      for code, raw in responses.items()}
        codes = ", ".join(documented) or "none"
        method, path = label.split(" ", 1)
        path_item = deref(self.document, (self.document.get("paths") or {}).get(path) or {})
        # The errors Charter answers itself, and publishes where the spec has no response of
        # that exact status: the mock answers those as the server does.
        own = frozenset(str(status) for status in error_statuses(
            operation, path_item, unbound=True,
            secured=any(requirements_of(self.document, operation)))) - set(documented)

        async def mocked(request: Request, kwargs: dict[str, Any]) -> Response:
            prefer = preferences(request.headers.get("prefer", ""))
            code = prefer.get("code")
            if code is None and method not in ("PUT", "POST") and request.path in self.deleted:
                # What the mock deleted stays deleted, until a PUT or a POST makes it again.
                if "404" not in documented:
                    raise _own_error(404, f"{request.path} was deleted.")
                code = "404"
            if code in own:
                raise _own_error(int(code), f"The server's own {code}, as Prefer: code={code} "
                                            "asks.")
            if not documented:
                raise NotImplementedYet(f"{label} documents no response for the mock to give.")
            answer, status = _choose(documented, code, label, codes)
            response = await self._answer(label, answer, status, prefer, request)
            if 200 <= response.status < 300:
                self._remember(method, request.path)
            return response

        return mocked

    def _remember(self, method: str, path: str) -> None:
        if method == "DELETE":
            self.deleted[path] = None
            if len(self.deleted) > MAX_DELETED:
                self.deleted.popitem(last=False)
        elif method == "PUT":
            self.deleted.pop(path, None)
        elif method == "POST":  # a collection's new member may take any name: even a deleted one
            prefix = path.rstrip("/") + "/"
            for gone in [gone for gone in self.deleted if gone == path or gone.startswith(prefix)]:
                del self.deleted[gone]

    def _documented(self, label: str, code: str, response: Mapping[str, Any]) -> Documented:
        contents = []
        for media_type, media in (response.get("content") or {}).items():
            media = media if isinstance(media, Mapping) else {}
            schema = media.get("schema")
            json_like = "json" in media_type
            validator = (self.validators.compile(schema, "response")
                         if schema is not None and json_like else None)
            examples, left_out = [], []
            for name, value in _examples(self.document, media):
                fault = self._fault(value, media_type, validator)
                if fault is None:
                    examples.append((name, value))
                    continue
                left_out += [name] if name is not None else []
                self.warnings.append(f"{label} response {code} {media_type} example"
                                     + (f" {name!r}" if name is not None else "")
                                     + f" {fault}; the mock leaves it out")
            composed = _NOTHING
            if not examples and schema is not None and validator is not None:
                composed = _composed(self.document, schema, set())
                if composed is not _NOTHING and not validator.is_valid(composed):
                    composed = _NOTHING
            contents.append(Content(media_type, tuple(examples), schema, validator,
                                    tuple(left_out), composed))
        headers = []
        for name, raw in (response.get("headers") or {}).items():
            header = deref(self.document, raw)
            if name.lower() == "content-type" or not isinstance(header, Mapping):
                continue
            schema = header.get("schema")
            example = next((value for _, value in _examples(self.document, header)), _NOTHING)
            headers.append(Header(name.lower(), example, schema,
                                  self.validators.compile(schema, "response")
                                  if schema is not None else None))
        # JSON first: what a client most likely reads, and what the contract checks.
        contents.sort(key=lambda content: not content.is_json)
        return Documented(code, tuple(contents), tuple(headers))

    @staticmethod
    def _fault(value: Any, media_type: str, validator: Validator | None) -> str | None:
        """Why an example cannot be sent as `media_type`; None when it can."""
        if "json" not in media_type and not isinstance(value, str):
            return f"is not text, so it cannot be sent as {media_type}"
        if validator is not None and not validator.is_valid(value):
            first = validator.errors(value)[0]
            return f"does not satisfy its schema ({first['path'] or '/'} {first['message']})"
        return None

    async def _answer(self, label: str, answer: Documented, status: int,
                      prefer: Mapping[str, str], request: Request) -> Response:
        name = prefer.get("example")
        dynamic = prefer.get("dynamic", "").lower() == "true"
        contents = _acceptable(answer.contents, request.headers.get("accept", ""))
        if name is not None:
            named = [content for content in answer.contents
                     if any(found == name for found, _ in content.examples)]
            if not named:
                if any(name in content.left_out for content in answer.contents):
                    raise UnknownPreference(
                        f"Prefer: example={name}: {label}'s example {name!r} for {status} does "
                        "not satisfy its schema, so the mock never sends it (the start-up "
                        "warnings say why).")
                names = sorted({found for content in answer.contents
                                for found, _ in content.examples if found is not None})
                raise UnknownPreference(
                    f"Prefer: example={name}: {label} documents no such example for "
                    f"{status}" + (f"; it has {', '.join(names)}." if names else "."))
            contents = tuple(named)
        key = f"{label} {answer.code}"
        headers: dict[str, str] = {}
        for header in answer.headers:
            value = await self._header(f"{key} {header.name}", header)
            if value is not None:
                headers[header.name] = value
        if not contents:
            headers[MOCK_HEADER] = "example" if not answer.contents else "generated"
            return Response.raw(status, headers, b"")
        content = contents[0]
        value, source = await self._value(f"{key} {content.media_type}", content, name, dynamic)
        headers[MOCK_HEADER] = source
        headers["content-type"] = content.media_type
        if content.is_json:
            return Response.raw(status, headers, dump_json(value))
        if isinstance(value, str):
            return Response.raw(status, headers, value.encode("utf-8"))
        return Response.raw(status, headers, b"")

    async def _value(self, key: str, content: Content, name: str | None,
                     dynamic: bool) -> tuple[Any, str]:
        if name is not None:
            return next(value for found, value in content.examples if found == name), \
                f"example={name}"
        if not dynamic and not content.examples and content.composed is not _NOTHING:
            return content.composed, "composed"
        if content.schema is not None and (dynamic or not content.examples):
            accept = None if content.is_json else _is_text
            if dynamic:
                return (await self.generator.dynamic(key, content.schema, content.validator,
                                                     accept), "generated; dynamic")
            return (await self.generator.static(key, content.schema, content.validator,
                                                accept), "generated")
        if content.examples:
            found, value = content.examples[0]
            return value, "example" if found is None else f"example={found}"
        return None if content.is_json else "", "generated"

    async def _header(self, key: str, header: Header) -> str | None:
        if header.example is not _NOTHING:
            return _header_text(header.example)
        if header.schema is None:
            return None
        value = await self.generator.static(key, header.schema, header.validator,
                                            lambda value: _header_safe(_header_text(value)))
        return _header_text(value)


def _choose(documented: Mapping[str, Documented], code: str | None, label: str,
            codes: str) -> tuple[Documented, int]:
    """The response a request is answered with, and its status."""
    if code is not None:
        if not (code.isdigit() and len(code) == 3 and 100 <= int(code) <= 599):
            raise UnknownPreference(f"Prefer: code={code}: not an HTTP status code.")
        for candidate in (code, f"{code[0]}XX", "default"):
            if candidate in documented:
                return documented[candidate], int(code)
        raise UnknownPreference(f"Prefer: code={code}: {label} documents no {code} response; "
                                f"it documents {codes}.")
    successes = sorted(code for code in documented if code.startswith("2"))
    chosen = (successes[0] if successes else "default" if "default" in documented
              else next(iter(documented)))
    return documented[chosen], documented[chosen].status()


def _own_error(status: int, message: str) -> HttpError:
    """Charter's error of `status` (its class directly under `HttpError`), marked the mock's."""
    kind = next((kind for kind in HttpError.__subclasses__() if kind.status == status),
                HttpError)
    error = kind.__new__(kind)
    HttpError.__init__(error, message, headers={MOCK_HEADER: "error"})
    return error


def _examples(document: Mapping[str, Any], media: Mapping[str, Any]
              ) -> Iterable[tuple[str | None, Any]]:
    """A media type's (or header's) examples: `example`, then `examples` by name (those with a
    `value`; `externalValue` is not fetched), then its schema's `example` or first `examples`."""
    if "example" in media:
        yield None, media["example"]
    for name, example in (media.get("examples") or {}).items():
        example = deref(document, example)
        if isinstance(example, Mapping) and "value" in example:
            yield str(name), example["value"]
    schema = deref(document, media.get("schema") or {})
    if isinstance(schema, Mapping):
        if "example" in schema:
            yield None, schema["example"]
        elif isinstance(schema.get("examples"), list) and schema["examples"]:
            yield None, schema["examples"][0]


def _acceptable(contents: tuple[Content, ...], accept: str) -> tuple[Content, ...]:
    """The contents the Accept header takes, in the mock's order; all of them when it takes
    none (a 406 is documented nowhere)."""
    ranges = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    if not ranges:
        return contents

    def accepted(media_type: str) -> bool:
        kind = media_type.split(";")[0].strip().lower()
        return any(r in ("*/*", kind) or (r.endswith("/*") and kind.startswith(r[:-1]))
                   for r in ranges)

    return tuple(content for content in contents if accepted(content.media_type)) or contents


def _composed(document: Mapping[str, Any], schema: Any, seen: set[int]) -> Any:
    """A value built from a schema's own `example`s, `default`s and first `enum` values, its
    properties' and items' too, as Prism builds one; `_NOTHING` where a required part has none.

    >>> _composed({}, {"type": "object", "required": ["a"], "properties": {
    ...     "a": {"type": "string", "example": "x"}, "b": {"type": "integer"}}}, set())
    {'a': 'x'}
    """
    schema = deref(document, schema)
    if not isinstance(schema, Mapping) or id(schema) in seen:
        return _NOTHING
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    seen = seen | {id(schema)}
    members = schema.get("allOf") or []
    if isinstance(schema.get("properties"), Mapping) or members:
        made: dict[str, Any] = {}
        required: set[str] = set(schema.get("required") or [])
        for member in [schema, *members]:
            member = deref(document, member)
            if not isinstance(member, Mapping):
                return _NOTHING
            required |= set(member.get("required") or [])
            for name, part in (member.get("properties") or {}).items():
                value = _composed(document, part, seen)
                if value is not _NOTHING:
                    made.setdefault(name, value)
        return made if made and required <= set(made) else _NOTHING
    if "items" in schema:
        item = _composed(document, schema["items"], seen)
        return [item] if item is not _NOTHING else _NOTHING
    return _NOTHING


def _printed(value: Any) -> Any:
    """A value with each ASCII control character in its text (keys too) made a letter.

    >>> _printed({"a\x01": ["\x1fb"]})
    {'ab': ['fb']}
    """
    if isinstance(value, str):
        return value.translate(_LETTERS)
    if isinstance(value, list):
        return [_printed(item) for item in value]
    if isinstance(value, dict):
        return {_printed(key): _printed(item) for key, item in value.items()}
    return value


_LETTERS = {code: ord("a") + code % 26 for code in [*range(32), 127]}


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _header_text(value: Any) -> str:
    """A header's value as the simple style writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_header_text(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key},{_header_text(item)}" for key, item in value.items())
    return str(value)


def _header_safe(text: str) -> bool:
    """Visible ASCII, spaces inside: what every client reads back unchanged."""
    return text == text.strip() and all(" " <= char <= "~" for char in text)
