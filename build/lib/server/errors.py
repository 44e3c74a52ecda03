"""The HTTP error hierarchy, and the one writer that turns any error into a response body.

    ContractError                      (at start-up: nothing is served)
    HttpError                          500 InternalServerError
    ├── BadRequest                     400 BadRequestError
    │   ├── MissingRequiredParameter       MISSING_REQUIRED_PARAMETER
    │   ├── InvalidParameterValue          INVALID_PARAMETER_VALUE
    │   ├── MalformedRequestBody           MALFORMED_REQUEST_BODY
    │   ├── MalformedRequest               MALFORMED_REQUEST
    │   └── UnknownPreference              UNKNOWN_PREFERENCE
    ├── Unauthorized                   401 UnauthorizedError
    │   ├── MissingCredentials             MISSING_CREDENTIALS
    │   └── InvalidCredentials             INVALID_CREDENTIALS
    ├── Forbidden                      403 ForbiddenError         FORBIDDEN
    │   └── InsufficientScope              INSUFFICIENT_SCOPE
    ├── NotFound                       404 NotFoundError
    │   ├── EndpointNotFound
    │   └── EntityNotFound                 ENTITY_NOT_FOUND
    ├── MethodNotAllowed               405 MethodNotAllowedError
    ├── RequestTimeout                 408 RequestTimeoutError    REQUEST_TIMEOUT
    ├── Conflict                       409 ConflictError
    │   ├── UniqueViolation                UNIQUE_VIOLATION
    │   ├── ForeignKeyViolation            FOREIGN_KEY_VIOLATION
    │   └── InvalidReference               INVALID_REFERENCE
    ├── PreconditionFailed             412 PreconditionFailedError PRECONDITION_FAILED
    ├── PayloadTooLarge                413 PayloadTooLargeError   REQUEST_BODY_TOO_LARGE
    ├── UnsupportedMediaType           415 UnsupportedMediaTypeError UNSUPPORTED_MEDIA_TYPE
    ├── UnprocessableEntity            422 UnprocessableEntityError
    │   ├── ValidationFailed               VALIDATION_FAILED
    │   └── InvalidValue                   INVALID_VALUE
    ├── HeadersTooLarge                431 RequestHeaderFieldsTooLargeError REQUEST_HEADERS_TOO_LARGE
    ├── InternalServerError            500 InternalServerError
    │   └── ResponseValidationFailed       RESPONSE_VALIDATION_FAILED
    ├── NotImplementedYet              501 NotImplementedError    NOT_IMPLEMENTED
    └── ServiceUnavailable             503 ServiceUnavailableError
        ├── DatabaseUnavailable            DATABASE_UNAVAILABLE
        └── SchemaNotMigrated              DATABASE_NOT_MIGRATED

Subclasses differ only in class attributes; the codes are stable and machine-readable.
"""

from __future__ import annotations

import http
import json
import logging
import traceback
from typing import Any, ClassVar

from server.jsontext import dump_json
from server.types import ErrorDetail

logger = logging.getLogger("charter")

INVALID_BODY_MESSAGE = (
    "The request body is invalid. See error object `details` property for more info."
)


class ContractError(Exception):
    """The spec, the handlers and the settings do not fit together: nothing is served.
    `problems` names every fault, each with its file and place where it has one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class HttpError(Exception):
    """An error with an HTTP status. Raise it anywhere: handlers, parsers, repositories."""

    status: ClassVar[int] = 500
    name: ClassVar[str] = "InternalServerError"
    code: ClassVar[str | None] = None
    default_message: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[ErrorDetail] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(HttpError):
    status = 400
    name = "BadRequestError"
    default_message = "Bad Request"


class MissingRequiredParameter(BadRequest):
    code = "MISSING_REQUIRED_PARAMETER"

    def __init__(self, parameter: str, message: str | None = None) -> None:
        super().__init__(message or f"Required parameter {parameter} is missing!")
        self.parameter = parameter


class InvalidParameterValue(BadRequest):
    code = "INVALID_PARAMETER_VALUE"

    def __init__(
        self,
        parameter: str,
        raw: Any,
        *,
        details: list[ErrorDetail] | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f'Invalid data {show(raw)} for parameter "{parameter}".', details=details)
        self.parameter = parameter


class MalformedRequestBody(BadRequest):
    code = "MALFORMED_REQUEST_BODY"


class MalformedRequest(BadRequest):
    """The request is not HTTP/1.1 the server can parse (its head, or its body's framing): the
    HTTP protocol answers it and closes the connection, before any app sees it."""

    code = "MALFORMED_REQUEST"


class UnknownPreference(BadRequest):
    """The mock (`charter serve --mock`) cannot answer as the `Prefer` header asks: a status
    or an example the operation does not document."""

    code = "UNKNOWN_PREFERENCE"


class Unauthorized(HttpError):
    """The request did not authenticate (`security`): no credentials, or refused ones. Its
    `WWW-Authenticate` header names the schemes to authenticate with."""

    status = 401
    name = "UnauthorizedError"
    default_message = "Unauthorized"


class MissingCredentials(Unauthorized):
    code = "MISSING_CREDENTIALS"
    default_message = "The request has no credentials that this operation accepts."


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"
    default_message = "The request's credentials were refused."


class Forbidden(HttpError):
    """Who made the request may not do this. A security verifier raises it to refuse
    credentials that are valid (403, where returning None is 401)."""

    status = 403
    name = "ForbiddenError"
    code = "FORBIDDEN"
    default_message = "Forbidden"


class InsufficientScope(Forbidden):
    code = "INSUFFICIENT_SCOPE"
    default_message = "The request's credentials do not grant the scopes this operation requires."


class NotFound(HttpError):
    status = 404
    name = "NotFoundError"
    default_message = "Not Found"


class EndpointNotFound(NotFound):
    def __init__(self, method: str, path: str) -> None:
        super().__init__(f'Endpoint "{method} {path}" not found.')


class EntityNotFound(NotFound):
    code = "ENTITY_NOT_FOUND"

    def __init__(self, entity: str, id: Any) -> None:
        # Shown as LoopBack (JavaScript) shows the number: "with id 99", not "with id 99.0".
        if isinstance(id, float) and id.is_integer() and abs(id) < 2**53:
            id = int(id)
        super().__init__(f"Entity not found: {entity} with id {show(id)}")


class MethodNotAllowed(HttpError):
    status = 405
    name = "MethodNotAllowedError"
    default_message = "Method Not Allowed"

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(
            f'Method "{method}" is not allowed for "{path}". Allowed: {", ".join(allowed)}.',
            headers={"allow": ", ".join(allowed)},
        )


class RequestTimeout(HttpError):
    """The body did not arrive in time. The connection is closed: the rest of it is not awaited."""

    status = 408
    name = "RequestTimeoutError"
    code = "REQUEST_TIMEOUT"

    def __init__(self, seconds: int) -> None:
        super().__init__(f"The request body did not arrive within {seconds} seconds "
                         f"(CHARTER_BODY_TIMEOUT).", headers={"connection": "close"})


class Conflict(HttpError):
    status = 409
    name = "ConflictError"
    default_message = "Conflict"


class UniqueViolation(Conflict):
    """A write would duplicate a value that must be unique (an id, a unique index)."""

    code = "UNIQUE_VIOLATION"


class ForeignKeyViolation(Conflict):
    """A delete (or a key change) would leave other rows referring to nothing."""

    code = "FOREIGN_KEY_VIOLATION"


class PreconditionFailed(HttpError):
    status = 412
    name = "PreconditionFailedError"
    code = "PRECONDITION_FAILED"
    default_message = "Precondition Failed"


class PayloadTooLarge(HttpError):
    status = 413
    name = "PayloadTooLargeError"
    code = "REQUEST_BODY_TOO_LARGE"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than the limit of {limit} bytes.")


class UnsupportedMediaType(HttpError):
    status = 415
    name = "UnsupportedMediaTypeError"
    code = "UNSUPPORTED_MEDIA_TYPE"

    def __init__(self, content_type: str, allowed: list[str]) -> None:
        super().__init__(f"Content-type {content_type} does not match [{','.join(allowed)}].")


class UnprocessableEntity(HttpError):
    status = 422
    name = "UnprocessableEntityError"
    default_message = "Unprocessable Entity"


class ValidationFailed(UnprocessableEntity):
    code = "VALIDATION_FAILED"

    def __init__(self, details: list[ErrorDetail]) -> None:
        super().__init__(INVALID_BODY_MESSAGE, details=details)


class InvalidReference(Conflict):
    """A written foreign key names a row that does not exist (yet): a conflict with the data,
    not a malformed request, since the same body succeeds once that row is created."""

    code = "INVALID_REFERENCE"


class InvalidValue(UnprocessableEntity):
    """A value the spec allows but the database cannot store (out of its range, say)."""

    code = "INVALID_VALUE"


class HeadersTooLarge(HttpError):
    """Too many header lines, or too many bytes of them; the message names the setting."""

    status = 431
    name = "RequestHeaderFieldsTooLargeError"
    code = "REQUEST_HEADERS_TOO_LARGE"
    default_message = "Request Header Fields Too Large"


class InternalServerError(HttpError):
    pass


class ResponseValidationFailed(InternalServerError):
    code = "RESPONSE_VALIDATION_FAILED"


class NotImplementedYet(HttpError):
    status = 501
    name = "NotImplementedError"
    code = "NOT_IMPLEMENTED"
    default_message = "Not Implemented"


class ServiceUnavailable(HttpError):
    status = 503
    name = "ServiceUnavailableError"
    default_message = "Service Unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached; the client may retry after `Retry-After` seconds."""

    code = "DATABASE_UNAVAILABLE"

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("The database is unavailable. Try again later.",
                         headers={"retry-after": str(retry_after)})


class SchemaNotMigrated(ServiceUnavailable):
    """The database lacks a table or column the spec needs; `charter migrate` adds them."""

    code = "DATABASE_NOT_MIGRATED"
    default_message = ("The database is missing tables or columns the spec needs. "
                       "Run `charter migrate`.")


def show(value: Any) -> str:
    """A value as compact JSON for an error message, whatever its size or type.

    >>> show({"where": {"id": 2}}), show(2**70)
    ('{"where":{"id":2}}', '1180591620717411303424')
    """
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


ERROR_MEDIA_TYPES = {"loopback": "application/json", "problem": "application/problem+json"}


def sample_error(status: int) -> HttpError:
    """An error of `status` with every member an error body can have, to check a documented
    error schema against."""
    sample: type[HttpError] = type("SampleError", (HttpError,),
                                   {"status": status, "code": "EXAMPLE"})
    return sample("An example.", details=[
        {"path": "/x", "code": "type", "message": "must be string", "info": {"type": "string"}}])


def error_body(error: HttpError, message: str, error_format: str) -> dict[str, Any]:
    """The body of an error response, in LoopBack's format or as problem details (RFC 9457)."""
    body: dict[str, Any]
    if error_format == "problem":
        body = {"type": "about:blank", "title": http.HTTPStatus(error.status).phrase,
                "status": error.status, "detail": message}
        if error.code:
            body["code"] = error.code
        if error.details is not None:
            body["details"] = error.details
        return body
    inner: dict[str, Any] = {"statusCode": error.status, "name": error.name, "message": message}
    if error.code:
        inner["code"] = error.code
    if error.details is not None:
        inner["details"] = error.details
    return {"error": inner}


def outcome(error: HttpError) -> str:
    """An error answer in one line, for the access log: its code (or name) and its message,
    quoted as JSON so that nothing a client sent can break the line.

    >>> print(outcome(InvalidParameterValue("id", "x")))
    INVALID_PARAMETER_VALUE "Invalid data \\"x\\" for parameter \\"id\\"."
    """
    return f"{error.code or error.name} {dump_json(error.message).decode()}"


def render_error(
    exc: BaseException,
    *,
    error_format: str = "loopback",
    debug: bool = False,
    request_id: str | None = None,
    media_type: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Turn any exception into `(status, headers, body)`; the only place error bodies are written.

    `error_format` shapes the body (LoopBack's, or RFC 9457's problem details), sent as
    `media_type`, by default the format's own (`ERROR_MEDIA_TYPES`).

    >>> render_error(EndpointNotFound("GET", "/x"))[2]
    b'{"error":{"statusCode":404,"name":"NotFoundError","message":"Endpoint \\\\"GET /x\\\\" not found."}}'
    """
    error = exc if isinstance(exc, HttpError) else InternalServerError()
    status = error.status
    message = error.message
    if status < 500:
        pass  # a client's mistake: the access log's line names it (`outcome`)
    elif isinstance(error, NotImplementedYet | ServiceUnavailable):
        # An outcome the server means (an operation not written yet, a database that is
        # down): one line, no traceback.
        logger.warning("request %s: %d %s: %s", request_id or "-", status,
                       error.code or error.name, message)
    else:
        logger.error(
            "request %s failed with %s", request_id or "-", status,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        # Internal messages stay internal unless debugging; a response-contract breach is
        # meant to be read.
        if debug and error is not exc:
            message = str(exc) or type(exc).__name__
        elif not debug and type(error) in (InternalServerError, HttpError):
            message = "Internal Server Error"
    body = error_body(error, message, error_format)
    if debug and status >= 500:
        target = body if error_format == "problem" else body["error"]
        target["stack"] = "".join(traceback.format_exception(exc))
    headers = {"content-type": media_type or ERROR_MEDIA_TYPES[error_format], **error.headers}
    if request_id:
        headers["x-request-id"] = request_id
    return status, headers, dump_json(body)
