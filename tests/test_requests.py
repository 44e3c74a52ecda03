"""The request as handlers see it: headers (joined, bounded) and cookies (lenient)."""

from __future__ import annotations

import time

import pytest

from server.errors import HeadersTooLarge
from server.requests import Request, parse_cookies, parse_headers


def test_headers_are_lower_case_and_repeats_joined_in_order() -> None:
    raw = [(b"Accept", b"a"), (b"X-One", b"1"), (b"accept", b"b"), (b"ACCEPT", b"c")]
    assert parse_headers(raw) == {"accept": "a, b, c", "x-one": "1"}
    assert list(parse_headers(raw)) == ["accept", "x-one"]


def test_repeated_cookie_headers_join_as_one_cookie_header() -> None:
    # HTTP/2 sends each cookie as a header of its own; ", " would glue two cookies into one.
    raw = [(b"cookie", b"a=1"), (b"cookie", b"b=2")]
    assert parse_headers(raw) == {"cookie": "a=1; b=2"}
    assert parse_cookies(parse_headers(raw)["cookie"]) == {"a": "1", "b": "2"}


def test_header_values_are_latin_1() -> None:
    assert parse_headers([(b"x-name", "café".encode("latin-1"))]) == {"x-name": "café"}


def test_repeats_take_linear_time() -> None:
    # Joining by concatenation took 8.3 s for 400,000 repeats; joined once, it is milliseconds.
    raw = [(b"x-a", b"b")] * 400_000
    started = time.perf_counter()
    headers = parse_headers(raw)
    assert time.perf_counter() - started < 2.0
    assert len(headers["x-a"]) == 3 * 400_000 - 2


def test_too_many_header_lines_are_431_naming_the_setting() -> None:
    raw = [(b"x-a", b"b")] * 101
    assert len(parse_headers(raw[:100], max_count=100)) == 1
    with pytest.raises(HeadersTooLarge) as caught:
        parse_headers(raw, max_count=100)
    assert caught.value.status == 431
    assert caught.value.message == (
        "The request has 101 header lines, more than the limit of 100 (CHARTER_MAX_HEADERS).")


def test_too_many_header_bytes_are_431_naming_the_setting() -> None:
    # Names and values count: here 4 + 96 bytes.
    assert parse_headers([(b"x-ab", b"v" * 96)], max_size=100) == {"x-ab": "v" * 96}
    with pytest.raises(HeadersTooLarge) as caught:
        parse_headers([(b"x-ab", b"v" * 97)], max_size=100)
    assert caught.value.message == ("The request's headers are larger than the limit of 100 "
                                    "bytes (CHARTER_MAX_HEADER_SIZE).")
    with pytest.raises(HeadersTooLarge):
        parse_headers([(b"x" * 101, b"")], max_size=100)


def test_cookies_are_parsed_leniently() -> None:
    assert parse_cookies('a=1; b="quoted"; broken; =x; c=hello%20world;d=') == {
        "a": "1", "b": "quoted", "c": "hello world", "d": ""}


def test_a_cookie_whose_escapes_are_not_utf8_is_kept_as_sent() -> None:
    # Never U+FFFD: the value stays what the browser sent.
    assert parse_cookies("a=%FF; b=%C3%28; c=%C3%A9; d=100%") == {
        "a": "%FF", "b": "%C3%28", "c": "é", "d": "100%"}


def test_request_parses_cookies_only_when_asked() -> None:
    request = Request({"method": "GET", "path": "/", "headers": [(b"cookie", b"a=1")]})
    assert request._cookies is None
    assert request.cookies == {"a": "1"}
