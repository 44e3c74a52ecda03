"""JSON references inside one bundled OpenAPI document: pointers and `$ref` following."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote


class RefError(LookupError):
    """A `$ref` that points nowhere, or a reference cycle with no content."""


def escape(token: str) -> str:
    """Escape one JSON-pointer token: `escape("a/b~c")` is `"a~1b~0c"`."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(tokens: list[str | int]) -> str:
    """The JSON pointer of a path of tokens: `pointer(["a/b", 0])` is `"/a~1b/0"`."""
    return "".join(["/" + escape(str(token)) for token in tokens])


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Follow a JSON pointer such as `#/components/schemas/Todo` (the leading `#` is optional).

    A pointer in a URI fragment may be percent-encoded (`#/components/schemas/A%20B`); it is
    decoded when the pointer as written leads nowhere.

    >>> resolve_pointer({"a": [{"b": 1}]}, "#/a/0/b")
    1
    """
    try:
        return _walk(document, pointer)
    except RefError:
        if "%" not in pointer:
            raise
        return _walk(document, unquote(pointer))


def _walk(document: Any, pointer: str) -> Any:
    node = document
    path = pointer[1:] if pointer.startswith("#") else pointer
    if not path:
        return node
    for raw in path.lstrip("/").split("/"):
        token = unescape(raw)
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise RefError(f"unresolvable reference {pointer!r}") from None
    return node


def deref(document: Any, node: Any) -> Any:
    """Follow `$ref` chains (internal `#/...` references only) until a non-reference node.

    >>> deref({"x": {"$ref": "#/y"}, "y": {"type": "string"}}, {"$ref": "#/x"})
    {'type': 'string'}
    """
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise RefError(f"reference cycle through {ref!r}")
        seen.add(ref)
        node = resolve_pointer(document, ref)
    return node
