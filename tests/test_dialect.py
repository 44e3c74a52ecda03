"""OpenAPI Schema Objects rewritten as plain JSON Schema 2020-12 (`server.dialect`)."""

from __future__ import annotations

from typing import Any

import pytest

from server.dialect import (
    NUMERIC_FORMATS,
    is_numeric_format_check,
    normalize,
    referenced_pointers,
    to_json_schema,
)
from server.types import Direction

INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


def openapi30(schema: Any, direction: Direction = "request", document: Any = None) -> Any:
    return to_json_schema(schema, version="3.0", direction=direction, document=document)


def openapi31(schema: Any, direction: Direction = "request", document: Any = None) -> Any:
    return to_json_schema(schema, version="3.1", direction=direction, document=document)


# --- OpenAPI 3.0 -------------------------------------------------------------------------------


def test_nullable_adds_null_to_the_type() -> None:
    assert openapi30({"type": "string", "nullable": True}) == {"type": ["string", "null"]}


def test_nullable_false_changes_nothing() -> None:
    assert openapi30({"type": "string", "nullable": False}) == {"type": "string"}


def test_nullable_enum_also_allows_null() -> None:
    assert openapi30({"type": "string", "enum": ["a", "b"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", "b", None],
    }


def test_nullable_enum_that_lists_null_is_not_repeated() -> None:
    schema = {"type": "string", "enum": ["a", None], "nullable": True}
    assert openapi30(schema)["enum"] == ["a", None]


@pytest.mark.parametrize("keyword", ["allOf", "oneOf", "anyOf"])
def test_nullable_composition_is_wrapped(keyword: str) -> None:
    schema = {keyword: [{"type": "string"}], "nullable": True}
    assert openapi30(schema) == {"anyOf": [{keyword: [{"type": "string"}]}, {"type": "null"}]}


def test_nullable_ref_is_wrapped() -> None:
    schema = {"$ref": "#/components/schemas/Owner", "nullable": True}
    assert openapi30(schema) == {
        "anyOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]
    }


def test_ref_siblings_are_ignored_in_30() -> None:
    schema = {"$ref": "#/components/schemas/Owner", "maxLength": 3, "description": "x"}
    assert openapi30(schema) == {"$ref": "#/components/schemas/Owner"}


def test_ref_siblings_are_kept_in_31() -> None:
    schema = {"$ref": "#/components/schemas/Owner", "maxProperties": 3, "description": "x"}
    assert openapi31(schema) == {"$ref": "#/components/schemas/Owner", "maxProperties": 3}


def test_boolean_exclusive_limits_take_the_numeric_form() -> None:
    schema = {
        "type": "number", "minimum": 1, "exclusiveMinimum": True,
        "maximum": 5, "exclusiveMaximum": True,
    }
    assert openapi30(schema) == {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 5}


def test_false_exclusive_limits_leave_inclusive_ones() -> None:
    schema = {"minimum": 1, "exclusiveMinimum": False, "maximum": 5, "exclusiveMaximum": False}
    assert openapi30(schema) == {"minimum": 1, "maximum": 5}


def test_exclusive_flag_without_a_limit_is_dropped() -> None:
    assert openapi30({"type": "number", "exclusiveMinimum": True}) == {"type": "number"}


def test_openapi_only_keywords_and_extensions_are_dropped() -> None:
    schema = {
        "type": "object", "title": "T", "description": "d", "example": {"a": 1},
        "xml": {"name": "t"}, "externalDocs": {"url": "https://x.org"}, "deprecated": True,
        "x-entity": "todo", "default": {}, "readOnly": False,
        "properties": {"a": {"type": "string", "x-hidden": True, "example": "a"}},
    }
    assert openapi30(schema) == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_nested_schemas_are_normalized_everywhere() -> None:
    nullable = {"type": "boolean", "nullable": True}
    expected = {"type": ["boolean", "null"]}
    schema = {
        "items": nullable, "additionalProperties": nullable, "not": nullable,
        "properties": {"a": nullable}, "allOf": [nullable], "anyOf": [nullable],
        "oneOf": [nullable],
    }
    assert openapi30(schema) == {
        "items": expected, "additionalProperties": expected, "not": expected,
        "properties": {"a": expected}, "allOf": [expected], "anyOf": [expected],
        "oneOf": [expected],
    }


def test_additional_properties_boolean_is_kept() -> None:
    assert openapi30({"additionalProperties": False}) == {"additionalProperties": False}


# --- OpenAPI 3.1 -------------------------------------------------------------------------------


def test_31_keeps_json_schema_keywords() -> None:
    schema = {
        "type": ["string", "null"], "const": "a", "exclusiveMinimum": 0,
        "prefixItems": [{"type": "number"}], "items": False, "dependentRequired": {"a": ["b"]},
        "if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": True,
        "$defs": {"x": {"type": "string"}}, "unevaluatedProperties": False,
    }
    assert openapi31(schema) == schema


def test_31_ignores_nullable() -> None:
    assert openapi31({"type": "string", "nullable": True}) == {"type": "string"}


def test_31_drops_id_schema_and_content_annotations() -> None:
    schema = {
        "$id": "https://x.org/s", "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "string", "contentEncoding": "base64", "examples": ["a"], "$comment": "c",
    }
    assert openapi31(schema) == {"type": "string"}


def test_boolean_schemas() -> None:
    assert openapi31(True) == {}
    assert openapi31(False) == {"allOf": [False]}
    assert normalize(False, version="3.1", direction="request") is False
    assert openapi31({"properties": {"a": False, "b": True}}) == {
        "properties": {"a": False, "b": True}
    }


# --- readOnly and writeOnly --------------------------------------------------------------------

USER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "password": {"type": "string", "writeOnly": True},
        "name": {"type": "string"},
    },
    "required": ["id", "password", "name"],
}


def test_read_only_properties_are_refused_in_requests() -> None:
    assert openapi30(USER, "request") == {
        "type": "object",
        "properties": {"id": False, "password": {"type": "string"}, "name": {"type": "string"}},
        "required": ["password", "name"],
    }


def test_write_only_properties_are_refused_in_responses() -> None:
    assert openapi31(USER, "response") == {
        "type": "object",
        "properties": {"id": {"type": "integer", "allOf": [{"format": "int64", **INT64}]},
                       "password": False, "name": {"type": "string"}},
        "required": ["id", "name"],
    }


def test_required_disappears_when_only_hidden_properties_were_required() -> None:
    schema = {"properties": {"id": {"readOnly": True}}, "required": ["id"]}
    assert openapi31(schema, "request") == {"properties": {"id": False}}
    assert openapi31(schema, "response") == {"properties": {"id": {}}, "required": ["id"]}


def test_read_only_is_seen_through_a_ref() -> None:
    document = {"components": {"schemas": {"Id": {"type": "integer", "readOnly": True}}}}
    schema = {"properties": {"id": {"$ref": "#/components/schemas/Id"}}, "required": ["id"]}
    assert openapi31(schema, "request", document) == {"properties": {"id": False}}
    assert openapi31(schema, "response", document) == {
        "properties": {"id": {"$ref": "#/components/schemas/Id"}}, "required": ["id"],
    }


def test_read_only_beside_a_ref_in_30() -> None:
    schema = {"properties": {"id": {"$ref": "#/components/schemas/Id", "readOnly": True}}}
    assert openapi30(schema, "request") == {"properties": {"id": False}}


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname",
             "byte"],
)
def test_checked_string_formats_are_kept(name: str) -> None:
    assert openapi30({"type": "string", "format": name}) == {"type": "string", "format": name}


@pytest.mark.parametrize("name", ["password", "binary", "regex", "iri", "duration"])
def test_unchecked_formats_are_dropped(name: str) -> None:
    assert openapi31({"type": "string", "format": name}) == {"type": "string"}


@pytest.mark.parametrize("name", ["int32", "int64", "float", "double"])
def test_numeric_formats_become_a_range(name: str) -> None:
    normalized = openapi30({"type": "integer", "format": name, "allOf": [{"minimum": 0}]})
    assert normalized == {
        "type": "integer",
        "allOf": [{"minimum": 0}, {"format": name, **NUMERIC_FORMATS[name]}],
    }
    assert is_numeric_format_check(normalized["allOf"][1])
    assert not is_numeric_format_check(normalized["allOf"][0])


def test_integer_formats_are_the_twos_complement_ranges() -> None:
    assert NUMERIC_FORMATS["int32"] == {"minimum": -2147483648, "maximum": 2147483647,
                                        "multipleOf": 1}
    assert NUMERIC_FORMATS["int64"]["maximum"] == 9223372036854775807


def test_an_integer_without_format_or_bounds_means_int64() -> None:
    assert openapi30({"type": "integer", "nullable": True}) == {
        "type": ["integer", "null"], "allOf": [{"format": "int64", **INT64}]}
    assert openapi31({"type": ["integer", "null"], "minimum": 0}) == {
        "type": ["integer", "null"], "minimum": 0,
        "allOf": [{"format": "int64", "maximum": 2**63 - 1}]}


def test_declared_bounds_beyond_int64_widen_it() -> None:
    wide = 2**70
    assert openapi31({"type": "integer", "maximum": wide}) == {
        "type": "integer", "maximum": wide, "allOf": [{"format": "int64", "minimum": -(2**63)}]}
    # 3.0's boolean exclusive bound still counts as a declared bound.
    assert openapi30({"type": "integer", "minimum": -wide, "exclusiveMinimum": True}) == {
        "type": "integer", "exclusiveMinimum": -wide,
        "allOf": [{"format": "int64", "maximum": 2**63 - 1}]}
    # A lone bound beyond int64's other side widens that side to it, never empties the range.
    assert openapi31({"type": "integer", "exclusiveMinimum": wide}) == {
        "type": "integer", "exclusiveMinimum": wide, "allOf": [{"format": "int64",
                                                               "maximum": wide}]}
    both = {"type": "integer", "minimum": 0, "maximum": wide}
    assert openapi31(both) == both


@pytest.mark.parametrize("schema", [
    {"type": "integer", "format": "int32"},
    {"type": "integer", "enum": [2**70]},
    {"type": "integer", "const": 2**70},
    {"type": ["integer", "number"]},
    {"type": "number"},
    {"minimum": 0},
])
def test_nothing_is_implied_where_the_schema_says_otherwise(schema: dict[str, Any]) -> None:
    assert not any(check.get("format") == "int64"
                   for check in openapi31(schema).get("allOf", []))


def test_non_finite_bounds_are_no_bounds() -> None:
    assert openapi31({"type": "integer", "maximum": float("inf")})["allOf"] == [
        {"format": "int64", **INT64}]


# --- discriminator -----------------------------------------------------------------------------

PETS = {
    "components": {
        "schemas": {
            "Cat": {"type": "object", "properties": {"petType": {"type": "string"}}},
            "Dog": {"type": "object", "properties": {"petType": {"type": "string"}}},
            "Lizard": {"type": "object",
                       "properties": {"petType": {"enum": ["lizard", "gecko"]}}},
        }
    }
}
CAT = {"$ref": "#/components/schemas/Cat"}
DOG = {"$ref": "#/components/schemas/Dog"}
LIZARD = {"$ref": "#/components/schemas/Lizard"}


def test_discriminator_becomes_a_dispatch_on_the_tag() -> None:
    schema = {
        "oneOf": [CAT, DOG, LIZARD],
        "discriminator": {"propertyName": "petType", "mapping": {"dog": "Dog"}},
    }
    tag_is = lambda values: {"required": ["petType"],  # noqa: E731
                             "properties": {"petType": {"enum": values}}}
    assert openapi30(schema, document=PETS) == {
        "allOf": [{
            "discriminator": {"propertyName": "petType"},
            "if": {"type": "object"},
            "then": {
                "required": ["petType"],
                "properties": {"petType": {"enum": ["dog", "Cat", "lizard", "gecko"]}},
                "allOf": [
                    {"if": tag_is(["dog"]), "then": DOG},
                    {"if": tag_is(["Cat"]), "then": CAT},
                    {"if": tag_is(["lizard", "gecko"]), "then": LIZARD},
                ],
            },
            "else": {"oneOf": [CAT, DOG, LIZARD]},
        }]
    }


def test_discriminator_with_any_of_and_const_branches() -> None:
    branches = [
        {"type": "object", "properties": {"kind": {"const": "a"}}},
        {"type": "object", "properties": {"kind": {"const": "b"}}},
    ]
    normalized = openapi31({"anyOf": branches, "discriminator": {"propertyName": "kind"}})
    dispatch = normalized["allOf"][0]
    assert dispatch["then"]["properties"] == {"kind": {"enum": ["a", "b"]}}
    assert [case["then"] for case in dispatch["then"]["allOf"]] == branches
    assert dispatch["else"] == {"anyOf": branches}


def test_mapping_may_name_a_schema_outside_the_branches() -> None:
    schema = {"oneOf": [CAT], "discriminator": {"propertyName": "petType",
                                                 "mapping": {"dog": "#/components/schemas/Dog"}}}
    cases = openapi30(schema, document=PETS)["allOf"][0]["then"]["allOf"]
    assert [case["then"] for case in cases] == [DOG, CAT]


def test_discriminator_without_one_of_is_dropped() -> None:
    schema = {"type": "object", "discriminator": {"propertyName": "petType"}}
    assert openapi30(schema) == {"type": "object"}


def test_nullable_discriminated_union_wraps_the_dispatch() -> None:
    schema = {"oneOf": [CAT], "discriminator": {"propertyName": "petType"}, "nullable": True}
    normalized = openapi30(schema, document=PETS)
    assert normalized["anyOf"][1] == {"type": "null"}
    assert "discriminator" in normalized["anyOf"][0]["allOf"][0]


# --- references --------------------------------------------------------------------------------


def test_refs_are_kept_as_refs() -> None:
    schema = {"type": "array", "items": {"$ref": "#/components/schemas/TreeNode"}}
    assert openapi30(schema) == schema


def test_referenced_pointers_are_found_in_every_applicator() -> None:
    schema = openapi31({
        "properties": {"enum": {"$ref": "#/a"}},
        "items": {"$ref": "#/b"},
        "anyOf": [{"$ref": "#/c"}],
        "enum": [{"$ref": "#/not-a-schema"}],
    })
    assert referenced_pointers(schema) == {"#/a", "#/b", "#/c"}
