"""Tests for request bodies: media-type matching, each parser, coercion and validation."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.bodies import BodyParser, UploadFile, compile_body
from server.errors import (
    HttpError,
    MalformedRequestBody,
    MissingRequiredParameter,
    UnsupportedMediaType,
    ValidationFailed,
    render_error,
)
from server.validation import SchemaValidators

TODO = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "title": {"type": "string"},
        "priority": {"type": "integer"},
        "done": {"type": "boolean"},
    },
}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "components": {
        "schemas": {"Todo": TODO},
        "requestBodies": {
            "TodoBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Todo"}}},
            },
        },
    },
}
VALIDATORS = SchemaValidators(DOCUMENT, "3.0")


def compile_(request_body: dict[str, Any]) -> BodyParser:
    parser = compile_body(request_body, VALIDATORS, DOCUMENT)
    assert parser is not None
    return parser


def body_of(exc: HttpError) -> dict[str, Any]:
    """The error body the client sees."""
    status, _, body = render_error(exc)
    assert status == exc.status
    return orjson.loads(body)["error"]  # type: ignore[no-any-return]


def content(*media_types: str, schema: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    media: dict[str, Any] = {} if schema is None else {"schema": schema}
    return {"content": {m: dict(media) for m in media_types}, **more}


JSON_TODO = compile_({"$ref": "#/components/requestBodies/TodoBody"})


# --- compile_body ---------------------------------------------------------------------------

def test_no_request_body_gives_no_parser() -> None:
    assert compile_body(None, VALIDATORS, DOCUMENT) is None


def test_a_referenced_request_body_is_followed() -> None:
    assert JSON_TODO.required is True
    assert JSON_TODO.media_types == ["application/json"]


def test_optional_is_the_default_and_media_types_keep_declared_order() -> None:
    parser = compile_(content("text/plain", "application/json"))
    assert parser.required is False
    assert parser.media_types == ["text/plain", "application/json"]


# --- media-type matching --------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON; Charset=UTF-8",
    "application/json;charset=\"utf-8\"",
    "application/vnd.api+json",
    "application/merge-patch+json; charset=utf-8",
])
def test_declared_json_accepts_charset_parameters_any_case_and_plus_json(content_type: str) -> None:
    assert JSON_TODO.parse(content_type, b'{"title": "milk"}') == {"title": "milk"}


def test_missing_content_type_is_json_when_json_is_declared() -> None:
    assert JSON_TODO.parse(None, b'{"title": "milk"}') == {"title": "milk"}


def test_missing_content_type_without_declared_json_is_415() -> None:
    parser = compile_(content("text/plain"))
    with pytest.raises(UnsupportedMediaType) as caught:
        parser.parse(None, b"milk")
    assert body_of(caught.value) == {
        "statusCode": 415,
        "name": "UnsupportedMediaTypeError",
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Content-type application/json does not match [text/plain].",
    }


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/xml", "application/jsonx", "json", "application/", "*/*",
])
def test_an_undeclared_media_type_is_415_naming_the_allowed_ones(content_type: str) -> None:
    parser = compile_(content("application/json", "application/x-www-form-urlencoded"))
    with pytest.raises(UnsupportedMediaType) as caught:
        parser.parse(content_type, b"x")
    assert body_of(caught.value) == {
        "statusCode": 415,
        "name": "UnsupportedMediaTypeError",
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": f"Content-type {content_type} does not match "
                   "[application/json,application/x-www-form-urlencoded].",
    }


def test_the_415_message_shows_the_content_type_as_sent() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        JSON_TODO.parse("text/plain; charset=utf-8", b"x")
    assert caught.value.message == (
        "Content-type text/plain; charset=utf-8 does not match [application/json]."
    )


def test_any_wildcard_matches_everything_and_parses_by_the_actual_type() -> None:
    parser = compile_(content("*/*"))
    assert parser.parse("application/json", b'{"a": 1}') == {"a": 1}
    assert parser.parse("text/csv", b"a,b") == "a,b"
    assert parser.parse("image/png", b"\x89PNG") == b"\x89PNG"
    assert parser.parse("application/x-www-form-urlencoded", b"a=1&a=2") == {"a": ["1", "2"]}


def test_type_wildcard_matches_only_its_type() -> None:
    parser = compile_(content("text/*"))
    assert parser.parse("text/csv; charset=utf-8", b"a,b") == "a,b"
    with pytest.raises(UnsupportedMediaType):
        parser.parse("application/json", b"{}")


def test_the_most_specific_declared_entry_wins() -> None:
    parser = compile_({"content": {
        "*/*": {},
        "application/*": {"schema": {"type": "array"}},
        "application/json": {"schema": {"type": "object"}},
        "application/problem+json": {"schema": {"type": "string"}},
    }})
    assert parser.parse("application/json", b"{}") == {}  # exact
    assert parser.parse("application/problem+json", b'"x"') == "x"  # exact beats +json
    assert parser.parse("application/merge-patch+json", b"{}") == {}  # +json via json
    assert parser.parse("application/x-ndjson", b"[1]") == b"[1]"  # application/*: bytes
    assert parser.parse("text/plain", b"hi") == "hi"  # */*
    with pytest.raises(ValidationFailed):
        parser.parse("application/merge-patch+json", b"[]")  # judged by application/json


def test_no_content_at_all_accepts_json_and_urlencoded_objects_as_loopback_does() -> None:
    parser = compile_({"required": True})
    assert parser.media_types == ["application/json", "application/x-www-form-urlencoded"]
    assert parser.parse("application/x-www-form-urlencoded", b"a=1") == {"a": "1"}
    with pytest.raises(ValidationFailed):
        parser.parse("application/json", b"[]")


# --- empty bodies ---------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_an_empty_required_body_is_a_missing_parameter(content_type: str | None) -> None:
    with pytest.raises(MissingRequiredParameter) as caught:
        JSON_TODO.parse(content_type, b"")
    assert caught.value.parameter == "body"
    assert body_of(caught.value) == {
        "statusCode": 400,
        "name": "BadRequestError",
        "code": "MISSING_REQUIRED_PARAMETER",
        "message": "Request body is required",
    }


def test_a_json_null_required_body_is_missing_too_as_in_loopback() -> None:
    with pytest.raises(MissingRequiredParameter, match=r"^Request body is required$"):
        JSON_TODO.parse("application/json", b"null")


@pytest.mark.parametrize("content_type", [None, "application/json", "multipart/form-data"])
def test_an_empty_optional_body_is_none(content_type: str | None) -> None:
    parser = compile_(content("application/json", schema={"type": "object"}))
    assert parser.parse(content_type, b"") is None


def test_an_empty_urlencoded_form_is_the_empty_form_and_is_validated() -> None:
    # Schemathesis found it on a real-world spec: the empty form misses a required field.
    form = {"schema": {"type": "object", "required": ["criteria"],
                       "properties": {"criteria": {"type": "string"}}}}
    parser = compile_({"content": {"application/x-www-form-urlencoded": form}})
    with pytest.raises(ValidationFailed):
        parser.parse("application/x-www-form-urlencoded", b"")
    assert parser.parse(None, b"") is None  # no Content-Type: no body
    lax = compile_({"content": {"application/x-www-form-urlencoded": {"schema": {}}}})
    assert lax.parse("application/x-www-form-urlencoded", b"") == {}
    # Where no form is documented, an empty body is still no body, never a 415.
    with pytest.raises(MissingRequiredParameter):
        JSON_TODO.parse("application/x-www-form-urlencoded", b"")


# --- JSON -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "message"), [
    (b"{x", "unexpected character, expected a string key at line 1 column 2."),
    (b'{"title": "milk"', "unexpected end of data at line 1 column 17."),
    (b'{"title": "milk"}}', "unexpected content after document at line 1 column 18."),
    (b"[1,]", "trailing comma is not allowed at line 1 column 3."),
    (b"\n\n  NaN", "unexpected character, expected a JSON value at line 3 column 3."),
])
def test_malformed_json_is_400_with_where_it_broke(raw: bytes, message: str) -> None:
    parser = compile_(content("application/json"))
    with pytest.raises(MalformedRequestBody) as caught:
        parser.parse("application/json", raw)
    assert body_of(caught.value) == {
        "statusCode": 400,
        "name": "BadRequestError",
        "code": "MALFORMED_REQUEST_BODY",
        "message": f"Malformed JSON in request body: {message}",
    }


def test_json_that_is_not_utf8_is_400_naming_the_byte() -> None:
    with pytest.raises(MalformedRequestBody) as caught:
        JSON_TODO.parse("application/json", b'{"title": "caf\xe9"}')
    assert caught.value.message == (
        "The request body is not valid utf-8: invalid continuation byte at byte 14."
    )


def test_json_in_another_declared_charset_is_decoded_first() -> None:
    raw = '{"title": "café"}'.encode("utf-16")
    assert JSON_TODO.parse("application/json; charset=utf-16", raw) == {"title": "café"}


def test_a_utf8_byte_order_mark_is_ignored() -> None:
    assert JSON_TODO.parse("application/json", b'\xef\xbb\xbf{"title": "x"}') == {"title": "x"}


def test_json_is_never_coerced() -> None:
    with pytest.raises(ValidationFailed) as caught:
        JSON_TODO.parse("application/json", b'{"title": "milk", "priority": "12"}')
    assert body_of(caught.value) == {
        "statusCode": 422,
        "name": "UnprocessableEntityError",
        "code": "VALIDATION_FAILED",
        "message": "The request body is invalid. "
                   "See error object `details` property for more info.",
        "details": [{"path": "/priority", "code": "type", "message": "must be integer",
                     "info": {"type": "integer"}}],
    }


def test_every_validation_error_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        JSON_TODO.parse("application/json", b'{"priority": 1.5, "done": "yes"}')
    assert sorted(caught.value.details, key=lambda d: d["path"]) == [  # type: ignore[arg-type]
        {"path": "", "code": "required", "message": "must have required property 'title'",
         "info": {"missingProperty": "title"}},
        {"path": "/done", "code": "type", "message": "must be boolean",
         "info": {"type": "boolean"}},
        {"path": "/priority", "code": "type", "message": "must be integer",
         "info": {"type": "integer"}},
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_json_comes_back_exactly_as_sent(value: Any) -> None:
    parser = compile_(content("application/json"))
    assert parser.parse("application/json", orjson.dumps(value)) == value


@given(st.integers(-(2**31), 2**31 - 1).map(str))
def test_a_numeric_string_in_json_stays_a_string(text: str) -> None:
    parser = compile_(content("application/json", schema={"type": "object"}))
    assert parser.parse("application/json", orjson.dumps({"n": text})) == {"n": text}


def test_an_optional_json_null_is_validated_like_any_value() -> None:
    parser = compile_(content("application/json", schema={"type": "object"}))
    with pytest.raises(ValidationFailed):
        parser.parse("application/json", b"null")
    nullable = compile_(content("application/json", schema={"type": "object", "nullable": True}))
    assert nullable.parse("application/json", b"null") is None


# --- application/x-www-form-urlencoded ------------------------------------------------------

FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "priority": {"type": "integer"},
        "done": {"type": "boolean"},
        "ratio": {"type": "number"},
        "ids": {"type": "array", "items": {"type": "integer"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "flags": {"type": "array", "items": {"type": "boolean"}},
        "where": {"type": "object", "properties": {"done": {"type": "boolean"}}},
    },
}
FORM = compile_({
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": FORM_SCHEMA,
            "encoding": {
                "tags": {"style": "form", "explode": False},
                "flags": {"style": "pipeDelimited"},
            },
        },
    },
})
FORM_TYPE = "application/x-www-form-urlencoded"


def test_urlencoded_fields_are_coerced_by_schema() -> None:
    raw = b"title=buy+milk%21&priority=3&done=true&ratio=0.5&ids=1&ids=2&extra=a&extra=b&solo="
    assert FORM.parse(FORM_TYPE, raw) == {
        "title": "buy milk!", "priority": 3, "done": True, "ratio": 0.5, "ids": [1, 2],
        "extra": ["a", "b"], "solo": "",
    }


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1), st.booleans(), st.text())
def test_urlencoded_round_trips_typed_values(ids: list[int], done: bool, title: str) -> None:
    raw = urlencode([("title", title), ("done", str(done).lower()), *(("ids", i) for i in ids)])
    assert FORM.parse(FORM_TYPE, raw.encode()) == {"title": title, "done": done, "ids": ids}


def test_a_single_value_for_an_array_field_is_a_list() -> None:
    assert FORM.parse(FORM_TYPE, b"ids=7") == {"ids": [7]}


def test_urlencoded_honours_encoding_style_and_explode() -> None:
    assert FORM.parse(FORM_TYPE, b"tags=a,b,c&flags=true|false") == {
        "tags": ["a", "b", "c"], "flags": [True, False],
    }


def test_urlencoded_brackets_build_objects_and_arrays_as_qs_does() -> None:
    assert FORM.parse(f"{FORM_TYPE}; charset=UTF-8", b"where[done]=false&ids[]=4&ids[]=5") == {
        "where": {"done": False}, "ids": [4, 5],
    }


def test_urlencoded_coercion_failures_are_reported_with_the_validation_errors() -> None:
    schema = {**FORM_SCHEMA, "required": ["title"]}
    required = compile_({"content": {FORM_TYPE: {"schema": schema}}})
    with pytest.raises(ValidationFailed) as caught:
        required.parse(FORM_TYPE, b"priority=high&ids=1&ids=x&done=maybe")
    # Coercion failures first, in schema order, then the validator's own errors.
    assert caught.value.details == [
        {"path": "/priority", "code": "type", "message": "must be integer",
         "info": {"type": "integer"}},
        {"path": "/done", "code": "type", "message": "must be boolean",
         "info": {"type": "boolean"}},
        {"path": "/ids/1", "code": "type", "message": "must be integer",
         "info": {"type": "integer"}},
        {"path": "", "code": "required", "message": "must have required property 'title'",
         "info": {"missingProperty": "title"}},
    ]


def test_a_repeated_scalar_field_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        FORM.parse(FORM_TYPE, b"priority=1&priority=2")
    assert caught.value.details == [{"path": "/priority", "code": "type",
                                     "message": "must be integer", "info": {"type": "integer"}}]


def test_urlencoded_percent_escapes_are_utf8() -> None:
    assert FORM.parse(FORM_TYPE, b"title=caf%C3%A9") == {"title": "café"}


def test_a_urlencoded_body_that_is_not_utf8_is_400() -> None:
    with pytest.raises(MalformedRequestBody) as caught:
        FORM.parse(FORM_TYPE, b"title=caf\xe9")
    assert caught.value.message == (
        "The request body is not valid utf-8: unexpected end of data at byte 9."
    )


# --- multipart/form-data --------------------------------------------------------------------

BOUNDARY = "----charter-boundary-7MA4YWxk"
MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, *, filename: str | None = None,
         content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + value + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "maxLength": 16},
        "title": {"type": "string"},
        "copies": {"type": "integer"},
        "public": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "meta": {"type": "object", "properties": {"pages": {"type": "integer"}}},
        "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}
UPLOAD = compile_({"required": True, "content": {"multipart/form-data": {"schema": UPLOAD_SCHEMA}}})
PNG = b"\x89PNG\r\n\x1a\n\x00\xff"


def test_multipart_gives_files_and_coerced_fields() -> None:
    raw = multipart(
        part("file", PNG, filename="cat.png", content_type="image/png"),
        part("title", "café".encode()),
        part("copies", b"2"),
        part("public", b"false"),
        part("tags", b"a"),
        part("tags", b"b"),
        part("meta", b'{"pages": 3}', content_type="application/json"),
        part("note", b"free text"),
    )
    assert UPLOAD.parse(MULTIPART_TYPE, raw) == {
        "file": UploadFile(filename="cat.png", content_type="image/png", content=PNG),
        "title": "café",
        "copies": 2,
        "public": False,
        "tags": ["a", "b"],
        "meta": {"pages": 3},
        "note": "free text",
    }


def test_a_json_part_is_validated_without_coercion() -> None:
    strict = compile_({"content": {"multipart/form-data": {"schema": {
        "type": "object",
        "properties": {"meta": {"type": "object",
                                "properties": {"pages": {"type": "integer"}}}},
    }}}})
    with pytest.raises(ValidationFailed) as caught:
        strict.parse(MULTIPART_TYPE, multipart(
            part("meta", b'{"pages": "3"}', content_type="application/json")))
    assert caught.value.details == [{"path": "/meta/pages", "code": "type",
                                     "message": "must be integer", "info": {"type": "integer"}}]


def test_an_object_field_without_a_content_type_is_json_by_openapi_default() -> None:
    raw = multipart(part("file", b"x", filename="a.txt"), part("meta", b'{"pages": 3}'))
    assert UPLOAD.parse(MULTIPART_TYPE, raw)["meta"] == {"pages": 3}


def test_a_binary_field_is_a_file_even_without_a_filename_and_arrays_of_files_work() -> None:
    raw = multipart(
        part("file", b"data"),
        part("attachments", b"1", filename="1.txt", content_type="text/plain"),
        part("attachments", b"2", filename="2.txt"),
    )
    assert UPLOAD.parse(MULTIPART_TYPE, raw) == {
        "file": UploadFile(None, None, b"data"),
        "attachments": [UploadFile("1.txt", "text/plain", b"1"), UploadFile("2.txt", None, b"2")],
    }


def test_an_undeclared_part_with_a_filename_is_a_file() -> None:
    raw = multipart(part("file", b"x"), part("extra", b"y", filename="y.bin"))
    assert UPLOAD.parse(MULTIPART_TYPE, raw)["extra"] == UploadFile("y.bin", None, b"y")


def test_a_file_stands_in_as_a_string_of_its_bytes_for_validation() -> None:
    # maxLength 16 bounds the file at 16 bytes; the handler still receives the UploadFile.
    with pytest.raises(ValidationFailed) as caught:
        UPLOAD.parse(MULTIPART_TYPE, multipart(part("file", b"x" * 17, filename="big.bin")))
    assert caught.value.details == [{"path": "/file", "code": "maxLength",
                                     "message": "must NOT have more than 16 characters",
                                     "info": {"limit": 16}}]


def test_multipart_coercion_and_validation_errors_come_together() -> None:
    with pytest.raises(ValidationFailed) as caught:
        UPLOAD.parse(MULTIPART_TYPE, multipart(part("copies", b"two")))
    assert caught.value.details == [
        {"path": "/copies", "code": "type", "message": "must be integer",
         "info": {"type": "integer"}},
        {"path": "", "code": "required", "message": "must have required property 'file'",
         "info": {"missingProperty": "file"}},
    ]


def test_a_declared_typed_field_is_read_by_its_type_even_with_a_filename() -> None:
    raw = multipart(part("file", b"x"), part("meta", b'{"pages": 1}', filename="meta.json"),
                    part("copies", b"4", filename="copies.txt"))
    parsed = UPLOAD.parse(MULTIPART_TYPE, raw)
    assert (parsed["meta"], parsed["copies"]) == ({"pages": 1}, 4)


@pytest.mark.parametrize(("content_type", "raw", "message"), [
    ("multipart/form-data", multipart(part("title", b"x")),
     "Missing boundary in multipart/form-data Content-Type."),
    (MULTIPART_TYPE, part("title", b"x"),
     "Malformed multipart body: the closing boundary is missing."),
    (MULTIPART_TYPE, b"garbage",
     "Malformed multipart body: Expected boundary character 45, got 103 at index 2."),
    (MULTIPART_TYPE, multipart(f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n".encode()),
     'Malformed multipart body: a part has no Content-Disposition "form-data" with a name.'),
    (MULTIPART_TYPE, multipart(part("meta", b"{", content_type="application/json")),
     'Malformed JSON in multipart field "meta": unexpected end of data at line 1 column 2.'),
    (MULTIPART_TYPE, multipart(part("title", b"caf\xe9")),
     'The multipart field "title" is not valid utf-8: unexpected end of data at byte 3.'),
])
def test_malformed_multipart_is_400(content_type: str, raw: bytes, message: str) -> None:
    with pytest.raises(MalformedRequestBody) as caught:
        UPLOAD.parse(content_type, raw)
    assert body_of(caught.value) == {
        "statusCode": 400, "name": "BadRequestError", "code": "MALFORMED_REQUEST_BODY",
        "message": message,
    }


def test_a_text_part_is_decoded_by_its_charset() -> None:
    title = part("title", "café".encode("latin-1"), content_type="text/plain; charset=latin-1")
    raw = multipart(part("file", b"x"), title)
    assert UPLOAD.parse(MULTIPART_TYPE, raw)["title"] == "café"


def test_upload_file_is_frozen() -> None:
    upload = UploadFile("a.txt", "text/plain", b"a")
    with pytest.raises(FrozenInstanceError):
        upload.content = b"b"  # type: ignore[misc]


# --- text -----------------------------------------------------------------------------------

def test_text_is_decoded_by_charset_default_utf8() -> None:
    parser = compile_(content("text/plain"))
    assert parser.parse("text/plain", "café".encode()) == "café"
    assert parser.parse("text/plain; charset=ISO-8859-1", "café".encode("latin-1")) == "café"


def test_undecodable_text_is_400() -> None:
    parser = compile_(content("text/plain"))
    with pytest.raises(MalformedRequestBody) as caught:
        parser.parse("text/plain", b"\xff")
    assert body_of(caught.value) == {
        "statusCode": 400, "name": "BadRequestError", "code": "MALFORMED_REQUEST_BODY",
        "message": "The request body is not valid utf-8: invalid start byte at byte 0.",
    }


@pytest.mark.parametrize("charset", ["klingon", "rot13", "base64"])
def test_an_unknown_or_non_text_charset_is_400(charset: str) -> None:
    parser = compile_(content("text/plain"))
    with pytest.raises(MalformedRequestBody) as caught:
        parser.parse(f"text/plain; charset={charset}", b"x")
    assert caught.value.message == f'Unsupported charset "{charset}" for the request body.'


def test_text_is_validated_against_its_schema() -> None:
    parser = compile_(content("text/plain", schema={"type": "string", "maxLength": 3}))
    assert parser.parse("text/plain", b"abc") == "abc"
    with pytest.raises(ValidationFailed) as caught:
        parser.parse("text/plain", b"abcd")
    assert caught.value.details == [{"path": "", "code": "maxLength",
                                     "message": "must NOT have more than 3 characters",
                                     "info": {"limit": 3}}]


# --- octet-stream and other media types -----------------------------------------------------

def test_octet_stream_is_bytes_and_its_binary_schema_is_not_checked() -> None:
    parser = compile_(content("application/octet-stream",
                              schema={"type": "string", "format": "binary"}))
    assert parser.parse("application/octet-stream", PNG) == PNG


def test_any_other_declared_media_type_is_bytes() -> None:
    parser = compile_(content("image/png", "application/pdf"))
    assert parser.parse("image/png", PNG) == PNG
    assert parser.parse("application/pdf", b"%PDF") == b"%PDF"


# --- integers of any size ----------------------------------------------------------------------

WIDE = 2**70
METER = content("application/json", schema={"type": "object", "properties": {
    "reading": {"type": "integer", "minimum": 0, "maximum": WIDE},
    "count": {"type": "integer"}}})


@given(st.integers(min_value=0, max_value=WIDE))
def test_json_integers_inside_a_declared_range_beyond_64_bits_are_exact(value: int) -> None:
    for charset in ("utf-8", "utf-16"):
        raw = f'{{"reading": {value}, "note": "{value}"}}'.encode(charset)
        assert compile_(METER).parse(f"application/json; charset={charset}", raw) == {
            "reading": value, "note": str(value)}


def test_json_integers_past_a_declared_bound_are_422_naming_it() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compile_(METER).parse("application/json", b'{"reading": 1180591620717411303425}')
    assert json.loads(render_error(caught.value)[2])["error"]["details"] == [{
        "path": "/reading", "code": "maximum", "message": f"must be <= {WIDE}",
        "info": {"comparison": "<=", "limit": WIDE}}]


@pytest.mark.parametrize("count", [2**63, -(2**63) - 1, 2**64, WIDE])
def test_a_json_integer_without_format_or_bounds_is_still_an_int64(count: int) -> None:
    assert compile_(METER).parse("application/json", b'{"count": %d}' % (2**63 - 1)) == {
        "count": 2**63 - 1}
    with pytest.raises(ValidationFailed) as caught:
        compile_(METER).parse("application/json", b'{"count": %d}' % count)
    assert body_of(caught.value)["details"] == [{
        "path": "/count", "code": "format", "message": 'must match format "int64"',
        "info": {"format": "int64"}}]
