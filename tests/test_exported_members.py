"""The public surface: exactly what users import, each name `server`'s own."""

from __future__ import annotations

import subprocess
import sys

import server
from server import errors

PUBLIC = [
    "App", "BadRequest", "Conflict", "ContractError", "CrudController", "DatabaseUnavailable",
    "EndpointNotFound", "EntityNotFound", "Forbidden", "ForeignKeyViolation", "HeadersTooLarge",
    "HttpError", "InsufficientScope", "InternalServerError", "InvalidCredentials",
    "InvalidParameterValue", "InvalidReference", "InvalidValue", "InvocationContext",
    "MalformedRequest", "MalformedRequestBody", "MethodNotAllowed", "MissingCredentials",
    "MissingRequiredParameter",
    "NotFound", "NotImplementedYet", "PayloadTooLarge", "PreconditionFailed", "Principal",
    "RelationController", "Repositories", "Repository", "Request", "RequestTimeout", "Response",
    "ResponseValidationFailed", "SchemaNotMigrated", "ServiceUnavailable", "Settings",
    "Unauthorized", "UniqueViolation", "UnknownPreference", "UnprocessableEntity",
    "UnsupportedMediaType", "UploadFile", "ValidationFailed",
]


def test_all_is_exactly_the_public_surface() -> None:
    assert server.__all__ == PUBLIC


def test_every_name_is_servers_own() -> None:
    for name in server.__all__:
        value = getattr(server, name)
        assert value.__module__ == "server", name
        assert value.__name__ == name


def test_every_http_error_is_exported() -> None:
    http_errors = {name for name, value in vars(errors).items()
                   if isinstance(value, type) and issubclass(value, errors.HttpError)}
    assert http_errors <= set(server.__all__)


def test_nothing_else_is_public() -> None:
    public = {name for name in dir(server) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(server, name)) is type(server)}
    assert public - modules == set(server.__all__)


def test_start_up_internals_are_not_exported() -> None:
    done = subprocess.run([sys.executable, "-c", "from server import load_spec"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert "cannot import name 'load_spec'" in done.stderr
