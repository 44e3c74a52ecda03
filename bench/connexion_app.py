"""The todo API on connexion 3's `AsyncApp`, over the same spec as Charter.

Three adaptations, each the smallest that makes connexion answer like the others:
- operationIds are `TodoController.create` and so on: a resolver maps them to the functions here;
- connexion ignores `content` on a parameter (JSON in the query, `?filter={...}`), so it would
  hand the handler an unparsed, unvalidated string: such parameters are rewritten to
  `schema: {type: string}` and the handler parses the JSON and validates it against the spec's
  schema (a compiled `Draft4Validator`, what connexion itself uses), answering 400 if invalid;
- connexion answers 400 to a body that breaks its schema, LoopBack (and Charter, FastAPI) 422:
  a body validator subclass raises 422 instead.

The spec is bundled into one document by Charter's own loader, and its `x-entity` schemas
expanded into the operations Charter derives from them (`read_model`), so that connexion reads
exactly the paths and schemas Charter compiles; only the `TodoController` operations are kept
(the todo-list routes are not benchmarked and have no function here).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, ClientProblem, ProblemException
from connexion.resolver import Resolver
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import RefResolver

from bench.store import Todo, TodoStore
from server.data.model import read_model
from server.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "spec"

store = TodoStore.seeded()


class UnprocessableBodyValidator(JSONRequestBodyValidator):
    """connexion's JSON body validator, answering 422 (not 400) to a body its schema rejects."""

    def _validate(self, body: Any) -> dict[str, Any] | None:
        try:
            return super()._validate(body)  # type: ignore[no-any-return]
        except BadRequestProblem as problem:
            raise ClientProblem(422, "Unprocessable Entity", detail=problem.detail) from None


def _adapt_for_connexion(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rewrite `content` query parameters as strings; return the new spec and their schemas."""
    adapted = copy.deepcopy(document)
    json_schemas: dict[str, Any] = {}
    for item in adapted["paths"].values():
        shared = item.get("parameters", [])
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                for parameter in [*shared, *operation.get("parameters", [])]:
                    if "content" in parameter:
                        key = f"{operation['operationId']}:{parameter['name']}"
                        json_schemas[key] = parameter["content"]["application/json"]["schema"]
        for operation in [item, *item.values()]:
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                if parameter.pop("content", None) is not None:
                    parameter["schema"] = {"type": "string"}
    return adapted, json_schemas


def _todo_controller_paths(document: dict[str, Any]) -> dict[str, Any]:
    """The spec with only the paths whose operations all answer `TodoController.*` operationIds."""

    def answered(item: dict[str, Any]) -> bool:
        ids = [op["operationId"] for op in item.values() if isinstance(op, dict) and "operationId" in op]
        return bool(ids) and all(i.startswith("TodoController.") for i in ids)

    return {**document, "paths": {path: item for path, item in document["paths"].items() if answered(item)}}


_document, _json_schemas = _adapt_for_connexion(
    _todo_controller_paths(read_model(load_spec(SPEC))[0].document)
)
_resolver = RefResolver.from_schema(_document)
_json_validators = {key: Draft4Validator(schema, resolver=_resolver) for key, schema in _json_schemas.items()}


def _json_parameter(operation_id: str, name: str, raw: str | None) -> Any:
    """Parse and validate a JSON query parameter, as Charter and FastAPI do before the handler."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        _json_validators[f"{operation_id}:{name}"].validate(value)
    except (ValueError, ValidationError) as error:
        raise BadRequestProblem(detail=f"Invalid {name}: {error}") from None
    return value


def _not_found(id_: float) -> ProblemException:
    return ProblemException(status=404, title="Not Found", detail=f"Entity not found: Todo with id {id_}")


async def create(body: Todo) -> Todo:
    return store.create(body)


async def find(filter_: str | None = None) -> list[Todo]:
    return store.find(_json_parameter("TodoController.find", "filter", filter_))


async def find_by_id(id_: float, filter_: str | None = None) -> Todo:
    _json_parameter("TodoController.findById", "filter", filter_)
    todo = store.get(id_)
    if todo is None:
        raise _not_found(id_)
    return todo


async def count(where: str | None = None) -> dict[str, int]:
    return {"count": store.count(_json_parameter("TodoController.count", "where", where))}


async def update_all(body: Todo, where: str | None = None) -> dict[str, int]:
    parsed = _json_parameter("TodoController.updateAll", "where", where)
    return {"count": store.update_all(body, parsed)}


async def update_by_id(id_: float, body: Todo) -> tuple[None, int]:
    if store.update(id_, body) is None:
        raise _not_found(id_)
    return None, 204


async def replace_by_id(id_: float, body: Todo) -> tuple[None, int]:
    if store.update(id_, body, replace=True) is None:
        raise _not_found(id_)
    return None, 204


async def delete_by_id(id_: float) -> tuple[None, int]:
    if not store.delete(id_):
        raise _not_found(id_)
    return None, 204


OPERATIONS: dict[str, Callable[..., Any]] = {
    "TodoController.create": create,
    "TodoController.find": find,
    "TodoController.findById": find_by_id,
    "TodoController.count": count,
    "TodoController.updateAll": update_all,
    "TodoController.updateById": update_by_id,
    "TodoController.replaceById": replace_by_id,
    "TodoController.deleteById": delete_by_id,
}

_body_validators = MediaTypeDict(
    {**VALIDATOR_MAP["body"], "*/*json": UnprocessableBodyValidator}  # type: ignore[dict-item]
)

app = AsyncApp(__name__, pythonic_params=True, validator_map={"body": _body_validators})
app.add_api(
    _document,
    resolver=Resolver(function_resolver=OPERATIONS.__getitem__),
    swagger_ui_options=None,
)
