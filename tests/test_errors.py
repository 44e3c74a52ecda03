"""The error hierarchy and the one error writer."""

from __future__ import annotations

import logging

import orjson
import pytest

from server.errors import (
    DatabaseUnavailable,
    EntityNotFound,
    HttpError,
    InvalidParameterValue,
    MissingRequiredParameter,
    NotImplementedYet,
    ValidationFailed,
    outcome,
    render_error,
    show,
)


def body(exc: BaseException, **options: object) -> object:
    return orjson.loads(render_error(exc, **options)[2])  # type: ignore[arg-type]


def test_loopback_shape_with_code_and_details() -> None:
    detail = {"path": "/title", "code": "type", "message": "must be string",
              "info": {"type": "string"}}
    status, headers, _ = render_error(ValidationFailed([detail]))  # type: ignore[list-item]
    assert status == 422
    assert headers == {"content-type": "application/json"}
    assert body(ValidationFailed([detail])) == {"error": {  # type: ignore[list-item]
        "statusCode": 422, "name": "UnprocessableEntityError",
        "message": "The request body is invalid. See error object `details` property for more "
                   "info.",
        "code": "VALIDATION_FAILED", "details": [detail]}}


def test_messages_follow_loopback() -> None:
    assert MissingRequiredParameter("id").message == "Required parameter id is missing!"
    assert InvalidParameterValue("id", "abc").message == 'Invalid data "abc" for parameter "id".'
    assert EntityNotFound("Todo", 2**70).message == (
        "Entity not found: Todo with id 1180591620717411303424")
    assert show({"a": [1, "x"]}) == '{"a":[1,"x"]}'


def test_unexpected_errors_are_500_without_internals() -> None:
    assert body(KeyError("secret")) == {"error": {
        "statusCode": 500, "name": "InternalServerError", "message": "Internal Server Error"}}
    debug = body(KeyError("secret"), debug=True)
    assert debug["error"]["message"] == "'secret'"  # type: ignore[index]
    assert "KeyError" in debug["error"]["stack"]  # type: ignore[index]


def test_problem_details_format() -> None:
    status, headers, raw = render_error(EntityNotFound("Todo", 1), error_format="problem",
                                        request_id="r-1")
    assert (status, headers) == (404, {"content-type": "application/problem+json",
                                       "x-request-id": "r-1"})
    assert orjson.loads(raw) == {"type": "about:blank", "title": "Not Found", "status": 404,
                                 "detail": "Entity not found: Todo with id 1",
                                 "code": "ENTITY_NOT_FOUND"}


def test_error_headers_are_sent() -> None:
    error = HttpError("busy", headers={"retry-after": "5"})
    assert render_error(error)[1]["retry-after"] == "5"


def test_meant_outcomes_are_logged_in_one_line_and_failures_with_their_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    def logged(exc: Exception) -> tuple[str, str, bool] | None:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="charter"):
            render_error(exc, request_id="r-1")
        if not caplog.records:
            return None
        [record] = caplog.records
        return record.levelname, record.getMessage(), record.exc_info is not None

    # A client's mistake is the access log's to name (`outcome`), for a few µs instead of a record
    assert logged(InvalidParameterValue("id", "x")) is None
    assert logged(NotImplementedYet("GET /a has no handler yet.")) == (
        "WARNING", "request r-1: 501 NOT_IMPLEMENTED: GET /a has no handler yet.", False)
    assert logged(DatabaseUnavailable()) == (
        "WARNING", "request r-1: 503 DATABASE_UNAVAILABLE: The database is unavailable. "
        "Try again later.", False)
    assert logged(RuntimeError("boom")) == ("ERROR", "request r-1 failed with 500", True)


def test_an_outcome_is_one_line_whatever_the_message_holds() -> None:
    line = outcome(InvalidParameterValue("id", "a\r\nGET /forged 200"))
    assert "\n" not in line and "\r" not in line
    assert line.startswith('INVALID_PARAMETER_VALUE "Invalid data ')


def test_details_with_integers_beyond_64_bits_are_written_exactly() -> None:
    detail = {"path": "/n", "code": "maximum", "message": "must be <= 1180591620717411303424",
              "info": {"comparison": "<=", "limit": 2**70}}
    _, _, written = render_error(ValidationFailed([detail]))  # type: ignore[list-item]
    assert b'"info":{"comparison":"<=","limit":1180591620717411303424}' in written
