"""Style/explode splitting, row by row from the OpenAPI 3.1 style examples table."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.styles import (
    StyleError,
    compile_reader,
    parse_query,
    read_deep_object,
    split_delimited,
    split_label,
    split_matrix,
    split_simple,
)

BLUE = "blue"
COLORS = ["blue", "black", "brown"]
RGB = {"R": "100", "G": "200", "B": "150"}


def read(location: str, style: str | None, explode: bool | None, shape: Any, source: Any,
         **options: Any) -> Any:
    return compile_reader(location, "color", style, explode, shape, **options)(source)


def query(text: str) -> dict[str, list[str]]:
    return parse_query(text)


# -- path: simple, label, matrix -------------------------------------------------------------

@pytest.mark.parametrize(
    ("style", "explode", "shape", "text", "expected"),
    [
        ("simple", False, "primitive", "blue", BLUE),
        ("simple", True, "primitive", "blue", BLUE),
        ("simple", False, "array", "blue,black,brown", COLORS),
        ("simple", True, "array", "blue,black,brown", COLORS),
        ("simple", False, "object", "R,100,G,200,B,150", RGB),
        ("simple", True, "object", "R=100,G=200,B=150", RGB),
        ("label", False, "primitive", ".blue", BLUE),
        ("label", True, "primitive", ".blue", BLUE),
        ("label", False, "array", ".blue,black,brown", COLORS),
        ("label", True, "array", ".blue.black.brown", COLORS),
        ("label", False, "object", ".R,100,G,200,B,150", RGB),
        ("label", True, "object", ".R=100.G=200.B=150", RGB),
        ("matrix", False, "primitive", ";color=blue", BLUE),
        ("matrix", True, "primitive", ";color=blue", BLUE),
        ("matrix", False, "array", ";color=blue,black,brown", COLORS),
        ("matrix", True, "array", ";color=blue;color=black;color=brown", COLORS),
        ("matrix", False, "object", ";color=R,100,G,200,B,150", RGB),
        ("matrix", True, "object", ";R=100;G=200;B=150", RGB),
    ],
)
def test_path_styles_follow_the_openapi_table(
    style: str, explode: bool, shape: Any, text: str, expected: Any
) -> None:
    assert read("path", style, explode, shape, {"color": text}) == expected


@pytest.mark.parametrize(
    ("style", "explode", "shape", "text", "expected"),
    [
        ("label", False, "primitive", ".", ""),
        ("label", False, "array", ".", []),
        ("label", True, "object", ".", {}),
        ("matrix", False, "primitive", ";color", ""),
        ("matrix", True, "array", ";color", []),
        ("matrix", False, "object", ";color", {}),
        ("matrix", True, "object", ";color", {}),
    ],
)
def test_path_styles_read_the_empty_column(
    style: str, explode: bool, shape: Any, text: str, expected: Any
) -> None:
    assert read("path", style, explode, shape, {"color": text}) == expected


def test_path_default_style_is_simple_unexploded() -> None:
    assert read("path", None, None, "array", {"color": "blue,black,brown"}) == COLORS
    assert read("path", None, None, "object", {"color": "R,100,G,200,B,150"}) == RGB


def test_absent_path_value_reads_as_none() -> None:
    assert read("path", "simple", False, "primitive", {}) is None


@pytest.mark.parametrize(
    ("style", "explode", "shape", "text", "message"),
    [
        ("label", False, "primitive", "blue", "label value 'blue' does not start with '.'"),
        ("matrix", False, "primitive", ";colour=blue",
         "matrix value ';colour=blue' does not start with ';color='"),
        ("matrix", True, "array", ";color=blue;shade=dark",
         "matrix item 'shade=dark' is not color=..."),
        ("matrix", True, "object", "R=100", "matrix value 'R=100' does not start with ';'"),
        ("simple", False, "object", "R,100,G", "object value has a key without a value"),
        ("simple", True, "object", "R=100,G", "object item 'G' is not key=value"),
    ],
)
def test_malformed_path_values_raise_style_error(
    style: str, explode: bool, shape: Any, text: str, message: str
) -> None:
    with pytest.raises(StyleError) as caught:
        read("path", style, explode, shape, {"color": text})
    assert str(caught.value) == message


def test_style_error_keeps_the_raw_value() -> None:
    with pytest.raises(StyleError) as caught:
        split_label("blue", "primitive", False)
    assert caught.value.raw == "blue"


# -- query: form, spaceDelimited, pipeDelimited, deepObject ----------------------------------

@pytest.mark.parametrize(
    ("style", "explode", "shape", "text", "expected"),
    [
        ("form", False, "primitive", "color=blue", BLUE),
        ("form", True, "primitive", "color=blue", BLUE),
        ("form", False, "array", "color=blue,black,brown", COLORS),
        ("form", True, "array", "color=blue&color=black&color=brown", COLORS),
        ("form", False, "object", "color=R,100,G,200,B,150", RGB),
        ("form", True, "object", "R=100&G=200&B=150", RGB),
        ("spaceDelimited", False, "array", "color=blue%20black%20brown", COLORS),
        ("spaceDelimited", False, "array", "color=blue+black+brown", COLORS),
        ("spaceDelimited", False, "object", "color=R%20100%20G%20200%20B%20150", RGB),
        ("pipeDelimited", False, "array", "color=blue|black|brown", COLORS),
        ("pipeDelimited", False, "array", "color=blue%7Cblack%7Cbrown", COLORS),
        ("pipeDelimited", False, "object", "color=R|100|G|200|B|150", RGB),
        ("deepObject", True, "object", "color[R]=100&color[G]=200&color[B]=150", RGB),
        ("deepObject", True, "object", "color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150", RGB),
    ],
)
def test_query_styles_follow_the_openapi_table(
    style: str, explode: bool, shape: Any, text: str, expected: Any
) -> None:
    assert read("query", style, explode, shape, query(text), properties=tuple(RGB)) == expected


@pytest.mark.parametrize("style", ["spaceDelimited", "pipeDelimited"])
def test_exploded_delimited_arrays_repeat_the_key_like_form(style: str) -> None:
    assert read("query", style, True, "array", query("color=blue&color=black")) == ["blue", "black"]


def test_query_default_style_is_exploded_form() -> None:
    assert read("query", None, None, "array", query("color=blue&color=black")) == ["blue", "black"]
    assert read("query", None, None, "array", query("color=blue,black")) == ["blue,black"]


@pytest.mark.parametrize(
    ("style", "explode", "shape", "text", "expected"),
    [
        ("form", True, "primitive", "color=", ""),
        ("form", False, "array", "color=", []),
        ("form", True, "array", "color=", [""]),
        ("form", False, "object", "color=", {}),
        ("pipeDelimited", False, "array", "color", []),
    ],
)
def test_query_empty_values(
    style: str, explode: bool, shape: Any, text: str, expected: Any
) -> None:
    assert read("query", style, explode, shape, query(text)) == expected


@pytest.mark.parametrize(
    ("style", "explode", "shape"),
    [("form", True, "primitive"), ("form", True, "array"), ("form", True, "object"),
     ("deepObject", True, "object"), ("pipeDelimited", False, "array")],
)
def test_absent_query_parameter_reads_as_none(style: str, explode: bool, shape: Any) -> None:
    assert read("query", style, explode, shape, query("other=1"), properties=("R",)) is None


def test_repeated_unexploded_query_value_is_refused_with_every_value() -> None:
    with pytest.raises(StyleError) as caught:
        read("query", "form", False, "array", query("color=a,b&color=c"))
    assert str(caught.value) == "'color' is repeated"
    assert caught.value.raw == ["a,b", "c"]


def test_repeated_primitive_query_value_is_refused() -> None:
    with pytest.raises(StyleError) as caught:
        read("query", None, None, "primitive", query("color=blue&color=red"))
    assert caught.value.raw == ["blue", "red"]


def test_form_object_takes_only_declared_properties_when_closed() -> None:
    source = query("R=100&G=200&B=150&page=2")
    assert read("query", "form", True, "object", source, properties=("R", "G")) == {
        "R": "100", "G": "200"}


def test_open_form_object_takes_unclaimed_keys() -> None:
    source = query("R=100&x=1&page=2&filter[where][a]=1")
    result = read("query", "form", True, "object", source, properties=("R",),
                  open_object=True, claimed=("page", "filter"))
    assert result == {"R": "100", "x": "1"}


def test_form_object_refuses_a_repeated_property() -> None:
    with pytest.raises(StyleError) as caught:
        read("query", "form", True, "object", query("R=1&R=2"), properties=("R",))
    assert caught.value.raw == ["1", "2"]


# -- header and cookie -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("explode", "shape", "text", "expected"),
    [
        (False, "primitive", "blue", BLUE),
        (False, "array", "blue,black,brown", COLORS),
        (True, "array", "blue,black,brown", COLORS),
        (False, "array", "blue, black,  brown", COLORS),
        (False, "object", "R,100,G,200,B,150", RGB),
        (True, "object", "R=100,G=200,B=150", RGB),
        (False, "array", "", []),
    ],
)
def test_header_simple_style(explode: bool, shape: Any, text: str, expected: Any) -> None:
    reader = compile_reader("header", "X-Color", None, explode, shape)
    assert reader({"x-color": text}) == expected
    assert reader({}) is None


@pytest.mark.parametrize(
    ("explode", "shape", "cookies", "expected"),
    [
        (True, "primitive", {"color": "blue"}, BLUE),
        (False, "array", {"color": "blue,black,brown"}, COLORS),
        (True, "array", {"color": "blue,black,brown"}, COLORS),
        (False, "object", {"color": "R,100,G,200,B,150"}, RGB),
        (True, "object", {"R": "100", "G": "200", "B": "150", "other": "x"}, RGB),
        (True, "object", {"other": "x"}, None),
        (True, "primitive", {}, None),
    ],
)
def test_cookie_form_style(explode: bool, shape: Any, cookies: Any, expected: Any) -> None:
    assert read("cookie", None, explode, shape, cookies, properties=tuple(RGB)) == expected


@pytest.mark.parametrize(
    ("location", "style"),
    [("path", "form"), ("query", "simple"), ("header", "form"), ("cookie", "deepObject"),
     ("query", "matrix")],
)
def test_a_style_outside_its_location_is_refused_at_compile_time(location: str, style: str) -> None:
    with pytest.raises(ValueError, match=f"style '{style}' is not allowed for {location}"):
        compile_reader(location, "color", style, None, "primitive")


# -- the query string -------------------------------------------------------------------------

def test_parse_query_keeps_blanks_repeats_and_order() -> None:
    assert parse_query("b=2&a=1&b=3&c=&d&&e=x%26y&f+g=h+i%2B") == {
        "b": ["2", "3"], "a": ["1"], "c": [""], "d": [""], "e": ["x&y"], "f g": ["h i+"]}


def test_parse_query_of_nothing_is_empty() -> None:
    assert parse_query("") == {}


def test_parse_query_decodes_utf8_and_keeps_bad_escapes() -> None:
    assert parse_query("q=caf%C3%A9&r=%zz") == {"q": ["café"], "r": ["%zz"]}


def test_parse_query_splits_only_on_the_first_equals_sign() -> None:
    assert parse_query("where=a=b") == {"where": ["a=b"]}


# -- deepObject nesting, as Node's qs builds it ----------------------------------------------

def test_deep_object_builds_nested_objects_and_arrays() -> None:
    text = ("filter[where][id]=1&filter[order][0]=title DESC&filter[order][1]=id"
            "&filter[fields][title]=true&filter[limit]=10&other=x")
    assert read_deep_object(query(text), "filter") == {
        "where": {"id": "1"},
        "order": ["title DESC", "id"],
        "fields": {"title": "true"},
        "limit": "10",
    }


def test_deep_object_orders_numeric_keys_and_compacts_gaps() -> None:
    assert read_deep_object(query("f[o][3]=c&f[o][1]=b"), "f") == {"o": ["b", "c"]}


def test_deep_object_keeps_big_indexes_as_keys() -> None:
    assert read_deep_object(query("f[o][21]=c"), "f") == {"o": {"21": "c"}}


def test_deep_object_mixed_keys_stay_an_object() -> None:
    assert read_deep_object(query("f[o][0]=a&f[o][x]=b"), "f") == {"o": {"0": "a", "x": "b"}}


def test_deep_object_empty_brackets_append() -> None:
    assert read_deep_object(query("f[o][]=a&f[o][]=b"), "f") == {"o": ["a", "b"]}


def test_deep_object_repeated_leaf_becomes_a_list() -> None:
    assert read_deep_object(query("f[a]=1&f[a]=2&f[a]=3"), "f") == {"a": ["1", "2", "3"]}


def test_deep_object_and_or_clauses() -> None:
    text = "filter[where][or][0][id]=1&filter[where][or][1][title][like]=%25x%25"
    assert read_deep_object(query(text), "filter") == {
        "where": {"or": [{"id": "1"}, {"title": {"like": "%x%"}}]}}


def test_deep_object_ignores_other_names_and_malformed_keys() -> None:
    assert read_deep_object(query("filters[a]=1&filter[a]x=2&filter=3"), "filter") is None


def test_deep_object_refuses_a_value_that_is_also_a_branch() -> None:
    with pytest.raises(StyleError, match="mixes a value and nested keys"):
        read_deep_object(query("f[a]=1&f[a][b]=2"), "f")


def test_deep_object_refuses_absurd_depth() -> None:
    key = "f" + "[a]" * 21
    with pytest.raises(StyleError, match="nests deeper than 20 levels"):
        read_deep_object(query(f"{key}=1"), "f")


# -- round trips over the value space --------------------------------------------------------

safe_items = st.text(
    st.characters(codec="utf-8", exclude_characters=",|.;= &+%[]#"),
    min_size=1,
)


@given(st.lists(st.integers().map(str), min_size=1))
def test_integer_arrays_round_trip_through_every_style(items: list[str]) -> None:
    joined = ",".join(items)
    assert split_simple(joined, "array", False) == items
    assert split_label("." + joined, "array", False) == items
    assert split_label("." + ".".join(items), "array", True) == items
    assert split_matrix(";ids=" + joined, "ids", "array", False) == items
    assert split_matrix("".join(f";ids={i}" for i in items), "ids", "array", True) == items
    assert split_delimited(" ".join(items), " ", "array") == items
    assert split_delimited("|".join(items), "|", "array") == items
    exploded = "&".join(f"ids={i}" for i in items)
    assert compile_reader("query", "ids", "form", True, "array")(parse_query(exploded)) == items
    unexploded = "ids=" + quote(",".join(items))
    assert compile_reader("query", "ids", "form", False, "array")(
        parse_query(unexploded)) == items


# All-digit keys would build an array, as qs does; that case has its own tests above.
safe_keys = safe_items.filter(lambda key: not (key.isascii() and key.isdigit()))


@given(st.dictionaries(safe_keys, safe_items, min_size=1))
def test_objects_round_trip_through_query_styles(value: dict[str, str]) -> None:
    encoded = {quote(k, safe=""): quote(v, safe="") for k, v in value.items()}
    deep = "&".join(f"o%5B{k}%5D={v}" for k, v in encoded.items())
    assert read_deep_object(parse_query(deep), "o") == value
    piped = "o=" + "|".join(f"{k}|{v}" for k, v in encoded.items())
    assert compile_reader("query", "o", "pipeDelimited", False, "object")(
        parse_query(piped)) == value


@given(st.lists(safe_items, min_size=1))
def test_query_values_round_trip_through_percent_encoding(values: list[str]) -> None:
    text = "&".join("k=" + quote(v, safe="") for v in values)
    assert parse_query(text) == {"k": values}
