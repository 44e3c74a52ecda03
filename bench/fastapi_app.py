"""The todo API as a typical FastAPI user writes it: pydantic models mirroring the spec.

Responses use FastAPI's default `JSONResponse` (stdlib `json`), not `ORJSONResponse`: that is
what the FastAPI tutorial and most applications use, so it is the fair comparison.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Body, Depends, FastAPI, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.store import TodoStore

TodoField = Literal["id", "title", "desc", "isComplete", "remindAtAddress", "remindAtGeo", "tag"]


class NewTodo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    desc: str | None = None
    isComplete: bool | None = None
    remindAtAddress: str | None = None
    remindAtGeo: str | None = None
    tag: Any = None


class Todo(NewTodo):
    id: int | float | None = None


class TodoPartial(NewTodo):
    title: str | None = None  # type: ignore[assignment]
    id: int | float | None = None


class TodoWithRelations(TodoPartial):
    """What find and findById answer: a `fields` projection may leave out `title`."""


class TodoFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: bool | None = None
    title: bool | None = None
    desc: bool | None = None
    isComplete: bool | None = None
    remindAtAddress: bool | None = None
    remindAtGeo: bool | None = None
    tag: bool | None = None


class TodoWhere(BaseModel):
    """Equality on each scalar property, as the spec's `Todo.WhereFilter` allows."""

    model_config = ConfigDict(extra="forbid")

    id: int | float | None = None
    title: str | None = None
    desc: str | None = None
    isComplete: bool | None = None
    remindAtAddress: str | None = None
    remindAtGeo: str | None = None


OrderKey = Literal[
    "id", "id ASC", "id DESC",
    "title", "title ASC", "title DESC",
    "desc", "desc ASC", "desc DESC",
    "isComplete", "isComplete ASC", "isComplete DESC",
    "remindAtAddress", "remindAtAddress ASC", "remindAtAddress DESC",
    "remindAtGeo", "remindAtGeo ASC", "remindAtGeo DESC",
]  # fmt: skip


class TodoFilterById(BaseModel):
    """LoopBack's `Todo.Filter` without `where`, as `GET /todos/{id}` takes it."""

    model_config = ConfigDict(extra="forbid")

    offset: Annotated[int, Field(ge=0)] | None = None
    limit: Annotated[int, Field(ge=1)] | None = None
    skip: Annotated[int, Field(ge=0)] | None = None
    order: OrderKey | list[OrderKey] | None = None
    fields: TodoFields | list[TodoField] | None = None  # uniqueItems is not enforced


class TodoFilter(TodoFilterById):
    where: TodoWhere | None = None


class Count(BaseModel):
    count: int


M = TypeVar("M", bound=BaseModel)


app = FastAPI(title="todo", openapi_url=None, docs_url=None, redoc_url=None)
store = TodoStore.seeded()


def json_query(model: type[M], name: str) -> Callable[..., M | None]:
    """A dependency reading query parameter `name` as JSON, validated by `model` (else 422).

    FastAPI has no JSON-in-query parameter type (a model in `Query()` means one query parameter
    per field), so this is the usual recipe: take the string, `model_validate_json` it. The
    dependency is `async def`: a plain `def` one would run in a thread pool on every request.
    """

    async def parse(raw: Annotated[str | None, Query(alias=name)] = None) -> M | None:
        if raw is None:
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError as error:
            raise RequestValidationError(
                [{**e, "loc": ("query", name, *e["loc"])} for e in error.errors()]
            ) from None

    return parse


WhereQuery = Annotated[TodoWhere | None, Depends(json_query(TodoWhere, "where"))]
FilterQuery = Annotated[TodoFilter | None, Depends(json_query(TodoFilter, "filter"))]
FilterByIdQuery = Annotated[TodoFilterById | None, Depends(json_query(TodoFilterById, "filter"))]


def _dump(model: BaseModel | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(exclude_unset=True)


def _not_found(id_: float) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Entity not found: Todo with id {id_}")


@app.post("/todos", response_model=Todo, response_model_exclude_unset=True)
async def create(todo: NewTodo) -> Any:
    return store.create(todo.model_dump(exclude_unset=True))


@app.get("/todos/count", response_model=Count)
async def count(where: WhereQuery) -> Any:
    return {"count": store.count(_dump(where))}


@app.get("/todos", response_model=list[TodoWithRelations], response_model_exclude_unset=True)
async def find(filter: FilterQuery) -> Any:
    return store.find(_dump(filter))


@app.patch("/todos", response_model=Count)
async def update_all(todo: TodoPartial, where: WhereQuery) -> Any:
    return {"count": store.update_all(todo.model_dump(exclude_unset=True), _dump(where))}


@app.get("/todos/{id}", response_model=TodoWithRelations, response_model_exclude_unset=True)
async def find_by_id(id: int | float, filter: FilterByIdQuery) -> Any:
    todo = store.get(id)
    if todo is None:
        raise _not_found(id)
    return todo


@app.patch("/todos/{id}", status_code=204)
async def update_by_id(id: int | float, todo: Annotated[TodoPartial, Body()]) -> None:
    if store.update(id, todo.model_dump(exclude_unset=True)) is None:
        raise _not_found(id)


@app.put("/todos/{id}", status_code=204)
async def replace_by_id(id: int | float, todo: Annotated[Todo, Body()]) -> None:
    if store.update(id, todo.model_dump(exclude_unset=True), replace=True) is None:
        raise _not_found(id)


@app.delete("/todos/{id}", status_code=204)
async def delete_by_id(id: int | float) -> None:
    if not store.delete(id):
        raise _not_found(id)
