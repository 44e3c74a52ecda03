"""JSON text: orjson's output where orjson can, exact integers of any size where it cannot."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.jsontext import dump_json, load_json

WIDE = 2**70


@dataclasses.dataclass
class Meter:
    reading: int
    at: datetime.date
    _cache: int = 0


class Size(enum.IntEnum):
    HUGE = WIDE


def test_integers_beyond_64_bits_are_written_exactly_wherever_they_are() -> None:
    value = {"a": [WIDE, -WIDE, 2**64, -(2**63) - 1], "b": (1, {"c": WIDE}), WIDE: "key",
             "d": Meter(WIDE, datetime.date(2026, 1, 2)), "e": Size.HUGE}
    assert dump_json(value) == (
        b'{"a":[1180591620717411303424,-1180591620717411303424,18446744073709551616,'
        b'-9223372036854775809],"b":[1,{"c":1180591620717411303424}],'
        b'"1180591620717411303424":"key","d":{"reading":1180591620717411303424,'
        b'"at":"2026-01-02"},"e":1180591620717411303424}')
    assert json.loads(dump_json(value))["a"][0] == WIDE


def test_the_exact_path_keeps_sorted_keys_and_hands_the_rest_to_default() -> None:
    assert dump_json({"b": WIDE, "a": {WIDE}}, sort_keys=True, default=sorted) == (
        b'{"a":[1180591620717411303424],"b":1180591620717411303424}')
    with pytest.raises(TypeError, match="not JSON serializable"):
        dump_json({"a": WIDE, "b": object()})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_both_paths_agree_with_the_standard_library(value: Any) -> None:
    text = dump_json(value)
    assert json.loads(text) == value
    assert load_json(text) == value
    assert load_json(text.decode()) == value
    try:
        assert text == orjson.dumps(value)  # where orjson can, its bytes are the answer
    except orjson.JSONEncodeError:
        assert "64-bit" in str(sys.exc_info()[1])


def test_reading_keeps_integers_beyond_64_bits_exact() -> None:
    text = b'{"n": 1180591620717411303425, "m": -18446744073709551617, "s": "12345678901234567890"}'
    assert orjson.loads(text)["n"] != WIDE + 1  # what orjson alone gives: a rounded float
    assert load_json(text) == {"n": WIDE + 1, "m": -(2**64) - 1, "s": "12345678901234567890"}
    assert load_json(b"[1.5, 100000000000000000000.0, 1e20]") == [1.5, 1e20, 1e20]


def test_reading_refuses_what_orjson_refuses_in_its_words() -> None:
    for text in (b"[NaN, 12345678901234567890123]", b"[1e400]", b"[12345678901234567890123,]"):
        with pytest.raises(orjson.JSONDecodeError):
            load_json(text)


def test_nesting_that_orjson_reads_is_read_exactly() -> None:
    depth = 1024  # orjson's own limit; the standard library alone would recurse too deeply
    value = load_json("[" * depth + str(WIDE) + "]" * depth)
    for _ in range(depth):
        value = value[0]
    assert value == WIDE
    assert sys.getrecursionlimit() < depth  # and the limit is put back


def test_the_exact_path_leaves_what_orjson_writes_to_orjson_and_default() -> None:
    value = {"on": True, "off": False, "none": None, "at": datetime.date(2026, 1, 2), "n": WIDE,
             "tags": {"a"}}
    assert dump_json(value, default=sorted) == (
        b'{"on":true,"off":false,"none":null,"at":"2026-01-02","n":1180591620717411303424,'
        b'"tags":["a"]}')
