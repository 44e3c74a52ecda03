"""Request bodies: media-type matching, one parser per declared media type, body validation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import orjson
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from server.coercion import Coercer, CoercionError, compile_coercer
from server.errors import (
    MalformedRequestBody,
    MissingRequiredParameter,
    UnsupportedMediaType,
    ValidationFailed,
)
from server.jsontext import load_json
from server.refs import deref
from server.styles import (
    STYLES,
    Query,
    Reader,
    Shape,
    StyleError,
    compile_reader,
    parse_query,
    read_deep_object,
)
from server.types import ErrorDetail, Schema

if TYPE_CHECKING:
    from server.validation import SchemaValidators, Validator

Kind = Literal["json", "form", "multipart", "text", "bytes"]
_Decoded = tuple[Any, list[ErrorDetail]]
"""A decoded body, and the coercion failures of its fields (AJV-style, paths from the root)."""
_Decode = Callable[[bytes, Mapping[str, str]], _Decoded]

# LoopBack's word for word (validation/request-body.validator.ts).
BODY_REQUIRED_MESSAGE = "Request body is required"

# With no `content` at all, LoopBack accepts JSON and urlencoded objects.
_DEFAULT_CONTENT: dict[str, Any] = {
    "application/json": {"schema": {"type": "object"}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
}
_UTF8 = frozenset({"utf-8", "utf8"})
_ALL_KINDS: tuple[Kind, ...] = ("json", "form", "multipart", "text", "bytes")

# Ranks for "most specific declared entry wins"; exact `type/subtype` entries are a dict lookup.
_RANK_JSON_SUFFIX, _RANK_TYPE_WILDCARD, _RANK_ANY = 2, 1, 0


@dataclass(frozen=True)
class UploadFile:
    """One file part of a `multipart/form-data` body, held in memory."""

    filename: str | None
    content_type: str | None
    content: bytes


@dataclass(frozen=True, eq=False)
class _Entry:
    """One declared media type: how to decode it and how to validate the result."""

    type: str
    subtype: str
    rank: int
    decoders: Mapping[Kind, _Decode]
    validator: Validator | None

    def covers(self, type_: str, subtype: str) -> bool:
        if self.rank == _RANK_JSON_SUFFIX:
            return subtype.endswith("+json")
        if self.rank == _RANK_TYPE_WILDCARD:
            return type_ == self.type
        return True


@dataclass(frozen=True, eq=False)
class BodyParser:
    """The compiled request body of one operation; `parse` only looks things up."""

    required: bool
    media_types: list[str]
    _exact: Mapping[str, _Entry]
    _ranges: tuple[_Entry, ...]

    def parse(self, content_type: str | None, body: bytes) -> Any:
        """Decode and validate one request body; `None` for an empty optional body.

        >>> from server.validation import SchemaValidators
        >>> parser = compile_body({"content": {"text/plain": {}}}, SchemaValidators({}, "3.1"), {})
        >>> parser.parse("text/plain; charset=utf-8", b"hi")
        'hi'
        """
        # As LoopBack does, a body without a Content-Type is taken to be JSON.
        shown = content_type or "application/json"
        media, type_, subtype, params, kind = _media_type(shown)
        entry = self._exact.get(media)
        if entry is None and type_ and subtype:
            entry = next((e for e in self._ranges if e.covers(type_, subtype)), None)
        if not body and not (kind == "form" and content_type and entry is not None):
            # An empty body is "no body", whatever its Content-Type says (never a 415); but for
            # a documented urlencoded form, which encodes an empty form as nothing: validated.
            if self.required:
                raise MissingRequiredParameter("body", BODY_REQUIRED_MESSAGE)
            return None
        if entry is None:
            raise UnsupportedMediaType(shown, self.media_types)
        value, problems = entry.decoders[kind](body, params)
        if value is None and self.required:
            # LoopBack treats a JSON `null` like a missing body.
            raise MissingRequiredParameter("body", BODY_REQUIRED_MESSAGE)
        if entry.validator is not None and kind != "bytes":
            errors = entry.validator.errors(_stand_in(value) if kind == "multipart" else value)
            if problems:
                errors = problems + _outside(errors, problems)
            if errors:
                raise ValidationFailed(errors)
        return value


def compile_body(
    request_body: dict[str, Any] | None,
    validators: SchemaValidators,
    document: Mapping[str, Any],
) -> BodyParser | None:
    """Compile an operation's Request Body Object (or a `$ref` to one); `None` without one.

    >>> from server.validation import SchemaValidators
    >>> parser = compile_body(
    ...     {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    ...     SchemaValidators({}, "3.1"), {})
    >>> parser.parse("application/json; charset=utf-8", b'{"title": "milk"}')
    {'title': 'milk'}
    >>> parser.parse("text/plain", b"milk")
    Traceback (most recent call last):
    server.UnsupportedMediaType: Content-type text/plain does not match [application/json].
    """
    if request_body is None:
        return None
    spec = deref(document, request_body)
    content: dict[str, Any] = spec.get("content") or _DEFAULT_CONTENT
    exact: dict[str, _Entry] = {}
    ranges: list[_Entry] = []
    for declared, raw_media in content.items():
        media = deref(document, raw_media) or {}
        entry = _compile_entry(declared, media, validators, document)
        if entry.rank > _RANK_JSON_SUFFIX:
            exact.setdefault(f"{entry.type}/{entry.subtype}", entry)
            if entry.type == "application" and entry.subtype == "json":
                ranges.append(replace(entry, rank=_RANK_JSON_SUFFIX))
        else:
            ranges.append(entry)
    ranges.sort(key=lambda e: -e.rank)  # stable: declaration order among equals
    return BodyParser(
        required=bool(spec.get("required", False)),
        media_types=list(content),
        _exact=exact,
        _ranges=tuple(ranges),
    )


def _compile_entry(
    declared: str, media: Mapping[str, Any], validators: SchemaValidators,
    document: Mapping[str, Any],
) -> _Entry:
    type_, _, subtype = declared.split(";")[0].strip().lower().partition("/")
    schema: Schema | None = media.get("schema")
    encoding: Mapping[str, Any] = media.get("encoding") or {}
    if type_ == "*":
        rank, kinds = _RANK_ANY, list(_ALL_KINDS)
    elif subtype == "*":
        rank = _RANK_TYPE_WILDCARD
        kinds = ["text"] if type_ == "text" else list(_ALL_KINDS)
    else:
        rank, kinds = _RANK_JSON_SUFFIX + 1, [_kind_of(type_, subtype)]
    decoders: dict[Kind, _Decode] = {}
    for kind in kinds:
        decoders[kind] = _compile_decoder(kind, schema, encoding, document, validators)
    validator = None
    if schema is not None and kinds != ["bytes"]:
        validator = validators.compile(schema, direction="request")
    return _Entry(type_, subtype, rank, decoders, validator)


def _kind_of(type_: str, subtype: str) -> Kind:
    """Which parser a concrete media type gets."""
    if subtype == "json" or subtype.endswith("+json"):
        return "json"
    if type_ == "application" and subtype == "x-www-form-urlencoded":
        return "form"
    if type_ == "multipart" and subtype == "form-data":
        return "multipart"
    if type_ == "text":
        return "text"
    return "bytes"


def _compile_decoder(
    kind: Kind, schema: Schema | None, encoding: Mapping[str, Any], document: Mapping[str, Any],
    validators: SchemaValidators,
) -> _Decode:
    if kind == "json":
        return _decode_json
    if kind == "text":
        return _decode_text_body
    if kind == "bytes":
        return _decode_bytes
    fields = _FormFields(schema, encoding, document, validators, urlencoded=kind == "form")
    return fields.decode_urlencoded if kind == "form" else fields.decode_multipart


@lru_cache(maxsize=256)
def _media_type(content_type: str) -> tuple[str, str, str, Mapping[str, str], Kind]:
    """`(media, type, subtype, parameters, kind)` of a Content-Type; clients repeat a few."""
    media, params = _split_content_type(content_type)
    type_, slash, subtype = media.partition("/")
    if not slash:
        type_ = subtype = ""
    return media, type_, subtype, MappingProxyType(params), _kind_of(type_, subtype)


def _split_content_type(value: str) -> tuple[str, dict[str, str]]:
    media, params = parse_options_header(value)
    return media.decode("latin-1"), {
        key.decode("latin-1"): raw.decode("latin-1") for key, raw in params.items()
    }


def _decode_bytes(body: bytes, params: Mapping[str, str]) -> _Decoded:
    return body, []


def _decode_text_body(body: bytes, params: Mapping[str, str]) -> _Decoded:
    return _decode_text(body, params.get("charset", "utf-8").lower(), "request body"), []


def _decode_text(data: bytes, charset: str, what: str) -> str:
    try:
        return data.decode(charset)
    except LookupError:
        raise MalformedRequestBody(f'Unsupported charset "{charset}" for the {what}.') from None
    except UnicodeDecodeError as exc:
        raise MalformedRequestBody(
            f"The {what} is not valid {charset}: {exc.reason} at byte {exc.start}."
        ) from None


def _decode_json(body: bytes, params: Mapping[str, str]) -> _Decoded:
    return _load_json(body, params.get("charset", "utf-8").lower(), "request body"), []


def _load_json(data: bytes, charset: str, where: str) -> Any:
    """Parse JSON exactly as sent: no type coercion, ever."""
    source: bytes | str = data
    if charset not in _UTF8:
        source = _decode_text(data, charset, where)
    elif data.startswith(b"\xef\xbb\xbf"):
        source = data[3:]  # RFC 8259 lets a parser ignore a UTF-8 byte order mark
    try:
        return load_json(source)
    except orjson.JSONDecodeError as exc:
        if isinstance(source, bytes) and "UTF-8" in exc.msg:
            _decode_text(source, "utf-8", where)  # raises, naming the byte
        raise MalformedRequestBody(
            f"Malformed JSON in {where}: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None


@dataclass(frozen=True)
class _Field:
    """How one urlencoded or multipart field becomes its value."""

    coerce: Coercer | None
    shape: Shape
    is_binary: bool
    has_type: bool
    read: Reader  # urlencoded only: the field's style/explode reader


class _FormFields:
    """The field plan of one urlencoded or multipart schema, compiled once."""

    def __init__(
        self, schema: Schema | None, encoding: Mapping[str, Any], document: Mapping[str, Any],
        validators: SchemaValidators, *, urlencoded: bool,
    ) -> None:
        properties, additional = _properties(schema, document)
        # OpenAPI: `style`/`explode` apply to urlencoded bodies only, never to multipart.
        self.fields = {
            name: _compile_field(name, prop, encoding.get(name) if urlencoded else None, document,
                                 validators)
            for name, prop in properties.items()
        }
        self.additional = (_compile_field("", additional, None, document, validators)
                           if additional is not None else None)

    def decode_urlencoded(self, body: bytes, params: Mapping[str, str]) -> _Decoded:
        query = parse_query(_decode_text(body, params.get("charset", "utf-8").lower(),
                                         "request body"))
        result: dict[str, Any] = {}
        problems: list[ErrorDetail] = []
        for name, field in self.fields.items():
            raw = field.read(query)
            if raw is not None:
                result[name] = _coerce_field(field, name, raw, problems)
        for key, values in query.items():
            if key not in self.fields and key.partition("[")[0] not in self.fields:
                result[key] = _coerce_field(self.additional, key, _single(values), problems)
        return result, problems

    def decode_multipart(self, body: bytes, params: Mapping[str, str]) -> _Decoded:
        boundary = params.get("boundary")
        if not boundary:
            raise MalformedRequestBody("Missing boundary in multipart/form-data Content-Type.")
        grouped: dict[str, list[Any]] = {}
        as_text: dict[str, bool] = {}
        for headers, content in _split_parts(body, boundary):
            name, filename = _disposition(headers)
            value, is_text = self._part_value(name, filename, headers, content)
            grouped.setdefault(name, []).append(value)
            as_text[name] = as_text.get(name, True) and is_text
        result: dict[str, Any] = {}
        problems: list[ErrorDetail] = []
        for name, values in grouped.items():
            field = self.fields.get(name, self.additional)
            raw = values if field is not None and field.shape == "array" else _single(values)
            # Only text parts are coerced: JSON parts and files are taken as they are.
            result[name] = _coerce_field(field, name, raw, problems) if as_text[name] else raw
        return result, problems

    def _part_value(
        self, name: str, filename: str | None, headers: Mapping[str, str], content: bytes,
    ) -> tuple[Any, bool]:
        """A part's value, and whether it is text to coerce."""
        field = self.fields.get(name, self.additional)
        raw_type = headers.get("content-type")
        if (field is not None and field.is_binary) or (
            filename is not None and (field is None or not field.has_type)
        ):
            return UploadFile(filename, raw_type, content), False
        _, _, _, part_params, kind = _media_type(raw_type or "text/plain")
        charset = part_params.get("charset", "utf-8").lower()
        # OpenAPI's default contentType for an object property is application/json.
        if kind == "json" or (
            raw_type is None and field is not None and field.shape == "object"
        ):
            return _load_json(content, charset, f'multipart field "{name}"'), False
        return _decode_text(content, charset, f'multipart field "{name}"'), True


def _single(values: list[Any]) -> Any:
    """One value as itself; a repeated key as the list of its values."""
    return values[0] if len(values) == 1 else values


def _coerce_field(field: _Field | None, name: str, raw: Any, problems: list[ErrorDetail]) -> Any:
    if field is None or field.coerce is None:
        return raw
    try:
        return field.coerce(raw)
    except CoercionError as exc:
        problems.append(exc.within(name).detail)
        return raw


def _split_parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body into `(headers, content)` pairs; header names are lower case."""
    parts: list[tuple[dict[str, str], bytes]] = []
    headers: dict[str, str] = {}
    header_field: list[bytes] = []
    header_value: list[bytes] = []
    chunks: list[bytes] = []

    def on_part_begin() -> None:
        headers.clear()
        chunks.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.append(data[start:end])

    def on_header_end() -> None:
        name = b"".join(header_field).decode("latin-1").strip().lower()
        headers[name] = b"".join(header_value).decode("latin-1").strip()
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        parts.append((dict(headers), b"".join(chunks)))

    parser = MultipartParser(boundary.encode("latin-1"), {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    try:
        parser.write(body)
    except MultipartParseError as exc:
        raise MalformedRequestBody(f"Malformed multipart body: {exc}.") from None
    if parser.state != MultipartState.END:
        raise MalformedRequestBody("Malformed multipart body: the closing boundary is missing.")
    return parts


def _disposition(headers: Mapping[str, str]) -> tuple[str, str | None]:
    value, params = parse_options_header(headers.get("content-disposition", ""))
    name = params.get(b"name")
    if value != b"form-data" or name is None:
        raise MalformedRequestBody(
            'Malformed multipart body: a part has no Content-Disposition "form-data" with a name.'
        )
    filename = params.get(b"filename")
    # Header bytes came in as latin-1; browsers send UTF-8 names.
    return (
        name.decode("utf-8", "replace"),
        filename.decode("utf-8", "replace") if filename is not None else None,
    )


def _properties(
    schema: Schema | None, document: Mapping[str, Any],
) -> tuple[dict[str, Schema], Schema | None]:
    """The (dereferenced) properties of an object schema, `allOf` members merged."""
    properties: dict[str, Schema] = {}
    additional: Schema | None = None
    pending = [schema] if schema is not None else []
    while pending:
        node = deref(document, pending.pop(0))
        if not isinstance(node, dict):
            continue
        for name, prop in (node.get("properties") or {}).items():
            properties.setdefault(name, deref(document, prop))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and additional is None:
            additional = deref(document, extra)
        pending.extend(node.get("allOf") or [])
    return properties, additional


def _compile_field(
    name: str, schema: Schema, encoding: Mapping[str, Any] | None, document: Mapping[str, Any],
    validators: SchemaValidators,
) -> _Field:
    type_ = _schema_type(schema)
    shape: Shape = "array" if type_ == "array" else "object" if type_ == "object" else "primitive"
    items = deref(document, schema.get("items") or {}) if shape == "array" else schema
    is_binary = _is_binary(items)
    coerce = (compile_coercer(schema, document, validators)
              if type_ is not None and not is_binary else None)
    if shape == "primitive":
        return _Field(coerce, shape, is_binary, type_ is not None, partial(_read_primitive, name))
    # Objects read as deepObject (`filter[done]=true`), which is also Node's `qs` default.
    style = "deepObject" if shape == "object" else (encoding or {}).get("style", "form")
    if style not in STYLES["query"]:
        style = "form"
    readers = [compile_reader("query", name, style, (encoding or {}).get("explode"), shape)]
    if style == "deepObject":
        readers.append(partial(_read_primitive, name))  # the whole value under the plain key
    else:
        # `ids[]=1&ids[]=2`: brackets, as Node's `qs` reads them.
        readers.append(partial(_read_deep_object, name))
    return _Field(coerce, shape, is_binary, type_ is not None, _first_of(readers))


def _first_of(readers: list[Reader]) -> Reader:
    """A reader answering with the first reader that finds the field; a value the style cannot
    split is handed over as sent, for validation to report."""
    def read(query: Query) -> Any:
        for reader in readers:
            try:
                raw = reader(query)
            except StyleError as exc:
                return exc.raw
            if raw is not None:
                return raw
        return None

    return read


def _read_deep_object(name: str, query: Query) -> Any:
    return read_deep_object(query, name)


def _read_primitive(name: str, query: Query) -> Any:
    values = query.get(name)
    return None if values is None else _single(values)


def _schema_type(schema: Schema) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):  # OpenAPI 3.1: ["integer", "null"]
        declared = next((t for t in declared if t != "null"), None)
    return declared if isinstance(declared, str) else None


def _is_binary(schema: Schema) -> bool:
    """A file: `format: binary` (3.0), or `contentMediaType` without an encoding (3.1)."""
    if schema.get("format") == "binary":
        return True
    return "contentMediaType" in schema and "contentEncoding" not in schema


def _outside(errors: list[ErrorDetail], problems: list[ErrorDetail]) -> list[ErrorDetail]:
    """The validator's errors about fields that coerced; a field that did not is already told."""
    roots = {"/" + problem["path"].split("/")[1] for problem in problems}
    return [
        error for error in errors
        if not any(error["path"] == root or error["path"].startswith(root + "/") for root in roots)
    ]


def _stand_in(value: Any) -> Any:
    """What the validator sees for a multipart body: each file becomes a string.

    The stand-in is the file's bytes read as latin-1, one character per byte, so a file
    satisfies `type: string` and `minLength`/`maxLength` bound its size in bytes.
    """
    if isinstance(value, UploadFile):
        return value.content.decode("latin-1")
    if isinstance(value, dict):
        return {key: _stand_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stand_in(item) for item in value]
    return value
