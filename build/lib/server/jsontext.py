"""JSON text: orjson's speed, with integers of any size written and read exactly.

orjson keeps integers to 64 bits: it refuses to write a larger one ("Integer exceeds 64-bit
range") and reads one as a rounded float. Both functions here use orjson, and take a slower
exact path only when orjson would refuse or round, so the common case costs what orjson costs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import orjson

_ORJSON_INTEGERS = (-(2**63), 2**64 - 1)  # what orjson writes and reads as integers
_ORJSON_MAX_DEPTH = 1024  # orjson refuses deeper JSON, so the exact reader never meets any
# An integer beyond orjson's range has at least 19 digits (-9223372036854775809); so may a
# string or a float, which only costs them the exact reader. The digits are found as a run of
# NULs once each digit is turned into one: valid JSON holds no raw NUL, and translate and `in`
# run in C, ten times faster than a regular expression.
_DIGITS_AS_NUL = bytes(0 if 0x30 <= byte <= 0x39 else byte for byte in range(256))
_LONG_RUN = b"\x00" * 19
_RECURSION = threading.Lock()
# What orjson writes itself; anything else goes to `default` (beside ints, containers, enums
# and dataclasses, which the exact path takes apart).
_ORJSON_NATIVE = (str, float, bool, type(None), dt.datetime, dt.date, dt.time, uuid.UUID,
                  orjson.Fragment)


def dump_json(
    value: Any, *, default: Callable[[Any], Any] | None = None, sort_keys: bool = False
) -> bytes:
    """Serialize `value` as orjson does, but integers of any size as their exact digits.

    Keys that are not strings are written as text (orjson's `OPT_NON_STR_KEYS`); `default`
    serializes what orjson does not know.

    >>> dump_json({"max": 2**70, 1: [True, None]})
    b'{"max":1180591620717411303424,"1":[true,null]}'
    """
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=default, option=option)
    except orjson.JSONEncodeError as error:
        if "64-bit range" not in str(error):
            raise
    return orjson.dumps(_exact(value, default, 0), default=default, option=option)


def load_json(source: bytes | str) -> Any:
    """Parse JSON text as orjson does (raising `orjson.JSONDecodeError`), integers exactly.

    >>> load_json(b'{"id": 18446744073709551616, "x": 1.5}')
    {'id': 18446744073709551616, 'x': 1.5}
    """
    value = orjson.loads(source)  # checks the text (syntax, UTF-8, depth, numbers) first
    text = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    # find, not `in`: bytes' `in` tries its operand as an integer first, and raises and clears
    # a TypeError on every call (a third of the time of the whole check).
    if text.translate(_DIGITS_AS_NUL).find(_LONG_RUN) < 0:
        return value
    # The standard library reads integers exactly. Its C parser counts each nesting level
    # against the recursion limit, which orjson's 1024 levels can exceed: give it room, under a
    # lock, since the limit is the interpreter's.
    with _RECURSION:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + _ORJSON_MAX_DEPTH + 64)
        try:
            return json.loads(source)
        finally:
            sys.setrecursionlimit(limit)


def _exact(value: Any, default: Callable[[Any], Any] | None, depth: int) -> Any:
    """`value` with each integer beyond orjson's range as a `Fragment` holding its digits."""
    if depth > _ORJSON_MAX_DEPTH:
        return value  # orjson refuses it in its own words
    depth += 1
    if isinstance(value, int) and not isinstance(value, bool):
        number = int(value)
        low, high = _ORJSON_INTEGERS
        return number if low <= number <= high else orjson.Fragment(b"%d" % number)
    if isinstance(value, dict):
        return {_key(key): _exact(item, default, depth) for key, item in value.items()}
    if isinstance(value, list | tuple) and not hasattr(value, "_asdict"):
        return [_exact(item, default, depth) for item in value]
    if isinstance(value, enum.Enum):
        return _exact(value.value, default, depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _exact(getattr(value, field.name), default, depth)
                for field in dataclasses.fields(value) if not field.name.startswith("_")}
    if default is not None and not isinstance(value, _ORJSON_NATIVE):
        return _exact(default(value), default, depth)
    return value


def _key(key: Any) -> Any:
    if isinstance(key, int) and not isinstance(key, bool):
        low, high = _ORJSON_INTEGERS
        return key if low <= key <= high else str(int(key))
    return key
