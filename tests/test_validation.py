"""Compiled validators and their AJV-style error details (`server.validation`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from server.dialect import FORMAT_CHECKERS
from server.types import Direction, ErrorDetail
from server.validation import ALONE, SchemaValidators, Validator
from tests.reference import format_checker

FIXTURE = Path(__file__).parent / "fixtures" / "specs" / "validation" / "openapi.yaml"
FIXTURE_31 = Path(__file__).parent / "fixtures" / "specs" / "validation-3.1" / "openapi.yaml"


def load(path: Path) -> SchemaValidators:
    """The fixture's validators, each compiled in a shared document, as a large spec's are."""
    document = yaml.safe_load(path.read_text())
    return SchemaValidators(document, document["openapi"][:3], alone=-1)


SPEC_30 = load(FIXTURE)
SPEC_31 = load(FIXTURE_31)


def component(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def errors(schema: Any, instance: Any, *, version: str = "3.1",
           direction: Direction = "request") -> list[ErrorDetail]:
    validator = SchemaValidators({}, version).compile(schema, direction)
    details = validator.errors(instance)
    assert validator.is_valid(instance) is (details == [])
    shared = SchemaValidators({}, version, alone=-1).compile(schema, direction)
    assert (shared.errors(instance), shared.is_valid(instance)) == (details, details == [])
    return details


def detail(path: str, code: str, message: str, **info: Any) -> ErrorDetail:
    return {"path": path, "code": code, "message": message, "info": info}


# --- the LoopBack example ----------------------------------------------------------------------

TODO = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "desc": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}


def test_loopback_example_wrong_type() -> None:
    assert errors(TODO, {"title": 1}) == [
        {"path": "/title", "code": "type", "message": "must be string",
         "info": {"type": "string"}},
    ]


def test_loopback_example_missing_title() -> None:
    assert errors(TODO, {"desc": 5}) == [
        detail("", "required", "must have required property 'title'", missingProperty="title"),
        detail("/desc", "type", "must be string", type="string"),
    ]


def test_valid_instance_has_no_errors() -> None:
    assert errors(TODO, {"title": "milk", "desc": "2 litres"}) == []


# --- one test per keyword ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        pytest.param({"type": "integer"}, "1", detail("", "type", "must be integer",
                                                      type="integer"), id="type"),
        pytest.param({"type": ["string", "null"]}, 1,
                     detail("", "type", "must be string,null", type=["string", "null"]),
                     id="type-list"),
        pytest.param({"minimum": 3}, 2, detail("", "minimum", "must be >= 3", comparison=">=",
                                               limit=3), id="minimum"),
        pytest.param({"maximum": 3.5}, 4, detail("", "maximum", "must be <= 3.5",
                                                 comparison="<=", limit=3.5), id="maximum"),
        pytest.param({"exclusiveMinimum": 3}, 3,
                     detail("", "exclusiveMinimum", "must be > 3", comparison=">", limit=3),
                     id="exclusiveMinimum"),
        pytest.param({"exclusiveMaximum": 3}, 3,
                     detail("", "exclusiveMaximum", "must be < 3", comparison="<", limit=3),
                     id="exclusiveMaximum"),
        pytest.param({"multipleOf": 0.5}, 1.25,
                     detail("", "multipleOf", "must be multiple of 0.5", multipleOf=0.5),
                     id="multipleOf"),
        pytest.param({"maxLength": 5}, "abcdef",
                     detail("", "maxLength", "must NOT have more than 5 characters", limit=5),
                     id="maxLength"),
        pytest.param({"minLength": 2}, "a",
                     detail("", "minLength", "must NOT have fewer than 2 characters", limit=2),
                     id="minLength"),
        pytest.param({"pattern": "^a"}, "ba",
                     detail("", "pattern", 'must match pattern "^a"', pattern="^a"),
                     id="pattern"),
        pytest.param({"format": "date"}, "2024-13-01",
                     detail("", "format", 'must match format "date"', format="date"),
                     id="format"),
        pytest.param({"enum": ["a", 1, None]}, "b",
                     detail("", "enum", "must be equal to one of the allowed values",
                            allowedValues=["a", 1, None]), id="enum"),
        pytest.param({"const": {"a": 1}}, {"a": 2},
                     detail("", "const", "must be equal to constant", allowedValue={"a": 1}),
                     id="const"),
        pytest.param({"maxItems": 1}, [1, 2],
                     detail("", "maxItems", "must NOT have more than 1 items", limit=1),
                     id="maxItems"),
        pytest.param({"minItems": 2}, [1],
                     detail("", "minItems", "must NOT have fewer than 2 items", limit=2),
                     id="minItems"),
        pytest.param({"maxProperties": 1}, {"a": 1, "b": 2},
                     detail("", "maxProperties", "must NOT have more than 1 properties",
                            limit=1), id="maxProperties"),
        pytest.param({"minProperties": 1}, {},
                     detail("", "minProperties", "must NOT have fewer than 1 properties",
                            limit=1), id="minProperties"),
        pytest.param({"uniqueItems": True}, [{"a": 1}, 2, {"a": 1}],
                     detail("", "uniqueItems",
                            "must NOT have duplicate items (items ## 0 and 2 are identical)",
                            i=2, j=0), id="uniqueItems"),
        pytest.param({"uniqueItems": True, "items": {"type": "integer"}}, [1, 2, 1],
                     detail("", "uniqueItems",
                            "must NOT have duplicate items (items ## 2 and 0 are identical)",
                            i=0, j=2), id="uniqueItems-of-scalars"),
        pytest.param({"not": {"type": "string"}}, "a",
                     detail("", "not", "must NOT be valid"), id="not"),
        pytest.param({"properties": {"a": False}}, {"a": 1},
                     detail("/a", "false schema", "boolean schema is false"), id="false"),
        pytest.param({"contains": {"type": "string"}}, [1],
                     detail("", "contains", "must contain at least 1 valid item(s)",
                            minContains=1), id="contains"),
        pytest.param({"dependentRequired": {"a": ["b"]}}, {"a": 1},
                     detail("", "dependentRequired",
                            "must have property b when property a is present", property="a",
                            missingProperty="b", depsCount=1, deps="b"),
                     id="dependentRequired"),
        pytest.param({"prefixItems": [{}], "items": False}, [1, 2],
                     detail("", "items", "must NOT have more than 1 items", limit=1),
                     id="items-after-prefixItems"),
        pytest.param({"propertyNames": {"maxLength": 2}}, {"abc": 1},
                     detail("", "propertyNames", "property name must be valid",
                            propertyName="abc"), id="propertyNames"),
    ],
)
def test_each_keyword_reports_as_ajv_does(schema: Any, instance: Any,
                                          expected: ErrorDetail) -> None:
    assert errors(schema, instance) == [expected]


def test_required_reports_each_missing_property_in_schema_order() -> None:
    schema = {"required": ["b", "a", "c"]}
    assert errors(schema, {"c": 1}) == [
        detail("", "required", "must have required property 'b'", missingProperty="b"),
        detail("", "required", "must have required property 'a'", missingProperty="a"),
    ]


def test_additional_properties_reports_each_extra_property_in_data_order() -> None:
    schema = {"properties": {"a": {}}, "additionalProperties": False}
    assert errors(schema, {"z": 1, "a": 1, "y": 2}) == [
        detail("", "additionalProperties", "must NOT have additional properties",
               additionalProperty="z"),
        detail("", "additionalProperties", "must NOT have additional properties",
               additionalProperty="y"),
    ]


def test_additional_properties_schema_reports_inside_the_value() -> None:
    assert errors({"additionalProperties": {"type": "integer"}}, {"a": "x"}) == [
        detail("/a", "type", "must be integer", type="integer"),
    ]


def test_any_of_reports_every_branch_then_itself() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3}]}
    assert errors(schema, 1.5) == [
        detail("", "type", "must be string", type="string"),
        detail("", "type", "must be integer", type="integer"),
        detail("", "minimum", "must be >= 3", comparison=">=", limit=3),
        detail("", "anyOf", "must match a schema in anyOf"),
    ]


def test_one_of_with_no_match() -> None:
    schema = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert errors(schema, True) == [
        detail("", "type", "must be string", type="string"),
        detail("", "type", "must be integer", type="integer"),
        detail("", "oneOf", "must match exactly one schema in oneOf", passingSchemas=None),
    ]


def test_one_of_with_two_matches_names_them() -> None:
    schema = {"oneOf": [{"type": "string"}, {"minLength": 1}, {"type": "integer"}]}
    assert errors(schema, "a") == [
        detail("", "type", "must be integer", type="integer"),
        detail("", "oneOf", "must match exactly one schema in oneOf", passingSchemas=[0, 1]),
    ]


def test_if_then_reports_the_then_branch_then_the_if() -> None:
    schema = {"if": {"type": "string"}, "then": {"minLength": 3}, "else": {"minimum": 3}}
    assert errors(schema, "a") == [
        detail("", "minLength", "must NOT have fewer than 3 characters", limit=3),
        detail("", "if", 'must match "then" schema', failingKeyword="then"),
    ]


def test_if_else_reports_the_else_branch_then_the_if() -> None:
    schema = {"if": {"type": "string"}, "then": {"minLength": 3}, "else": {"minimum": 3}}
    assert errors(schema, 1) == [
        detail("", "minimum", "must be >= 3", comparison=">=", limit=3),
        detail("", "if", 'must match "else" schema', failingKeyword="else"),
    ]


def test_paths_are_escaped_json_pointers() -> None:
    schema = {"properties": {"a/b~c": {"items": {"type": "string"}}}}
    assert errors(schema, {"a/b~c": ["x", 1]}) == [
        detail("/a~1b~0c/1", "type", "must be string", type="string"),
    ]


def test_numbers_in_messages_print_as_javascript_does() -> None:
    assert errors({"minimum": 3.0}, 1)[0]["message"] == "must be >= 3"
    assert errors({"multipleOf": 0.00001}, 0.000015)[0]["message"] == (
        "must be multiple of 0.00001")


def test_keywords_come_in_ajv_evaluation_order() -> None:
    schema = {
        "properties": {"n": {"type": "integer"}},
        "additionalProperties": False,
        "required": ["r"],
        "maxProperties": 1,
        "enum": [{}],
    }
    assert [d["code"] for d in errors(schema, {"n": "x", "extra": 1})] == [
        "enum", "maxProperties", "required", "additionalProperties", "type",
    ]


def test_untyped_keywords_come_before_a_type_that_has_keywords_of_its_own() -> None:
    schema = {"type": "string", "maxLength": 2, "enum": ["a"]}
    assert [d["code"] for d in errors(schema, 5)] == ["enum", "type"]
    schema = {"type": "string", "enum": ["a"]}
    assert [d["code"] for d in errors(schema, 5)] == ["type", "enum"]


# --- nullable ----------------------------------------------------------------------------------


def test_nullable_30_accepts_null_and_reports_the_type_list() -> None:
    schema = {"type": "string", "nullable": True}
    assert errors(schema, None, version="3.0") == []
    assert errors(schema, 1, version="3.0") == [
        detail("", "type", "must be string,null", type=["string", "null"]),
    ]


def test_nullable_enum_accepts_null() -> None:
    schema = {"type": "string", "enum": ["open"], "nullable": True}
    assert errors(schema, None, version="3.0") == []
    assert errors(schema, "shut", version="3.0") == [
        detail("", "enum", "must be equal to one of the allowed values",
               allowedValues=["open", None]),
    ]


def test_nullable_all_of_accepts_null_and_reports_both_alternatives() -> None:
    todo = SPEC_30.compile(component("Todo"), "response")
    assert todo.errors({"id": 1, "title": "t", "reviewer": None, "due": None}) == []
    assert todo.errors({"id": 1, "title": "t", "reviewer": 3}) == [
        detail("/reviewer", "type", "must be object", type="object"),
        detail("/reviewer", "type", "must be null", type="null"),
        detail("/reviewer", "anyOf", "must match a schema in anyOf"),
    ]


def test_openapi_31_null_in_the_type_list() -> None:
    event = SPEC_31.compile(component("Event"), "response")
    base = {"id": "123e4567-e89b-12d3-a456-426614174000", "kind": "event"}
    assert event.errors({**base, "title": None}) == []
    assert event.errors({**base, "title": 3}) == [
        detail("/title", "type", "must be string,null", type=["string", "null"]),
    ]


# --- readOnly and writeOnly --------------------------------------------------------------------


def test_read_only_property_is_refused_in_a_request_and_not_required() -> None:
    todo = SPEC_30.compile(component("Todo"), "request")
    assert todo.errors({"title": "milk"}) == []
    assert todo.errors({"title": "milk", "id": 4}) == [
        detail("/id", "false schema", "boolean schema is false"),
    ]


def test_read_only_property_is_required_in_a_response() -> None:
    todo = SPEC_30.compile(component("Todo"), "response")
    assert todo.errors({"title": "milk", "id": 4}) == []
    assert todo.errors({"title": "milk"}) == [
        detail("", "required", "must have required property 'id'", missingProperty="id"),
    ]


def test_write_only_property_is_refused_in_a_response_only() -> None:
    request = SPEC_30.compile(component("Todo"), "request")
    response = SPEC_30.compile(component("Todo"), "response")
    assert request.errors({"title": "milk", "secret": "s"}) == []
    assert response.errors({"id": 1, "title": "milk", "secret": "s"}) == [
        detail("/secret", "false schema", "boolean schema is false"),
    ]


def test_directions_do_not_share_normalized_components() -> None:
    request = SPEC_31.json_schema(component("Event"), "request")
    response = SPEC_31.json_schema(component("Event"), "response")
    event_in = request["components"]["schemas"]["Event"]
    event_out = response["components"]["schemas"]["Event"]
    assert event_in["properties"]["id"] is False
    assert event_in["properties"]["password"] == {"type": "string", "minLength": 8}
    assert event_out["properties"]["password"] is False
    assert event_out["required"] == ["id", "kind", "title"]


# --- discriminator -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pet",
    [{"petType": "Cat", "lives": 3}, {"petType": "dog", "bark": "loud"},
     {"petType": "lizard"}, {"petType": "gecko", "scales": 4}],
)
def test_discriminator_accepts_each_mapped_value(pet: dict[str, Any]) -> None:
    assert SPEC_30.compile(component("Pet")).errors(pet) == []


def test_discriminator_missing_tag() -> None:
    assert SPEC_30.compile(component("Pet")).errors({"lives": 3}) == [
        detail("", "discriminator", 'tag "petType" must be string', error="tag", tag="petType"),
    ]


def test_discriminator_tag_that_is_not_a_string() -> None:
    assert SPEC_30.compile(component("Pet")).errors({"petType": 7}) == [
        detail("", "discriminator", 'tag "petType" must be string', error="tag", tag="petType",
               tagValue=7),
    ]


def test_discriminator_value_that_selects_no_branch() -> None:
    # "Dog" is mapped explicitly as "dog", so its implicit name no longer selects it
    assert SPEC_30.compile(component("Pet")).errors({"petType": "Dog", "bark": "loud"}) == [
        detail("", "discriminator", 'value of tag "petType" must be in oneOf', error="mapping",
               tag="petType", tagValue="Dog"),
    ]


def test_discriminator_validates_the_selected_branch_only() -> None:
    pets = SPEC_30.compile(component("Pet"))
    assert pets.errors({"petType": "Cat", "lives": 10}) == [
        detail("/lives", "maximum", "must be <= 9", comparison="<=", limit=9),
    ]
    assert pets.errors({"petType": "dog"}) == [
        detail("", "required", "must have required property 'bark'", missingProperty="bark"),
    ]
    assert pets.errors({"petType": "gecko", "scales": 3}) == [
        detail("/scales", "multipleOf", "must be multiple of 2", multipleOf=2),
    ]


def test_discriminator_judges_a_non_object_by_one_of() -> None:
    must_be_object = detail("", "type", "must be object", type="object")
    assert SPEC_30.compile(component("Pet")).errors("cat") == [
        must_be_object, must_be_object, must_be_object,
        detail("", "oneOf", "must match exactly one schema in oneOf", passingSchemas=None),
    ]


def test_discriminator_nested_in_a_property_reports_the_object_path() -> None:
    event = SPEC_31.compile(component("Event"))
    base = {"kind": "event", "title": "t"}
    assert event.errors({**base, "payload": {"type": "click", "x": 1, "y": 2}}) == []
    assert event.errors({**base, "payload": {"type": "drag"}}) == [
        detail("/payload", "discriminator", 'value of tag "type" must be in oneOf',
               error="mapping", tag="type", tagValue="drag"),
    ]
    assert event.errors({**base, "payload": {"type": "scroll", "delta": 0}}) == [
        detail("/payload/delta", "not", "must NOT be valid"),
    ]


# --- recursion ---------------------------------------------------------------------------------


def tree(depth: int, leaf: Any) -> dict[str, Any]:
    return {"name": "n", "children": [tree(depth - 1, leaf)]} if depth else leaf


def test_recursive_schema_accepts_a_deep_tree() -> None:
    nodes = SPEC_30.compile(component("TreeNode"))
    assert nodes.errors(tree(30, {"name": "leaf", "weight": 0.5})) == []


def test_recursive_schema_reports_deep_paths() -> None:
    nodes = SPEC_30.compile(component("TreeNode"))
    path = "/children/0" * 3
    assert nodes.errors(tree(3, {"weight": 0, "colour": "red"})) == [
        detail(path, "required", "must have required property 'name'", missingProperty="name"),
        detail(path, "additionalProperties", "must NOT have additional properties",
               additionalProperty="colour"),
        detail(f"{path}/weight", "exclusiveMinimum", "must be > 0", comparison=">", limit=0),
    ]


def test_recursive_schema_is_carried_once_and_stays_a_reference() -> None:
    schema = SPEC_30.json_schema({"type": "array", "items": component("TreeNode")}, "response")
    assert schema["items"] == component("TreeNode")
    assert set(schema["components"]["schemas"]) == {"TreeNode"}
    children = schema["components"]["schemas"]["TreeNode"]["properties"]["children"]
    assert children["items"] == component("TreeNode")


def test_carried_components_are_only_those_reached() -> None:
    schema = SPEC_30.json_schema(component("Pet"))
    assert set(schema["components"]["schemas"]) == {"Pet", "Cat", "Dog", "Lizard"}
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# --- formats -----------------------------------------------------------------------------------

FORMAT_CASES = {
    "date": (["2024-02-29", "1999-12-31"], ["2023-02-29", "2024-1-01", "2024-01-32", "x"]),
    "date-time": (["2024-01-31T10:00:00Z", "2024-01-31t10:00:00.5+01:00"],
                  ["2024-01-31 10:00:00Z", "2024-01-31T10:00:00", "2024-01-31T25:00:00Z"]),
    "time": (["10:00:00Z", "23:59:60Z", "08:30:00.123-05:00"],
             ["10:00:00", "24:00:00Z", "10:60:00Z", "10:00:60Z"]),
    "email": (["a.b@example.com", "x+y@sub.example.org"], ["a@", "a@b", "a b@c.de", "@c.de"]),
    "uri": (["https://example.com/a?b=c#d", "urn:isbn:0451450523", "mailto:a@b.c"],
            ["/relative", "example.com", "http://a b", "http://x/%zz"]),
    "uuid": (["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000"],
             ["123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"]),
    "ipv4": (["10.0.0.1", "255.255.255.255"], ["256.0.0.1", "10.0.0", "010.0.0.1", "::1"]),
    "ipv6": (["::1", "2001:db8::8a2e:370:7334"], ["1.2.3.4", "fe80::1%eth0", "2001:db8:::1"]),
    "hostname": (["example.com", "a-b.c", "localhost"], ["-a.com", "a..b", "a_b.com", "a" * 64]),
    "byte": (["aGk=", "aGVsbG8=", ""], ["aGk", "a===", "aGk=\n", "$$$$"]),
}


@pytest.mark.parametrize("name", sorted(FORMAT_CASES))
def test_string_formats_accept_valid_and_refuse_invalid_values(name: str) -> None:
    valid, invalid = FORMAT_CASES[name]
    validator = SchemaValidators({}, "3.1").compile({"type": "string", "format": name})
    reference = jsonschema.Draft202012Validator({"format": name}, format_checker=format_checker())
    for value in valid:
        assert validator.errors(value) == [], value
        assert reference.is_valid(value), value
    for value in invalid:
        assert validator.errors(value) == [
            detail("", "format", f'must match format "{name}"', format=name)
        ], value
        assert not reference.is_valid(value), value


def test_every_checked_format_has_cases() -> None:
    assert set(FORMAT_CASES) == set(FORMAT_CHECKERS)


def test_string_formats_ignore_other_types() -> None:
    assert errors({"format": "date"}, 20240101) == []


@pytest.mark.parametrize(
    ("name", "valid", "invalid"),
    [
        ("int32", [0, -(2**31), 2**31 - 1, 5.0], [2**31, -(2**31) - 1, 1.5]),
        ("int64", [2**63 - 1, -(2**63)], [2**63, 0.5, 1e19]),
        ("float", [1.5, 3.4e38, -3.4e38], [3.5e38, -1e39]),
        ("double", [1e308, -1.5], [10**309, -(10**309)]),
    ],
)
def test_numeric_formats_are_ranges(name: str, valid: list[Any], invalid: list[Any]) -> None:
    for version in ("3.0", "3.1"):
        validator = SchemaValidators({}, version).compile({"type": "number", "format": name})
        for value in valid:
            assert validator.errors(value) == [], value
        for value in invalid:
            assert validator.errors(value) == [
                detail("", "format", f'must match format "{name}"', format=name)
            ], value
        assert validator.errors("text") == [detail("", "type", "must be number",
                                                   type="number")]


def test_numeric_format_error_comes_with_the_number_keywords() -> None:
    schema = {"type": "integer", "format": "int32", "minimum": 0, "enum": [1]}
    assert [d["code"] for d in errors(schema, -(2**40))] == ["enum", "minimum", "format"]


def test_fixture_formats_report_their_paths() -> None:
    server = SPEC_30.compile(component("Server"))
    assert server.errors({"host": "-bad", "ipv4": "1.2.3", "started": "yesterday",
                          "labels": {}}) == [
        detail("/host", "format", 'must match format "hostname"', format="hostname"),
        detail("/ipv4", "format", 'must match format "ipv4"', format="ipv4"),
        detail("/started", "format", 'must match format "date-time"', format="date-time"),
        detail("/labels", "minProperties", "must NOT have fewer than 1 properties", limit=1),
    ]


# --- the compiled object -----------------------------------------------------------------------


def test_identical_schemas_share_one_validator() -> None:
    validators = SchemaValidators({}, "3.1")
    first = validators.compile({"type": "string", "maxLength": 3})
    assert validators.compile({"maxLength": 3, "type": "string"}) is first
    assert validators.compile({"type": "string", "maxLength": 3}, "response") is not first


def test_json_schema_is_what_the_validator_runs() -> None:
    validators = SchemaValidators({}, "3.0")
    schema = {"type": "string", "nullable": True, "x-internal": True}
    assert validators.json_schema(schema) == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": ["string", "null"],
    }
    validator = validators.compile(schema)
    assert (validator.is_valid(None), validator.is_valid("a"), validator.is_valid(1)) == (
        True, True, False)


SHARED = {"components": {"schemas": {
    "Node": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 3},
                                              "next": {"$ref": "#/components/schemas/Node"}}},
    "Bad": {"type": "string", "pattern": "("},
    "Other": {"type": "integer"},
}}}


def test_a_direction_compiles_its_schemas_once_together() -> None:
    validators = SchemaValidators(SHARED, "3.1", alone=-1)
    node = {"$ref": "#/components/schemas/Node"}
    one = validators.compile(node)
    many = validators.compile({"type": "array", "items": node})
    response = validators.compile(node, "response")
    validators.build()
    assert one._compiled is many._compiled
    assert response._compiled is not one._compiled
    assert many.errors([{"next": {"name": "long"}}]) == [
        detail("/0/next/name", "maxLength", "must NOT have more than 3 characters", limit=3)]
    assert one.errors({"next": {"next": {"name": 1}}}) == [
        detail("/next/next/name", "type", "must be string", type="string")]
    # A target where a JSON Schema keyword could stand at the shared document's root is not
    # shared: here `#/properties/...` would collide with the validators' own entries.
    odd = SchemaValidators({"properties": {"Id": {"type": "integer"}}, **SHARED}, "3.1", alone=-1)
    alone = odd.compile({"$ref": "#/properties/Id"})
    shared = odd.compile({"$ref": "#/components/schemas/Node"})
    odd.build()
    assert alone._compiled is not shared._compiled
    assert (alone.is_valid(1), alone.is_valid("1"), shared.is_valid({"name": "abc"})) == (
        True, False, True)


def test_a_schema_reaching_few_others_is_compiled_alone() -> None:
    validators = SchemaValidators(SHARED, "3.1", alone=1)
    few = validators.compile({"$ref": "#/components/schemas/Node"})  # Node alone
    many = validators.compile({"items": {"$ref": "#/components/schemas/Node"}, "contains": {
        "$ref": "#/components/schemas/Other"}})
    validators.build()
    assert few._compiled is not many._compiled
    assert (few._key, many._key) == (None, "0")
    assert SchemaValidators(SHARED, "3.1").alone == ALONE


def test_a_validator_made_after_a_build_is_compiled_in_the_next() -> None:
    validators = SchemaValidators(SHARED, "3.1", alone=-1)
    first = validators.compile({"$ref": "#/components/schemas/Node"})
    assert first.is_valid({"name": "abc"})  # builds
    built = first._compiled
    later = validators.compile({"type": "integer"})
    assert later._compiled is None  # until it is first used, or the next build
    assert later.errors("1") == [detail("", "type", "must be integer", type="integer")]
    assert first._compiled is built and later._compiled is not built
    assert not first.is_valid({"name": "abcd"})


def test_a_fault_in_a_referenced_schema_fails_each_schema_that_reaches_it() -> None:
    validators = SchemaValidators(SHARED, "3.1", alone=-1)
    for schema in ({"$ref": "#/components/schemas/Bad"},
                   {"items": {"$ref": "#/components/schemas/Bad"}},
                   {"type": "string", "pattern": "["}):
        with pytest.raises(ValueError, match="is not a \"regex\""):
            validators.compile(schema)
    assert validators.compile({"$ref": "#/components/schemas/Node"}).is_valid({})


def test_errors_for_a_valid_instance_do_not_iterate_errors() -> None:
    class Spy:
        iterated = False

        def is_valid(self, instance: Any) -> bool:
            return True

        def iter_errors(self, instance: Any) -> list[Any]:
            Spy.iterated = True
            return []

    validator = SchemaValidators({}, "3.1").compile({"type": "string"})
    validator._compiled = Spy()
    assert validator.errors("a") == []
    assert Spy.iterated is False


def test_an_error_that_cannot_be_placed_is_still_reported() -> None:
    from server.validation import _Report

    validator = Validator({"type": "string"})
    report = _Report({"unrelated": True}, 5)  # not the schema that produced the errors
    assert report.details(validator._compiled.iter_errors(5)) == [
        detail("", "type", '5 is not of type "string"'),
    ]


def test_unique_items_compares_nested_values_as_json() -> None:
    validator = SchemaValidators({}, "3.1").compile({"type": "array", "uniqueItems": True})
    duplicate = {"path": "", "code": "uniqueItems",
                 "message": "must NOT have duplicate items (items ## 0 and 1 are identical)",
                 "info": {"i": 1, "j": 0}}
    assert validator.errors([[1], [1.0]]) == [duplicate]
    assert validator.errors([{"a": {"b": 2}}, {"a": {"b": 2.0}}]) == [duplicate]
    assert validator.errors([[1], [True]]) == []


def test_integers_beyond_64_bits_are_judged_exactly_as_instances_and_bounds() -> None:
    wide = 2**70
    validators = SchemaValidators({}, "3.1")
    validator = validators.compile({"type": "integer", "minimum": -wide, "maximum": wide})
    assert validator is validators.compile({"maximum": wide, "minimum": -wide, "type": "integer"})
    assert validator.errors(wide) == validator.errors(-wide) == []
    assert validator.errors(wide + 1) == [{
        "path": "", "code": "maximum", "message": f"must be <= {wide}",
        "info": {"comparison": "<=", "limit": wide}}]
    assert validator.errors(-wide - 1)[0]["message"] == f"must be >= {-wide}"
    listed = validators.compile({"type": "array", "uniqueItems": True, "items": {"enum": [wide,
                                                                                     wide + 1]}})
    assert listed.errors([wide, wide + 1]) == []
    assert listed.errors([wide + 1, wide + 1])[0]["code"] == "uniqueItems"
