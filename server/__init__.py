"""Charter: an OpenAPI-first contract server. What users import lives here."""

from server.app import App, ContractError, create_app
from server.bodies import UploadFile
from server.errors import (
    BadRequest,
    Conflict,
    EntityNotFound,
    HttpError,
    InvalidParameterValue,
    MissingRequiredParameter,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    UnprocessableEntity,
)
from server.requests import Request
from server.responses import Response
from server.settings import Settings
from server.spec import Spec, SpecError, load_spec

__all__ = [
    "App",
    "BadRequest",
    "Conflict",
    "ContractError",
    "EntityNotFound",
    "HttpError",
    "InvalidParameterValue",
    "MissingRequiredParameter",
    "NotFound",
    "PreconditionFailed",
    "Request",
    "Response",
    "ServiceUnavailable",
    "Settings",
    "Spec",
    "SpecError",
    "UnprocessableEntity",
    "UploadFile",
    "create_app",
    "load_spec",
]
