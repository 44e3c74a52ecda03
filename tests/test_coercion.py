"""Coercion of split parameter strings into typed values, by schema type and format."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.coercion import CoercionError, coerce, compile_coercer
from server.types import Direction
from server.validation import SchemaValidators, Validator

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INTEGER = {"type": "integer"}
INT32 = {"type": "integer", "format": "int32"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}


def refused(raw: Any, schema: Any, document: Any = None) -> CoercionError:
    with pytest.raises(CoercionError) as caught:
        coerce(raw, schema, document or {})
    return caught.value


# -- integers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("42", 42), ("-7", -7), ("+7", 7), ("007", 7),
     (str(INT64_MAX), INT64_MAX), (str(INT64_MIN), INT64_MIN)],
)
def test_integers(raw: str, expected: int) -> None:
    value = coerce(raw, INTEGER, {})
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    "raw",
    ["1.5", "1e-3", " 1", "1 ", "", "abc", "0x10", "1_000", "\u0661", "--1", "1.0.0", "+", "NaN",
     "Infinity", "1e", "."],
)
def test_integers_refuse_anything_but_whole_numbers(raw: str) -> None:
    error = refused(raw, INTEGER)
    assert error.detail == {"path": "", "code": "type", "message": "must be integer",
                            "info": {"type": "integer"}}
    assert error.raw == raw


@pytest.mark.parametrize(("raw", "expected"), [
    ("1.0", 1), ("-75511117.0", -75511117), ("1e3", 1000), ("1.234e+3", 1234), ("2.", 2),
    ("-0.0", 0), ("10e-1", 1)])
def test_whole_numbers_in_decimal_or_exponent_form_are_integers_as_in_loopback(
        raw: str, expected: int) -> None:
    # JSON Schema's integers are numbers with no fraction; LoopBack reads them with `Number`.
    # Schemathesis sends `-75511117.0` for an integer id.
    value = coerce(raw, INTEGER, {})
    assert (value, type(value)) == (expected, int)


def test_a_whole_number_past_the_range_in_exponent_form_is_a_format_error_at_once() -> None:
    error = refused("1e999999999", INTEGER)
    assert error.detail["code"] == "format"
    assert refused("-1.234e+30", INT32).detail["info"] == {"format": "int32"}


@pytest.mark.parametrize(
    ("raw", "schema", "format_"),
    [(str(INT64_MAX + 1), INTEGER, "int64"), (str(INT64_MIN - 1), INTEGER, "int64"),
     ("9" * 5000, INTEGER, "int64"), (str(INT32_MAX + 1), INT32, "int32"),
     (str(INT32_MIN - 1), INT32, "int32")],
)
def test_integers_refuse_values_out_of_their_format_range(
    raw: str, schema: Any, format_: str
) -> None:
    error = refused(raw, schema)
    assert error.detail == {"path": "", "code": "format",
                            "message": f'must match format "{format_}"',
                            "info": {"format": format_}}


def test_int32_bounds_are_inclusive() -> None:
    assert coerce(str(INT32_MAX), INT32, {}) == INT32_MAX
    assert coerce(str(INT32_MIN), INT32, {}) == INT32_MIN


def test_leading_zeros_do_not_count_against_the_range() -> None:
    assert coerce("0" * 30 + "5", INTEGER, {}) == 5


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_int64_round_trip(value: int) -> None:
    assert coerce(str(value), INTEGER, {}) == value


@given(st.integers(min_value=INT32_MIN, max_value=INT32_MAX))
def test_int32_round_trip(value: int) -> None:
    assert coerce(str(value), INT32, {}) == value


@given(st.integers(min_value=1), st.booleans())
def test_beyond_int64_is_always_refused(excess: int, negative: bool) -> None:
    value = INT64_MIN - excess if negative else INT64_MAX + excess
    assert refused(str(value), INTEGER).detail["code"] == "format"


WIDE = 2**70
WIDENED = {"type": "integer", "maximum": WIDE}


@given(st.integers(min_value=INT64_MIN, max_value=WIDE))
def test_a_declared_bound_beyond_int64_widens_its_side_exactly(value: int) -> None:
    assert coerce(str(value), WIDENED, {}) == value


def test_past_a_declared_bound_is_left_for_the_validator_to_name() -> None:
    assert coerce(str(WIDE + 1), WIDENED, {}) == WIDE + 1
    # Text too long for any bound is not converted: a stand-in just past the bound is checked.
    assert coerce("9" * 5000, WIDENED, {}) == WIDE + 1
    assert coerce("9" * 5000, {"type": "integer", "maximum": 1e30}, {}) == int(1e30) + 1
    assert coerce("-" + "9" * 5000, {"type": "integer", "minimum": -WIDE, "maximum": 0},
                  {}) == -WIDE - 1


def test_the_side_left_open_stays_int64() -> None:
    assert coerce(str(INT64_MAX + 1), WIDENED, {}) == INT64_MAX + 1
    for raw in (str(INT64_MIN - 1), "-" + "9" * 5000):
        assert refused(raw, WIDENED).detail["info"] == {"format": "int64"}
    # ... and an explicit format is never widened.
    assert refused(str(INT64_MAX + 1), {"type": "integer", "format": "int64", "maximum": WIDE}
                   ).detail["info"] == {"format": "int64"}


def test_integers_that_may_also_be_numbers_or_are_listed_are_exact() -> None:
    assert coerce(str(WIDE), {"type": ["integer", "number"]}, {}) == WIDE
    assert coerce(str(WIDE), {"type": "integer", "enum": [1, WIDE]}, {}) == WIDE
    assert refused("9" * 5000, {"type": "integer", "enum": [1, WIDE]}).detail["code"] == "format"


# -- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1.0), ("-1.5", -1.5), ("1e3", 1000.0), ("2.5E-3", 0.0025), (".5", 0.5), ("5.", 5.0),
     ("+3", 3.0)],
)
def test_numbers(raw: str, expected: float) -> None:
    value = coerce(raw, NUMBER, {})
    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize(
    "raw", ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "", " 1", "1,5", "0x1", "1_0",
            "e5", "."],
)
def test_numbers_refuse_non_finite_and_malformed_text(raw: str) -> None:
    assert refused(raw, NUMBER).detail == {"path": "", "code": "type", "message": "must be number",
                                           "info": {"type": "number"}}


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_round_trip(value: float) -> None:
    assert coerce(repr(value), NUMBER, {}) == value


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_are_numbers(value: int) -> None:
    assert coerce(str(value), {"type": "number", "format": "double"}, {}) == value


# -- booleans and null ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("True", True), ("1", True),
     ("false", False), ("FALSE", False), ("fAlSe", False), ("0", False)],
)
def test_booleans(raw: str, expected: bool) -> None:
    assert coerce(raw, BOOLEAN, {}) is expected


@pytest.mark.parametrize("raw", ["yes", "no", "", "2", " true", "t", "on"])
def test_booleans_refuse_other_text(raw: str) -> None:
    assert refused(raw, BOOLEAN).detail["message"] == "must be boolean"


@given(st.booleans(), st.sampled_from([str.lower, str.upper, str.title]))
def test_boolean_round_trip(value: bool, case: Any) -> None:
    assert coerce(case(str(value)), BOOLEAN, {}) is value
    assert coerce(str(int(value)), BOOLEAN, {}) is value


def test_null_accepts_empty_and_null_text() -> None:
    assert coerce("", {"type": "null"}, {}) is None
    assert coerce("null", {"type": "null"}, {}) is None
    assert refused("nil", {"type": "null"}).detail["message"] == "must be null"


# -- strings stay strings ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "schema",
    [{"type": "string"}, {"type": "string", "format": "date"}, {"type": "string", "format": "uuid"},
     {"type": "string", "format": "byte"}, {"type": "string", "format": "date-time"}, {}, True],
)
def test_strings_and_untyped_values_stay_as_sent(schema: Any) -> None:
    assert coerce("2024-01-01", schema, {}) == "2024-01-01"
    assert coerce("", schema, {}) == ""


def test_typed_values_pass_through_for_the_validator_to_judge() -> None:
    assert coerce(5, INTEGER, {}) == 5
    assert coerce(["x"], INTEGER, {}) == ["x"]
    assert coerce({"a": 1}, {"type": "array"}, {}) == {"a": 1}
    assert coerce(["a"], {"type": "object"}, {}) == ["a"]


# -- type lists, nullable, enums --------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("5", {"type": ["integer", "null"]}, 5),
        ("null", {"type": ["integer", "null"]}, None),
        ("", {"type": ["integer", "null"]}, None),
        ("5", {"type": "integer", "nullable": True}, 5),
        ("null", {"type": "integer", "nullable": True}, None),
        ("5", {"type": ["string", "integer"]}, 5),
        ("x", {"type": ["string", "integer"]}, "x"),
        ("true", {"type": ["string", "boolean"]}, True),
        ("1.5", {"type": ["integer", "number"]}, 1.5),
        ("2", {"type": ["number", "integer"]}, 2),
        ("3", {"type": ["array", "integer"], "items": {"type": "integer"}}, 3),
        ("x", {"type": ["array", "integer"], "items": {"type": "string"}}, ["x"]),
        ("2", {"enum": [1, 2, 3]}, 2),
        ("true", {"const": True}, True),
        ("b", {"enum": ["a", "b"]}, "b"),
    ],
)
def test_type_lists_try_the_most_specific_type_first(raw: str, schema: Any, expected: Any) -> None:
    value = coerce(raw, schema, {})
    assert value == expected
    assert type(value) is type(expected)


def test_type_list_refusal_names_every_type() -> None:
    assert refused("x", {"type": ["integer", "null"]}).detail == {
        "path": "", "code": "type", "message": "must be integer,null",
        "info": {"type": "integer,null"}}


def test_nullable_without_type_changes_nothing() -> None:
    assert coerce("null", {"nullable": True}, {}) == "null"


def test_type_list_routes_containers_by_kind() -> None:
    schema = {"type": ["object", "array", "null"], "properties": {"n": INTEGER},
              "items": INTEGER}
    assert coerce({"n": "1"}, schema, {}) == {"n": 1}
    assert coerce(["1", "2"], schema, {}) == [1, 2]


# -- arrays and objects -----------------------------------------------------------------------

def test_arrays_item_by_item() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    assert coerce(["1", "2", "3"], schema, {}) == [1, 2, 3]
    assert coerce([], schema, {}) == []
    assert coerce("4", schema, {}) == [4]


def test_array_failure_points_at_the_item() -> None:
    error = refused(["1", "x"], {"type": "array", "items": INTEGER})
    assert error.detail == {"path": "/1", "code": "type", "message": "must be integer",
                            "info": {"type": "integer"}}
    assert error.raw == "x"


def test_prefix_items_then_items() -> None:
    schema = {"type": "array", "prefixItems": [BOOLEAN, NUMBER], "items": INTEGER}
    assert coerce(["true", "1.5", "2", "3"], schema, {}) == [True, 1.5, 2, 3]


def test_untyped_items_keep_strings() -> None:
    assert coerce(["1", "a"], {"type": "array"}, {}) == ["1", "a"]


def test_objects_by_property_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"R": INTEGER, "ok": BOOLEAN, "name": {"type": "string"}},
    }
    assert coerce({"R": "100", "ok": "0", "name": "7", "extra": "1"}, schema, {}) == {
        "R": 100, "ok": False, "name": "7", "extra": "1"}


def test_objects_use_additional_and_pattern_properties() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "patternProperties": {"^is_": BOOLEAN},
        "additionalProperties": INTEGER,
    }
    assert coerce({"id": "1", "is_on": "true", "n": "2"}, schema, {}) == {
        "id": "1", "is_on": True, "n": 2}


def test_object_failure_path_escapes_keys() -> None:
    schema = {"type": "object", "properties": {"a/b": {"type": "array", "items": INTEGER}}}
    error = refused({"a/b": ["1", "z"]}, schema)
    assert error.detail["path"] == "/a~1b/1"


def test_nested_objects() -> None:
    schema = {"type": "object", "properties": {
        "where": {"type": "object", "additionalProperties": True},
        "limit": INTEGER,
        "order": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "object", "additionalProperties": BOOLEAN},
    }}
    raw = {"where": {"id": "1"}, "limit": "10", "order": "title DESC", "fields": {"title": "true"}}
    assert coerce(raw, schema, {}) == {
        "where": {"id": "1"}, "limit": 10, "order": ["title DESC"], "fields": {"title": True}}


def test_coercion_builds_new_containers() -> None:
    raw = {"a": ["1"]}
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": INTEGER}}}
    assert coerce(raw, schema, {}) == {"a": [1]}
    assert raw == {"a": ["1"]}


# -- $ref, allOf, oneOf, anyOf ----------------------------------------------------------------

DOCUMENT = {
    "components": {
        "schemas": {
            "Id": {"$ref": "#/components/schemas/Int"},
            "Int": {"type": "integer", "format": "int32"},
            "Named": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Sized": {"type": "object",
                      "properties": {"size": {"$ref": "#/components/schemas/Id"}}},
            "Tree": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
                },
            },
        }
    }
}


def test_refs_are_followed() -> None:
    assert coerce("5", {"$ref": "#/components/schemas/Id"}, DOCUMENT) == 5
    assert refused(str(2**31), {"$ref": "#/components/schemas/Id"}, DOCUMENT).detail[
        "info"] == {"format": "int32"}


def test_recursive_schemas_compile_once_and_coerce_deeply() -> None:
    coercer = compile_coercer({"$ref": "#/components/schemas/Tree"}, DOCUMENT)
    raw = {"value": "1", "children": [{"value": "2", "children": [{"value": "3"}]}]}
    assert coercer(raw) == {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}


def test_all_of_merges_properties() -> None:
    schema = {"allOf": [{"$ref": "#/components/schemas/Named"},
                        {"$ref": "#/components/schemas/Sized"}]}
    assert coerce({"name": "1", "size": "2"}, schema, DOCUMENT) == {"name": "1", "size": 2}


def test_all_of_with_its_own_type() -> None:
    schema = {"type": "integer", "allOf": [{"minimum": 1}]}
    assert coerce("3", schema, {}) == 3


def test_all_of_that_refers_to_itself_terminates() -> None:
    document = {"A": {"allOf": [{"$ref": "#/A"}, {"type": "integer"}]}}
    assert coerce("3", {"$ref": "#/A"}, document) == 3


@pytest.mark.parametrize("keyword", ["oneOf", "anyOf"])
def test_alternatives_try_specific_types_before_strings(keyword: str) -> None:
    schema = {keyword: [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}
    assert coerce("12", schema, {}) == 12
    assert coerce("true", schema, {}) is True
    assert coerce("x", schema, {}) == "x"


def test_alternatives_refuse_when_none_fits() -> None:
    schema = {"oneOf": [INTEGER, BOOLEAN]}
    assert refused("x", schema).detail == {
        "path": "", "code": "oneOf", "message": "must match exactly one schema in oneOf",
        "info": {}}
    assert refused("x", {"anyOf": [INTEGER, BOOLEAN]}).detail["message"] == (
        "must match a schema in anyOf")


def test_alternatives_coerce_objects() -> None:
    schema = {"anyOf": [{"type": "object", "properties": {"n": INTEGER}}, {"type": "string"}]}
    assert coerce({"n": "4"}, schema, {}) == {"n": 4}


def test_alternatives_keep_the_first_branch_whose_own_schema_accepts_the_result() -> None:
    # A deepObject dict passes untouched through the scalar branch; the operators branch wins.
    condition = {"anyOf": [INTEGER, {"type": "object", "additionalProperties": False,
                                     "properties": {"gt": INTEGER, "like": {"type": "string"}}}]}
    assert coerce("2", condition, {}) == 2
    assert coerce({"gt": "2"}, condition, {}) == {"gt": 2}
    # Among object branches, the one the value belongs to coerces it.
    tagged = {"oneOf": [
        {"type": "object", "required": ["kind"], "properties": {
            "kind": {"enum": ["a"]}, "n": BOOLEAN}},
        {"type": "object", "required": ["kind"], "properties": {
            "kind": {"enum": ["b"]}, "n": INTEGER}},
    ]}
    assert coerce({"kind": "b", "n": "1"}, tagged, {}) == {"kind": "b", "n": 1}
    assert coerce({"kind": "a", "n": "1"}, tagged, {}) == {"kind": "a", "n": True}


def test_alternatives_report_the_branch_that_had_the_values_shape() -> None:
    condition = {"anyOf": [INTEGER, {"type": "object", "properties": {"gt": INTEGER}}]}
    assert refused({"gt": "x"}, condition).detail == {
        "path": "/gt", "code": "type", "message": "must be integer", "info": {"type": "integer"}}
    # No branch accepts it and none fails inside: the first result goes to the validator.
    assert coerce({"lt": "x"}, {"anyOf": [INTEGER, {"type": "object", "required": ["gt"]}]},
                  {}) == {"lt": "x"}


def test_alternatives_are_judged_by_the_validators_given() -> None:
    # The app's validators: the branches are compiled with every other schema, once.
    compiled: list[Any] = []

    class Recording(SchemaValidators):
        def compile(self, schema: Any, direction: Direction = "request") -> Validator:
            compiled.append(schema)
            return super().compile(schema, direction)

    document = {"components": {"schemas": {"Range": {
        "type": "object", "properties": {"gt": INTEGER}, "additionalProperties": False}}}}
    validators = Recording(document, "3.1")
    created = {"anyOf": [INTEGER, {"$ref": "#/components/schemas/Range"}]}
    coerce_created = compile_coercer(created, document, validators)
    assert compiled == [INTEGER, {"$ref": "#/components/schemas/Range"}]
    validators.build()
    assert (coerce_created("3"), coerce_created({"gt": "4"})) == (3, {"gt": 4})


# -- a space of values ------------------------------------------------------------------------

@given(st.lists(st.integers(min_value=INT64_MIN, max_value=INT64_MAX)))
def test_integer_arrays_round_trip(values: list[int]) -> None:
    assert coerce([str(v) for v in values], {"type": "array", "items": INTEGER}, {}) == values


@given(st.dictionaries(st.text(), st.one_of(st.booleans(), st.integers(-(2**31), 2**31 - 1))))
def test_objects_round_trip_through_additional_properties(value: dict[str, Any]) -> None:
    schema = {"type": "object", "additionalProperties": {"type": ["boolean", "integer"]}}
    raw = {k: str(v).lower() for k, v in value.items()}
    assert coerce(raw, schema, {}) == value


@given(st.text())
def test_integer_coercion_never_raises_anything_but_coercion_error(text: str) -> None:
    try:
        value = coerce(text, INTEGER, {})
    except CoercionError:
        return
    assert isinstance(value, int)
    assert INT64_MIN <= value <= INT64_MAX


@given(st.text())
def test_number_coercion_only_yields_finite_floats(text: str) -> None:
    try:
        value = coerce(text, NUMBER, {})
    except CoercionError:
        return
    assert math.isfinite(value)
