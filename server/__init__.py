"""Charter: an OpenAPI-first contract server. What users import lives here."""

from server.app import App, ContractError, create_app
from server.bodies import UploadFile
from server.data.database import Database
from server.data.filters import Filters
from server.data.model import DataModel, read_model
from server.data.repository import Repositories, Repository
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
    UniqueViolation,
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
    "DataModel",
    "Database",
    "EntityNotFound",
    "Filters",
    "HttpError",
    "InvalidParameterValue",
    "MissingRequiredParameter",
    "NotFound",
    "PreconditionFailed",
    "Repositories",
    "Repository",
    "Request",
    "Response",
    "ServiceUnavailable",
    "Settings",
    "Spec",
    "SpecError",
    "UniqueViolation",
    "UnprocessableEntity",
    "UploadFile",
    "create_app",
    "load_spec",
    "read_model",
]
