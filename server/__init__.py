"""Charter: an OpenAPI-first contract server. What users import lives here.

The data layer's names load when first used (`from server import Repository`), so that a spec
without entities never imports SQLAlchemy, Alembic or a database driver.
"""

import importlib as _importlib
import typing as _typing

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
    UniqueViolation,
    UnprocessableEntity,
)
from server.interceptors import InvocationContext
from server.requests import Request
from server.responses import Response
from server.settings import Settings
from server.spec import Spec, SpecError, load_spec

if _typing.TYPE_CHECKING:
    from server.data.controllers import CrudController, RelationController
    from server.data.database import Database
    from server.data.filters import Filters
    from server.data.model import DataModel, read_model
    from server.data.repository import Repositories, Repository

_DATA_LAYER = {
    "CrudController": "server.data.controllers",
    "RelationController": "server.data.controllers",
    "Database": "server.data.database",
    "Filters": "server.data.filters",
    "DataModel": "server.data.model",
    "read_model": "server.data.model",
    "Repositories": "server.data.repository",
    "Repository": "server.data.repository",
}


def __getattr__(name: str) -> _typing.Any:
    module = _DATA_LAYER.get(name)
    if module is None:
        raise AttributeError(f"module 'server' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_DATA_LAYER})

__all__ = [
    "App",
    "BadRequest",
    "Conflict",
    "ContractError",
    "CrudController",
    "DataModel",
    "Database",
    "EntityNotFound",
    "Filters",
    "HttpError",
    "InvalidParameterValue",
    "InvocationContext",
    "MissingRequiredParameter",
    "NotFound",
    "PreconditionFailed",
    "RelationController",
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
