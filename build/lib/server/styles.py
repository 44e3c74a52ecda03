"""OpenAPI style/explode splitting: raw parameter strings into strings, lists and dicts."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

Shape = Literal["primitive", "array", "object"]
"""What a parameter's schema asks for, which decides how its text is split."""

Raw = str | list[str] | dict[str, Any]
"""A split, untyped value; deepObject dicts may nest dicts and lists, as Node's `qs` builds them."""

Query = dict[str, list[str]]
"""A decoded query string: every key's values, blanks and repeats kept, in order."""

Reader = Callable[[Any], Raw | None]
"""Reads one parameter from its location's mapping; `None` when the parameter is absent."""

STYLES: dict[str, frozenset[str]] = {
    "path": frozenset({"simple", "label", "matrix"}),
    "query": frozenset({"form", "spaceDelimited", "pipeDelimited", "deepObject"}),
    "header": frozenset({"simple"}),
    "cookie": frozenset({"form"}),
}
DEFAULT_STYLES = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Node's `qs` turns `a[3]=x` into an array only up to index 20; beyond it the key stays a key.
_ARRAY_LIMIT = 20
_DEPTH_LIMIT = 20


class StyleError(ValueError):
    """A value that does not fit its style, such as a label value without its leading `.`."""

    def __init__(self, message: str, raw: Any) -> None:
        super().__init__(message)
        self.raw = raw


class QueryEncodingError(StyleError):
    """A query key or value whose percent escapes (or raw bytes) are not UTF-8, such as `%FF`."""

    def __init__(self, name: str, raw: str) -> None:
        super().__init__(f"{raw!r} is not UTF-8 once percent-decoded", raw)
        self.name = name
        """The key the text belongs to, decoded if it could be, else as sent."""


def parse_query(query: str) -> Query:
    """Split a raw query string on `&`; `+` is a space; keys and values are percent-decoded.

    `query` holds the bytes as sent, one character each (latin-1). Escapes, and raw bytes
    outside ASCII, are decoded as UTF-8; text that is not UTF-8 raises `QueryEncodingError`,
    never becomes U+FFFD.

    >>> parse_query("a=1&b=&a=x+y&c&d=%C3%A9")
    {'a': ['1', 'x y'], 'b': [''], 'c': [''], 'd': ['é']}
    """
    result: Query = {}
    if not query:
        return result
    raw_bytes = not query.isascii()  # some clients send UTF-8 unescaped
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if raw_bytes or "%" in key or "+" in key:
            key = _decode(key, key)
        if raw_bytes or "%" in value or "+" in value:
            value = _decode(value, key)
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


def _decode(text: str, name: str) -> str:
    try:
        return unquote_to_bytes(text.replace("+", " ").encode("latin-1")).decode()
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise QueryEncodingError(name, text) from None


def default_explode(style: str) -> bool:
    """Only `form` explodes by default: `default_explode("simple")` is False."""
    return style == "form"


def split_simple(value: str, shape: Shape, explode: bool) -> Raw:
    """Split a `simple` value (path and header default).

    >>> split_simple("R=100,G=200", "object", True)
    {'R': '100', 'G': '200'}
    """
    if shape == "primitive":
        return value
    return _split_items(value.split(",") if value else [], shape, explode)


def split_label(value: str, shape: Shape, explode: bool) -> Raw:
    """Split a `label` path value: `.blue`, `.blue,black` or, exploded, `.blue.black`.

    >>> split_label(".R=100.G=200", "object", True)
    {'R': '100', 'G': '200'}
    """
    if not value.startswith("."):
        raise StyleError(f"label value {value!r} does not start with '.'", value)
    body = value[1:]
    if shape == "primitive":
        return body
    items = body.split("." if explode else ",") if body else []
    return _split_items(items, shape, explode)


def split_matrix(value: str, name: str, shape: Shape, explode: bool) -> Raw:
    """Split a `matrix` path value: `;color=blue`, `;color=blue,black` or `;color=blue;color=black`.

    >>> split_matrix(";R=100;G=200", "color", "object", True)
    {'R': '100', 'G': '200'}
    """
    prefix = ";" + name
    if shape == "primitive" or not explode:
        if value == prefix:
            body = ""
        elif value.startswith(prefix + "="):
            body = value[len(prefix) + 1:]
        else:
            raise StyleError(f"matrix value {value!r} does not start with {prefix + '='!r}", value)
        if shape == "primitive":
            return body
        return _split_items(body.split(",") if body else [], shape, explode)
    if not value.startswith(";"):
        raise StyleError(f"matrix value {value!r} does not start with ';'", value)
    if value == prefix:
        return [] if shape == "array" else {}
    parts = value[1:].split(";")
    if shape == "object":
        return _assignments(parts, value)
    items = []
    for part in parts:
        key, sep, item = part.partition("=")
        if key != name or not sep:
            raise StyleError(f"matrix item {part!r} is not {name}=...", value)
        items.append(item)
    return items


def split_delimited(value: str, delimiter: str, shape: Shape) -> Raw:
    """Split one unexploded query value on its style's delimiter (`,`, space or `|`).

    >>> split_delimited("blue|black", "|", "array")
    ['blue', 'black']
    """
    if shape == "primitive":
        return value
    return _split_items(value.split(delimiter) if value else [], shape, False)


def read_deep_object(query: Query, name: str) -> Raw | None:
    """Build `name[a][b]=1` keys into nested dicts; numeric and `[]` keys build lists, as `qs` does.

    >>> read_deep_object(parse_query("f[where][id]=1&f[order][0]=a&f[order][1]=b"), "f")
    {'where': {'id': '1'}, 'order': ['a', 'b']}
    """
    prefix = name + "["
    root: dict[str, Any] = {}
    found = False
    for key, values in query.items():
        if not key.startswith(prefix):
            continue
        path = _bracket_segments(key, len(name))
        if path is None:
            continue
        if len(path) > _DEPTH_LIMIT:
            raise StyleError(f"{key!r} nests deeper than {_DEPTH_LIMIT} levels", key)
        found = True
        for value in values:
            _assign(root, path, value, key)
    if not found:
        return None
    built: Raw = _build_lists(root)
    return built


def compile_reader(
    location: str,
    name: str,
    style: str | None,
    explode: bool | None,
    shape: Shape,
    *,
    properties: Collection[str] = (),
    open_object: bool = False,
    claimed: Collection[str] = (),
) -> Reader:
    """Build the reader for one parameter; it takes the location's mapping, not the request.

    Path, header and cookie readers take a `Mapping[str, str]` (header names lower-case), query
    readers the `Query` from `parse_query`. `properties` and `open_object` say which separate
    keys an exploded form object collects; `claimed` names the other parameters' keys.

    >>> compile_reader("query", "color", "pipeDelimited", None, "array")({"color": ["a|b"]})
    ['a', 'b']
    """
    style = style or DEFAULT_STYLES[location]
    if style not in STYLES[location]:
        raise ValueError(f"style {style!r} is not allowed for {location} parameter {name!r}")
    explode = default_explode(style) if explode is None else explode
    if location == "query":
        return _query_reader(name, style, explode, shape, properties, open_object, claimed)
    if location == "header":
        return _header_reader(name.lower(), explode, shape)
    if location == "cookie":
        return _cookie_reader(name, explode, shape, properties)
    return _path_reader(name, style, explode, shape)


def _path_reader(name: str, style: str, explode: bool, shape: Shape) -> Reader:
    split: Callable[[str], Raw]
    if style == "label":
        split = partial(split_label, shape=shape, explode=explode)
    elif style == "matrix":
        split = partial(split_matrix, name=name, shape=shape, explode=explode)
    else:
        split = partial(split_simple, shape=shape, explode=explode)

    def read_path(path: Mapping[str, str]) -> Raw | None:
        value = path.get(name)
        return None if value is None else split(value)

    return read_path


def _header_reader(name: str, explode: bool, shape: Shape) -> Reader:
    if shape == "primitive":
        return lambda headers: headers.get(name)

    def read_header(headers: Mapping[str, str]) -> Raw | None:
        value = headers.get(name)
        if value is None:
            return None
        # HTTP lists allow whitespace after the commas: `X-Ids: 1, 2, 3`.
        items = [item.strip() for item in value.split(",")] if value.strip() else []
        return _split_items(items, shape, explode)

    return read_header


def _cookie_reader(name: str, explode: bool, shape: Shape, properties: Collection[str]) -> Reader:
    if shape == "object" and explode:
        keys = tuple(properties)

        def read_cookie_object(cookies: Mapping[str, str]) -> Raw | None:
            found = {key: cookies[key] for key in keys if key in cookies}
            return found or None

        return read_cookie_object

    if shape == "primitive":
        return lambda cookies: cookies.get(name)

    def read_cookie(cookies: Mapping[str, str]) -> Raw | None:
        value = cookies.get(name)
        if value is None:
            return None
        # A cookie name holds one value, so arrays are comma separated whether exploded or not.
        return _split_items(value.split(",") if value else [], shape, False)

    return read_cookie


def _query_reader(
    name: str,
    style: str,
    explode: bool,
    shape: Shape,
    properties: Collection[str],
    open_object: bool,
    claimed: Collection[str],
) -> Reader:
    if style == "deepObject":
        return lambda query: read_deep_object(query, name)
    if shape == "array" and explode:
        return lambda query: query.get(name)
    if shape == "object" and explode:
        return _form_object_reader(tuple(properties), open_object, frozenset(claimed) | {name})
    delimiter = _DELIMITERS[style]

    def read_query(query: Query) -> Raw | None:
        values = query.get(name)
        if values is None:
            return None
        if len(values) > 1:
            raise StyleError(f"{name!r} is repeated", values)
        return split_delimited(values[0], delimiter, shape)

    return read_query


def _form_object_reader(
    properties: tuple[str, ...], open_object: bool, claimed: frozenset[str]
) -> Reader:
    def read_form_object(query: Query) -> Raw | None:
        found: dict[str, Any] = {}
        keys = query if open_object else properties
        for key in keys:
            values = query.get(key)
            if values is None:
                continue
            if open_object and key not in properties and (
                key in claimed or key.partition("[")[0] in claimed
            ):
                continue
            if len(values) > 1:
                raise StyleError(f"{key!r} is repeated", values)
            found[key] = values[0]
        return found or None

    return read_form_object


def _split_items(items: list[str], shape: Shape, explode: bool) -> Raw:
    if shape == "array":
        return items
    if explode:
        return _assignments(items, items)
    if len(items) % 2:
        raise StyleError("object value has a key without a value", items)
    return dict(zip(items[::2], items[1::2], strict=True))


def _assignments(items: list[str], raw: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise StyleError(f"object item {item!r} is not key=value", raw)
        result[key] = value
    return result


def _bracket_segments(key: str, start: int) -> list[str] | None:
    segments = []
    position = start
    while position < len(key):
        match = _SEGMENT.match(key, position)
        if match is None:
            return None
        segments.append(match.group(1))
        position = match.end()
    return segments


def _assign(node: dict[str, Any], path: list[str], value: str, key: str) -> None:
    for segment in path[:-1]:
        if segment == "":
            # `a[]` appends; a container that is built further (`a[][b]`) has no stable index.
            segment = str(len(node))
        child = node.get(segment)
        if child is None:
            child = node[segment] = {}
        elif not isinstance(child, dict):
            raise StyleError(f"{key!r} mixes a value and nested keys", key)
        node = child
    last = path[-1]
    if last == "":
        last = str(len(node))
    existing = node.get(last)
    if existing is None:
        node[last] = value
    elif isinstance(existing, list):
        existing.append(value)
    elif isinstance(existing, str):
        node[last] = [existing, value]
    else:
        raise StyleError(f"{key!r} mixes a value and nested keys", key)


def _build_lists(node: dict[str, Any]) -> Any:
    for key, child in node.items():
        if isinstance(child, dict):
            node[key] = _build_lists(child)
    if node and all(key.isascii() and key.isdigit() for key in node):
        indexes = sorted((int(key), key) for key in node)
        if indexes[-1][0] <= _ARRAY_LIMIT:
            return [node[key] for _, key in indexes]
    return node
