"""Compiled parameter parsing: raw request parts to typed, validated values, or exact errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.errors import InvalidParameterValue, MissingRequiredParameter, render_error
from server.parameters import ParameterParser, RequestParts, compile_parameters
from server.validation import SchemaValidators

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "components": {
        "parameters": {
            "IdPath": {"name": "id", "in": "path", "required": True,
                       "schema": {"$ref": "#/components/schemas/Id"}},
        },
        "schemas": {
            "Id": {"type": "integer", "format": "int64", "minimum": 1},
            "Filter": {
                "type": "object",
                "properties": {
                    "where": {"type": "object", "additionalProperties": True},
                    "fields": {"type": "object", "additionalProperties": {"type": "boolean"}},
                    "order": {"type": "array", "items": {"type": "string"}},
                    "limit": {"type": "integer", "minimum": 0},
                    "skip": {"type": "integer", "minimum": 0},
                },
                "additionalProperties": False,
            },
        },
    },
}


def validators(document: Any = DOCUMENT) -> SchemaValidators:
    return SchemaValidators(document, "3.1")


def parser(*parameters: dict[str, Any], document: Any = DOCUMENT) -> ParameterParser:
    return compile_parameters(list(parameters), validators(document), document)


def parts(path: dict[str, str] | None = None, query: str = "",
          headers: dict[str, str] | None = None,
          cookies: dict[str, str] | None = None) -> RequestParts:
    return RequestParts(path=path or {}, query=query, headers=headers or {}, cookies=cookies or {})


def body_of(error: Exception) -> Any:
    return orjson.loads(render_error(error)[2])


def invalid(parameter_parser: ParameterParser, request: RequestParts) -> InvalidParameterValue:
    with pytest.raises(InvalidParameterValue) as caught:
        parameter_parser.parse(request)
    assert caught.value.status == 400
    return caught.value


def query_param(name: str, schema: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, **extra}


INTEGER = {"type": "integer"}
COLORS = ["blue", "black", "brown"]
RGB_SCHEMA = {"type": "object", "properties": {c: INTEGER for c in "RGB"}}
RGB = {"R": 100, "G": 200, "B": 150}


# -- every location and style, end to end -----------------------------------------------------

@pytest.mark.parametrize(
    ("style", "explode", "schema", "text", "expected"),
    [
        (None, None, {"type": "string"}, "blue", "blue"),
        ("simple", False, {"type": "array"}, "blue,black,brown", COLORS),
        ("simple", True, RGB_SCHEMA, "R=100,G=200,B=150", RGB),
        ("simple", False, RGB_SCHEMA, "R,100,G,200,B,150", RGB),
        ("label", False, {"type": "string"}, ".blue", "blue"),
        ("label", False, {"type": "array"}, ".blue,black,brown", COLORS),
        ("label", True, {"type": "array"}, ".blue.black.brown", COLORS),
        ("label", False, RGB_SCHEMA, ".R,100,G,200,B,150", RGB),
        ("label", True, RGB_SCHEMA, ".R=100.G=200.B=150", RGB),
        ("matrix", False, {"type": "string"}, ";color=blue", "blue"),
        ("matrix", False, {"type": "array"}, ";color=blue,black,brown", COLORS),
        ("matrix", True, {"type": "array"}, ";color=blue;color=black;color=brown", COLORS),
        ("matrix", False, RGB_SCHEMA, ";color=R,100,G,200,B,150", RGB),
        ("matrix", True, RGB_SCHEMA, ";R=100;G=200;B=150", RGB),
    ],
)
def test_path_styles(style: Any, explode: Any, schema: Any, text: str, expected: Any) -> None:
    spec = {"name": "color", "in": "path", "required": True, "schema": schema}
    if style:
        spec["style"] = style
    if explode is not None:
        spec["explode"] = explode
    assert parser(spec).parse(parts(path={"color": text})) == {"color": expected}


@pytest.mark.parametrize(
    ("style", "explode", "schema", "query", "expected"),
    [
        (None, None, {"type": "string"}, "color=blue", "blue"),
        ("form", False, {"type": "array"}, "color=blue,black,brown", COLORS),
        (None, None, {"type": "array"}, "color=blue&color=black&color=brown", COLORS),
        ("form", False, RGB_SCHEMA, "color=R,100,G,200,B,150", RGB),
        (None, None, RGB_SCHEMA, "R=100&G=200&B=150", RGB),
        ("spaceDelimited", False, {"type": "array"}, "color=blue%20black%20brown", COLORS),
        ("spaceDelimited", False, RGB_SCHEMA, "color=R%20100%20G%20200%20B%20150", RGB),
        ("pipeDelimited", False, {"type": "array"}, "color=blue|black|brown", COLORS),
        ("pipeDelimited", False, RGB_SCHEMA, "color=R|100|G|200|B|150", RGB),
        ("deepObject", True, RGB_SCHEMA, "color[R]=100&color[G]=200&color[B]=150", RGB),
    ],
)
def test_query_styles(style: Any, explode: Any, schema: Any, query: str, expected: Any) -> None:
    spec = query_param("color", schema)
    if style:
        spec["style"] = style
    if explode is not None:
        spec["explode"] = explode
    assert parser(spec).parse(parts(query=query)) == {"color": expected}


@pytest.mark.parametrize(
    ("explode", "schema", "value", "expected"),
    [(False, {"type": "string"}, "blue", "blue"),
     (False, {"type": "array", "items": {"type": "string"}}, "blue, black, brown", COLORS),
     (True, RGB_SCHEMA, "R=100,G=200,B=150", RGB),
     (False, RGB_SCHEMA, "R,100,G,200,B,150", RGB)],
)
def test_header_simple(explode: bool, schema: Any, value: str, expected: Any) -> None:
    spec = {"name": "X-Color", "in": "header", "explode": explode, "schema": schema}
    assert parser(spec).parse(parts(headers={"x-color": value})) == {"X-Color": expected}


@pytest.mark.parametrize(
    ("explode", "schema", "cookies", "expected"),
    [(True, {"type": "string"}, {"color": "blue"}, "blue"),
     (False, {"type": "array"}, {"color": "blue,black,brown"}, COLORS),
     (False, RGB_SCHEMA, {"color": "R,100,G,200,B,150"}, RGB),
     (True, RGB_SCHEMA, {"R": "100", "G": "200", "B": "150"}, RGB)],
)
def test_cookie_form(explode: bool, schema: Any, cookies: Any, expected: Any) -> None:
    spec = {"name": "color", "in": "cookie", "explode": explode, "schema": schema}
    assert parser(spec).parse(parts(cookies=cookies)) == {"color": expected}


def test_many_parameters_at_once() -> None:
    parameter_parser = parser(
        {"$ref": "#/components/parameters/IdPath"},
        query_param("limit", INTEGER),
        query_param("tags", {"type": "array", "items": INTEGER}),
        query_param("active", {"type": "boolean"}),
        {"name": "X-Rate", "in": "header", "schema": {"type": "number"}},
        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
    )
    request = parts(path={"id": "42"}, query="limit=10&tags=1&tags=2&active=TRUE&unused=x",
                    headers={"x-rate": "1.5"}, cookies={"session": "abc"})
    assert parameter_parser.parse(request) == {
        "id": 42, "limit": 10, "tags": [1, 2], "active": True, "X-Rate": 1.5, "session": "abc"}
    assert parameter_parser.names == ("id", "limit", "tags", "active", "X-Rate", "session")


def test_a_later_parameter_replaces_an_earlier_one_with_the_same_name_and_place() -> None:
    parameter_parser = parser(query_param("n", {"type": "string"}), query_param("n", INTEGER))
    assert parameter_parser.parse(parts(query="n=3")) == {"n": 3}


def test_the_same_name_in_two_places_is_two_parameters() -> None:
    parameter_parser = parser(query_param("id", INTEGER),
                              {"name": "id", "in": "header", "schema": {"type": "string"}})
    assert parameter_parser.names == ("id", "id")


def test_parse_has_no_side_effects_on_parts() -> None:
    path = {"id": "5"}
    parser({"$ref": "#/components/parameters/IdPath"}).parse(parts(path=path))
    assert path == {"id": "5"}


# -- errors -----------------------------------------------------------------------------------

def test_bad_path_parameter_is_400_with_loopback_message() -> None:
    error = invalid(parser({"$ref": "#/components/parameters/IdPath"}), parts(path={"id": "abc"}))
    assert body_of(error) == {"error": {
        "statusCode": 400, "name": "BadRequestError",
        "message": 'Invalid data "abc" for parameter "id".', "code": "INVALID_PARAMETER_VALUE"}}


@pytest.mark.parametrize("raw", ["1.5", "1e-3", " 1", str(2**63), "9.3e18"])
def test_strict_integers_in_a_path(raw: str) -> None:
    error = invalid(parser({"$ref": "#/components/parameters/IdPath"}), parts(path={"id": raw}))
    assert error.message == f'Invalid data "{raw}" for parameter "id".'
    assert error.details is None


def test_whole_numbers_in_exponent_or_decimal_form_are_path_integers_as_in_loopback() -> None:
    parameter_parser = parser({"$ref": "#/components/parameters/IdPath"})
    assert parameter_parser.parse(parts(path={"id": "1e3"})) == {"id": 1000}
    assert parameter_parser.parse(parts(path={"id": "7.0"})) == {"id": 7}


def test_schema_failure_names_the_raw_value_and_carries_the_validator_details() -> None:
    parameter_parser = parser({"$ref": "#/components/parameters/IdPath"})
    error = invalid(parameter_parser, parts(path={"id": "0"}))
    assert body_of(error) == {"error": {
        "statusCode": 400, "name": "BadRequestError",
        "message": 'Invalid data "0" for parameter "id".', "code": "INVALID_PARAMETER_VALUE",
        "details": [{"path": "", "code": "minimum", "message": "must be >= 1",
                     "info": {"comparison": ">=", "limit": 1}}]}}


def test_array_schema_failure_names_the_raw_values() -> None:
    spec = query_param("ids", {"type": "array", "items": {"type": "integer", "minimum": 1}})
    error = invalid(parser(spec), parts(query="ids=1&ids=0"))
    assert error.message == 'Invalid data ["1","0"] for parameter "ids".'
    assert error.details == [{"path": "/1", "code": "minimum", "message": "must be >= 1",
                              "info": {"comparison": ">=", "limit": 1}}]


def test_array_item_failure_names_the_whole_raw_value() -> None:
    spec = query_param("ids", {"type": "array", "items": INTEGER})
    error = invalid(parser(spec), parts(query="ids=1&ids=x"))
    assert error.message == 'Invalid data ["1","x"] for parameter "ids".'
    assert error.details == [{"path": "/1", "code": "type", "message": "must be integer",
                              "info": {"type": "integer"}}]


def test_malformed_style_is_invalid_not_missing() -> None:
    spec = {"name": "color", "in": "path", "style": "label", "schema": {"type": "string"}}
    error = invalid(parser(spec), parts(path={"color": "blue"}))
    assert error.message == 'Invalid data "blue" for parameter "color".'


def test_repeated_primitive_query_parameter_is_invalid() -> None:
    error = invalid(parser(query_param("n", INTEGER)), parts(query="n=1&n=2"))
    assert error.message == 'Invalid data ["1","2"] for parameter "n".'


def test_missing_required_query_parameter() -> None:
    spec = query_param("q", {"type": "string"}, required=True)
    with pytest.raises(MissingRequiredParameter) as caught:
        parser(spec).parse(parts())
    assert body_of(caught.value) == {"error": {
        "statusCode": 400, "name": "BadRequestError",
        "message": "Required parameter q is missing!", "code": "MISSING_REQUIRED_PARAMETER"}}


@pytest.mark.parametrize("query", ["q=", "q"])
def test_blank_required_parameter_is_missing(query: str) -> None:
    spec = query_param("q", {"type": "string"}, required=True)
    with pytest.raises(MissingRequiredParameter):
        parser(spec).parse(parts(query=query))


def test_blank_required_parameter_with_allow_empty_value_is_kept() -> None:
    spec = query_param("q", {"type": "string"}, required=True, allowEmptyValue=True)
    assert parser(spec).parse(parts(query="q=")) == {"q": ""}


def test_blank_optional_integer_is_invalid() -> None:
    error = invalid(parser(query_param("n", INTEGER)), parts(query="n="))
    assert error.message == 'Invalid data "" for parameter "n".'


def test_blank_optional_string_is_an_empty_string() -> None:
    assert parser(query_param("q", {"type": "string"})).parse(parts(query="q=")) == {"q": ""}


def test_path_parameters_are_always_required() -> None:
    spec = {"name": "id", "in": "path", "schema": INTEGER}
    with pytest.raises(MissingRequiredParameter) as caught:
        parser(spec).parse(parts())
    assert caught.value.message == "Required parameter id is missing!"


def test_required_header_and_cookie() -> None:
    header = {"name": "X-Token", "in": "header", "required": True, "schema": {"type": "string"}}
    cookie = {"name": "sid", "in": "cookie", "required": True, "schema": {"type": "string"}}
    with pytest.raises(MissingRequiredParameter, match="Required parameter X-Token is missing!"):
        parser(header).parse(parts())
    with pytest.raises(MissingRequiredParameter, match="Required parameter sid is missing!"):
        parser(cookie).parse(parts())


# -- defaults ---------------------------------------------------------------------------------

def test_omitted_optional_parameters_are_left_out() -> None:
    assert parser(query_param("n", INTEGER)).parse(parts()) == {}


def test_defaults_are_applied_when_omitted() -> None:
    parameter_parser = parser(
        query_param("limit", {"type": "integer", "default": 10}),
        query_param("sort", {"type": "array", "items": {"type": "string"}, "default": ["id"]}),
        {"name": "X-Mode", "in": "header", "schema": {"type": "string", "default": "fast"}},
    )
    assert parameter_parser.parse(parts()) == {"limit": 10, "sort": ["id"], "X-Mode": "fast"}
    assert parameter_parser.parse(parts(query="limit=3")) == {
        "limit": 3, "sort": ["id"], "X-Mode": "fast"}


def test_default_containers_are_fresh_for_each_request() -> None:
    parameter_parser = parser(query_param("sort", {"type": "array", "default": ["id"]}))
    first = parameter_parser.parse(parts())
    first["sort"].append("mutated")
    assert parameter_parser.parse(parts()) == {"sort": ["id"]}


def test_defaults_through_refs() -> None:
    document = {**DOCUMENT, "components": {**DOCUMENT["components"], "schemas": {
        "Page": {"type": "integer", "default": 1}}}}
    spec = query_param("page", {"$ref": "#/components/schemas/Page"})
    assert parser(spec, document=document).parse(parts()) == {"page": 1}


def test_a_default_does_not_rescue_a_required_parameter() -> None:
    spec = query_param("n", {"type": "integer", "default": 1}, required=True)
    with pytest.raises(MissingRequiredParameter):
        parser(spec).parse(parts())


# -- content: application/json parameters (LoopBack's filter) ---------------------------------

FILTER = {"name": "filter", "in": "query",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Filter"}}}}


def test_json_filter() -> None:
    query = 'filter={"where":{"id":1},"order":["title DESC"],"limit":10}'
    assert parser(FILTER).parse(parts(query=query)) == {
        "filter": {"where": {"id": 1}, "order": ["title DESC"], "limit": 10}}


def test_json_filter_percent_encoded() -> None:
    query = "filter=%7B%22where%22%3A%7B%22title%22%3A%22a+b%22%7D%7D"
    assert parser(FILTER).parse(parts(query=query)) == {"filter": {"where": {"title": "a b"}}}


def test_deep_object_form_of_the_filter() -> None:
    query = ("filter[where][id]=1&filter[order][0]=title DESC&filter[order][1]=id"
             "&filter[fields][title]=true&filter[limit]=10&filter[skip]=0")
    assert parser(FILTER).parse(parts(query=query)) == {"filter": {
        "where": {"id": "1"}, "order": ["title DESC", "id"], "fields": {"title": True},
        "limit": 10, "skip": 0}}


def test_plain_key_wins_over_the_deep_object_form() -> None:
    query = 'filter[limit]=5&filter={"limit":1}'
    assert parser(FILTER).parse(parts(query=query)) == {"filter": {"limit": 1}}


def test_deep_object_leaf_that_will_not_coerce_points_at_the_leaf() -> None:
    error = invalid(parser(FILTER), parts(query="filter[limit]=ten"))
    assert error.message == 'Invalid data {"limit":"ten"} for parameter "filter".'
    assert error.details == [{"path": "/limit", "code": "type", "message": "must be integer",
                              "info": {"type": "integer"}}]


def test_json_filter_failing_its_schema_carries_validator_details() -> None:
    # As LoopBack's coerceObject: the parsed object is named, not the text.
    error = invalid(parser(FILTER), parts(query='filter={"limit":-1}'))
    assert error.message == 'Invalid data {"limit":-1} for parameter "filter".'
    assert error.details == [{"path": "/limit", "code": "minimum", "message": "must be >= 0",
                              "info": {"comparison": ">=", "limit": 0}}]


def test_deep_object_filter_failing_its_schema_carries_validator_details() -> None:
    error = invalid(parser(FILTER), parts(query="filter[limit]=1&filter[bogus]=2"))
    assert error.message == 'Invalid data {"limit":1,"bogus":"2"} for parameter "filter".'
    assert error.details == [{"path": "", "code": "additionalProperties",
                              "message": "must NOT have additional properties",
                              "info": {"additionalProperty": "bogus"}}]


def test_string_formats_are_checked_by_the_validator_after_coercion() -> None:
    spec = query_param("day", {"type": "string", "format": "date"})
    assert parser(spec).parse(parts(query="day=2024-02-29")) == {"day": "2024-02-29"}
    error = invalid(parser(spec), parts(query="day=2023-02-29"))
    assert error.message == 'Invalid data "2023-02-29" for parameter "day".'
    assert error.details == [{"path": "", "code": "format", "message": 'must match format "date"',
                              "info": {"format": "date"}}]


def test_json_syntax_error() -> None:
    error = invalid(parser(FILTER), parts(query="filter={bad"))
    assert error.message == 'Invalid data "{bad" for parameter "filter".'
    assert isinstance(error.details, dict)
    assert list(error.details) == ["syntaxError"]
    assert isinstance(error.details["syntaxError"], str)


@pytest.mark.parametrize("query", ["", "filter=", "filter=null"])
def test_empty_or_null_json_filter_is_absent(query: str) -> None:
    assert parser(FILTER).parse(parts(query=query)) == {}


def test_required_json_parameter_given_as_null_is_missing() -> None:
    with pytest.raises(MissingRequiredParameter):
        parser({**FILTER, "required": True}).parse(parts(query="filter=null"))


def test_json_parameter_in_a_header() -> None:
    spec = {"name": "X-Filter", "in": "header",
            "content": {"application/json": {"schema": {"type": "object"}}}}
    assert parser(spec).parse(parts(headers={"x-filter": '{"a":[1]}'})) == {"X-Filter": {"a": [1]}}


def test_json_parameter_without_schema_is_not_validated() -> None:
    spec = {"name": "q", "in": "query", "content": {"application/json": {}}}
    assert parser(spec).parse(parts(query="q=[1,2]")) == {"q": [1, 2]}


def test_deep_object_style_parameter_also_takes_json() -> None:
    spec = query_param("color", RGB_SCHEMA, style="deepObject", explode=True)
    assert parser(spec).parse(parts(query='color={"R":1}')) == {"color": {"R": 1}}


def test_text_content_parameter_is_a_plain_string() -> None:
    spec = {"name": "q", "in": "query", "content": {"text/plain": {"schema": INTEGER}}}
    assert parser(spec).parse(parts(query="q=12")) == {"q": 12}


# -- prototype pollution, as LoopBack's parseJson refuses it ----------------------------------

def syntax_error(query: str) -> Any:
    error = invalid(parser(FILTER), parts(query=query))
    return body_of(error)["error"]


@pytest.mark.parametrize(
    ("json_text", "key"),
    [
        ('{"__proto__":{"x":1}}', "__proto__"),
        ('{"where":{"__proto__":{"x":1}}}', "__proto__"),
        ('{"where":{"and":[{"__proto__":1}]}}', "__proto__"),
        ('{"where":{"\\u005f_proto__":1}}', "__proto__"),
        ('{"__proto__.abc":1}', "__proto__.abc"),
        ('{"where":{"constructor":{"prototype":{"x":1}}}}', "constructor.prototype"),
        ('{"constructor":{"prototype.x":1}}', "constructor.prototype"),
        ('{"constructor.prototype":1}', "constructor.prototype"),
        ('{"constructor.prototype.x":1}', "constructor.prototype.x"),
    ],
)
def test_json_parameters_refuse_prototype_keys(json_text: str, key: str) -> None:
    from urllib.parse import quote

    error = syntax_error("filter=" + quote(json_text))
    assert error == {
        "statusCode": 400, "name": "BadRequestError",
        "message": f"Invalid data {orjson.dumps(json_text).decode()} for parameter \"filter\".",
        "code": "INVALID_PARAMETER_VALUE",
        "details": {"syntaxError": f'JSON string cannot contain "{key}" key.'}}


def test_innermost_prototype_key_is_reported_first() -> None:
    error = syntax_error('filter={"constructor":{"prototype":{"__proto__":1}}}')
    assert error["details"] == {"syntaxError": 'JSON string cannot contain "__proto__" key.'}


def test_constructor_alone_is_allowed() -> None:
    spec = {"name": "q", "in": "query", "content": {"application/json": {}}}
    assert parser(spec).parse(parts(query='q={"constructor":{"name":"x"}}')) == {
        "q": {"constructor": {"name": "x"}}}


@pytest.mark.parametrize(
    ("query", "key"),
    [("filter[where][__proto__][x]=1", "__proto__"),
     ("filter[where][constructor][prototype][x]=1", "constructor.prototype")],
)
def test_deep_object_form_refuses_prototype_keys(query: str, key: str) -> None:
    error = syntax_error(query)
    assert error["details"] == {"syntaxError": f'JSON string cannot contain "{key}" key.'}


# -- compile time -----------------------------------------------------------------------------

def test_unknown_location_is_refused_at_compile_time() -> None:
    with pytest.raises(ValueError, match="unknown location 'body'"):
        parser({"name": "x", "in": "body", "schema": INTEGER})


def test_parser_without_validators_still_coerces() -> None:
    parameter_parser = compile_parameters([query_param("n", INTEGER)], None, DOCUMENT)
    assert parameter_parser.parse(parts(query="n=5")) == {"n": 5}


# -- a space of values ------------------------------------------------------------------------

STYLED_ARRAYS = [
    ("query", "form", True, lambda v: "&".join(f"ids={i}" for i in v)),
    ("query", "form", False, lambda v: "ids=" + ",".join(v)),
    ("query", "spaceDelimited", False, lambda v: "ids=" + "%20".join(v)),
    ("query", "pipeDelimited", False, lambda v: "ids=" + "|".join(v)),
    ("path", "simple", False, lambda v: ",".join(v)),
    ("path", "label", False, lambda v: "." + ",".join(v)),
    ("path", "label", True, lambda v: "." + ".".join(v)),
    ("path", "matrix", False, lambda v: ";ids=" + ",".join(v)),
    ("path", "matrix", True, lambda v: "".join(f";ids={i}" for i in v)),
    ("header", "simple", False, lambda v: ", ".join(v)),
]
ARRAY_PARSERS = {
    (location, style, explode): parser({
        "name": "ids", "in": location, "style": style, "explode": explode, "required": True,
        "schema": {"type": "array", "items": {"type": "integer", "format": "int64"}}})
    for location, style, explode, _ in STYLED_ARRAYS
}


@pytest.mark.parametrize(("location", "style", "explode", "encode"), STYLED_ARRAYS)
@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20))
def test_integer_arrays_round_trip_with_each_style(
    location: str, style: str, explode: bool, encode: Any, values: list[int]
) -> None:
    text = encode([str(v) for v in values])
    request = {
        "query": parts(query=text), "path": parts(path={"ids": text}),
        "header": parts(headers={"ids": text}),
    }[location]
    assert ARRAY_PARSERS[(location, style, explode)].parse(request) == {"ids": values}


SCALAR_PARSER = parser(
    query_param("i", {"type": "integer"}, required=True),
    query_param("n", {"type": "number"}, required=True),
    query_param("b", {"type": "boolean"}, required=True),
)


@given(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
       st.booleans())
def test_scalars_round_trip_through_the_query(i: int, n: float, b: bool) -> None:
    from urllib.parse import quote

    query = f"i={i}&n={quote(repr(n))}&b={str(b).lower()}"
    assert SCALAR_PARSER.parse(parts(query=query)) == {"i": i, "n": n, "b": b}


def test_keys_rename_results_and_none_checks_without_handing_over() -> None:
    from server.errors import InvalidParameterValue as Invalid

    parser = compile_parameters(
        [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
         {"name": "debug", "in": "query", "schema": {"type": "boolean"}}],
        None, {}, keys={"id": "id_", "debug": None})
    assert parser.parse(RequestParts({"id": "3"}, "debug=true", {}, {})) == {"id_": 3}
    with pytest.raises(Invalid):
        parser.parse(RequestParts({"id": "3"}, "debug=maybe", {}, {}))


# --- integers of any size ----------------------------------------------------------------------

WIDE = 2**70


@pytest.mark.parametrize("value", [2**63, 2**64, WIDE - 1, -WIDE])
def test_integers_beyond_64_bits_inside_a_declared_range_are_exact(value: int) -> None:
    wide = {"type": "integer", "minimum": -WIDE, "exclusiveMaximum": WIDE}
    json_wide = {"name": "m", "in": "query", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"n": wide}}}}}
    parsed = parser(query_param("n", wide), json_wide).parse(
        parts(query=f"n={value}&m=" + quote(f'{{"n": {value}}}')))
    assert parsed == {"n": value, "m": {"n": value}}


def test_integers_past_a_declared_bound_beyond_64_bits_are_refused_naming_it() -> None:
    wide = query_param("n", {"type": "integer", "minimum": -WIDE, "exclusiveMaximum": WIDE})
    error = invalid(parser(wide), parts(query=f"n={WIDE}"))
    assert body_of(error)["error"]["details"] == [{
        "path": "", "code": "exclusiveMaximum", "message": f"must be < {WIDE}",
        "info": {"comparison": "<", "limit": WIDE}}]
    error = invalid(parser(wide), parts(query="n=-" + "9" * 400))
    assert body_of(error)["error"]["details"][0]["message"] == f"must be >= {-WIDE}"


def test_an_integer_without_format_or_bounds_is_still_an_int64() -> None:
    unbounded = query_param("n", INTEGER)
    assert parser(unbounded).parse(parts(query=f"n={2**63 - 1}")) == {"n": 2**63 - 1}
    invalid(parser(unbounded), parts(query=f"n={2**63}"))
    json_unbounded = {"name": "m", "in": "query", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"n": INTEGER}}}}}
    error = invalid(parser(json_unbounded), parts(query="m=" + quote(f'{{"n": {2**63}}}')))
    assert body_of(error)["error"]["details"] == [{
        "path": "/n", "code": "format", "message": 'must match format "int64"',
        "info": {"format": "int64"}}]
