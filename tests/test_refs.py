"""JSON pointers and `$ref` following inside one document."""

from __future__ import annotations

import pytest

from server.refs import RefError, deref, escape, pointer, resolve_pointer, unescape

DOCUMENT = {"components": {"schemas": {"A B": {"type": "string"}, "a/b~c": {"type": "integer"},
                                       "Loop": {"$ref": "#/components/schemas/Loop"}}}}


def test_escaping_round_trips() -> None:
    assert escape("a/b~c") == "a~1b~0c"
    assert unescape("a~1b~0c") == "a/b~c"
    assert pointer(["a/b~c", 0, "x"]) == "/a~1b~0c/0/x"
    assert pointer([]) == ""


def test_resolve_escaped_and_percent_encoded_pointers() -> None:
    assert resolve_pointer(DOCUMENT, "#/components/schemas/a~1b~0c") == {"type": "integer"}
    assert resolve_pointer(DOCUMENT, "#/components/schemas/A%20B") == {"type": "string"}
    assert resolve_pointer(DOCUMENT, "#") is DOCUMENT
    with pytest.raises(RefError, match="unresolvable reference '#/components/nope'"):
        resolve_pointer(DOCUMENT, "#/components/nope")


def test_deref_follows_chains_and_refuses_cycles() -> None:
    document = {"x": {"$ref": "#/y"}, "y": {"$ref": "#/z"}, "z": {"type": "null"}}
    assert deref(document, {"$ref": "#/x"}) == {"type": "null"}
    assert deref(document, {"type": "string"}) == {"type": "string"}
    with pytest.raises(RefError, match="reference cycle"):
        deref(DOCUMENT, {"$ref": "#/components/schemas/Loop"})
