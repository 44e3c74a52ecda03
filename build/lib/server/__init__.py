"""Charter: an OpenAPI-first contract server. What users import lives here, and only that.

The data layer's names load when first used (`from server import Repository`), so that a spec
without entities never imports SQLAlchemy, Alembic or a database driver. Every name here says
it is `server`'s (`__module__`), wherever it is defined.
"""

import importlib as _importlib
import typing as _typing

from server.app import App
from server.bodies import UploadFile
from server.errors import (
    BadRequest,
    Conflict,
    ContractError,
    DatabaseUnavailable,
    EndpointNotFound,
    EntityNotFound,
    Forbidden,
    ForeignKeyViolation,
    HeadersTooLarge,
    HttpError,
    InsufficientScope,
    InternalServerError,
    InvalidCredentials,
    InvalidParameterValue,
    InvalidReference,
    InvalidValue,
    MalformedRequest,
    MalformedRequestBody,
    MethodNotAllowed,
    MissingCredentials,
    MissingRequiredParameter,
    NotFound,
    NotImplementedYet,
    PayloadTooLarge,
    PreconditionFailed,
    RequestTimeout,
    ResponseValidationFailed,
    SchemaNotMigrated,
    ServiceUnavailable,
    Unauthorized,
    UniqueViolation,
    UnknownPreference,
    UnprocessableEntity,
    UnsupportedMediaType,
    ValidationFailed,
)
from server.interceptors import InvocationContext
from server.principals import Principal
from server.requests import Request
from server.responses import Response
from server.settings import Settings

if _typing.TYPE_CHECKING:
    from server.data.controllers import CrudController, RelationController
    from server.data.repository import Repositories, Repository

_DATA_LAYER = {
    "CrudController": "server.data.controllers",
    "RelationController": "server.data.controllers",
    "Repositories": "server.data.repository",
    "Repository": "server.data.repository",
}

__all__ = [
    "App",
    "BadRequest",
    "Conflict",
    "ContractError",
    "CrudController",
    "DatabaseUnavailable",
    "EndpointNotFound",
    "EntityNotFound",
    "Forbidden",
    "ForeignKeyViolation",
    "HeadersTooLarge",
    "HttpError",
    "InsufficientScope",
    "InternalServerError",
    "InvalidCredentials",
    "InvalidParameterValue",
    "InvalidReference",
    "InvalidValue",
    "InvocationContext",
    "MalformedRequest",
    "MalformedRequestBody",
    "MethodNotAllowed",
    "MissingCredentials",
    "MissingRequiredParameter",
    "NotFound",
    "NotImplementedYet",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Principal",
    "RelationController",
    "Repositories",
    "Repository",
    "Request",
    "RequestTimeout",
    "Response",
    "ResponseValidationFailed",
    "SchemaNotMigrated",
    "ServiceUnavailable",
    "Settings",
    "Unauthorized",
    "UniqueViolation",
    "UnknownPreference",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "UploadFile",
    "ValidationFailed",
]


def _exported(value: _typing.Any) -> _typing.Any:
    value.__module__ = "server"
    return value


def __getattr__(name: str) -> _typing.Any:
    module = _DATA_LAYER.get(name)
    if module is None:
        raise AttributeError(f"module 'server' has no attribute {name!r}")
    value = _exported(getattr(_importlib.import_module(module), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_DATA_LAYER})


for _name in __all__:
    if _name not in _DATA_LAYER:
        _exported(globals()[_name])
