"""The database scenarios' todo API as a FastAPI user writes it: SQLAlchemy 2 ORM, a session per request.

Serve it with `DATABASE_URL=... uvicorn bench.fastapi_db_app:app`, on the `todo` table that
`charter migrate` created from `spec/` and `bench/databases.py` seeded (the same rows Charter
serves).

Fairness: this is the way FastAPI's "SQL (Relational) Databases" tutorial and most
applications do it, neither tuned nor hobbled:

- a declarative ORM model of the table; `create_engine` with the defaults (pool of 5 + 10
  overflow; `check_same_thread=False` on SQLite, as the tutorial says), a `sessionmaker`, and a
  `get_db` generator dependency that yields one session per request and closes it;
- plain `def` endpoints, which FastAPI runs in its thread pool since SQLAlchemy blocks (Charter
  runs its database work in the same anyio thread pool);
- pydantic models for the body and the responses (`response_model`), with camelCase aliases so
  the JSON matches the spec's, and `response_model_exclude_none` so a response carries the same
  properties as Charter's (which leaves unset ones out);
- POST does what the tutorial does: `add`, `commit`, `refresh`, so two statements;
- the `filter` query parameter (JSON) is read by an `async def` dependency, as in
  `bench/fastapi_app.py` (a plain `def` one would cost one more trip to the thread pool), and
  applied with SQLAlchemy: `where` (equality and `eq neq gt gte lt lte inq like`), `order`,
  `skip` and `limit` (at most 1000, Charter's default cap). It checks only names, not value
  types, and knows no `and`/`or`/`fields`/`include`: less work than Charter's filters do.

Not used on purpose: `ORJSONResponse`, raw SQL or Core instead of the ORM, `expire_on_commit`
tweaks, `pool_pre_ping`, async drivers.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.
import operator
import os
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import JSON, BigInteger, ColumnElement, Integer, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///data/app.db")
MAX_LIMIT = 1000

connect_args = {"check_same_thread": False} if DATABASE_URL.startswith("sqlite") else {}
engine = create_engine(DATABASE_URL, connect_args=connect_args)
SessionLocal = sessionmaker(bind=engine, autoflush=False)


class Base(DeclarativeBase):
    pass


class Todo(Base):
    __tablename__ = "todo"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    title: Mapped[str]
    desc: Mapped[str | None]
    is_complete: Mapped[bool | None]
    remind_at_address: Mapped[str | None]
    remind_at_geo: Mapped[str | None]
    tag: Mapped[Any] = mapped_column(JSON, nullable=True)
    todo_list_id: Mapped[int | None] = mapped_column(BigInteger)


class TodoBase(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, from_attributes=True)

    title: str
    desc: str | None = None
    is_complete: bool | None = None
    remind_at_address: str | None = None
    remind_at_geo: str | None = None
    tag: Any = None
    todo_list_id: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | None = None


class TodoCreate(TodoBase):
    model_config = ConfigDict(extra="forbid")


class TodoRead(TodoBase):
    id: int


class TodoFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    where: dict[str, Any] | None = None
    order: list[str] | str | None = None
    skip: Annotated[int, Field(ge=0)] | None = None
    limit: Annotated[int, Field(ge=1)] | None = None


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def parse_filter(filter: Annotated[str | None, Query()] = None) -> TodoFilter | None:
    if filter is None:
        return None
    try:
        return TodoFilter.model_validate_json(filter)
    except ValidationError as error:
        raise HTTPException(status_code=422, detail=error.errors(include_url=False)) from None


DbSession = Annotated[Session, Depends(get_db)]
FilterQuery = Annotated[TodoFilter | None, Depends(parse_filter)]

COLUMNS = {
    "id": Todo.id,
    "title": Todo.title,
    "desc": Todo.desc,
    "isComplete": Todo.is_complete,
    "remindAtAddress": Todo.remind_at_address,
    "remindAtGeo": Todo.remind_at_geo,
    "todoListId": Todo.todo_list_id,
}
OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "inq": lambda column, values: column.in_(values),
    "like": lambda column, pattern: column.like(pattern),
}


def column(name: str) -> Any:
    if name not in COLUMNS:
        raise HTTPException(status_code=422, detail=f"Todo has no property {name!r}")
    return COLUMNS[name]


def where_clauses(where: dict[str, Any]) -> list[ColumnElement[bool]]:
    clauses = []
    for name, condition in where.items():
        if not isinstance(condition, dict):
            clauses.append(column(name) == condition)
            continue
        for op, value in condition.items():
            if op not in OPERATORS:
                raise HTTPException(status_code=422, detail=f"unknown operator {op!r}")
            clauses.append(OPERATORS[op](column(name), value))
    return clauses


def order_by(order: list[str] | str) -> list[Any]:
    terms = []
    for key in [order] if isinstance(order, str) else order:
        name, _, direction = key.partition(" ")
        terms.append(column(name).desc() if direction.strip().upper() == "DESC" else column(name).asc())
    return terms


app = FastAPI(title="todo", openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/todos/{id}", response_model=TodoRead, response_model_exclude_none=True)
def find_todo(id: int, db: DbSession) -> Any:
    todo = db.get(Todo, id)
    if todo is None:
        raise HTTPException(status_code=404, detail=f"Entity not found: Todo with id {id}")
    return todo


@app.get("/todos", response_model=list[TodoRead], response_model_exclude_none=True)
def find_todos(filter: FilterQuery, db: DbSession) -> Any:
    filter = filter or TodoFilter()
    query = select(Todo)
    if filter.where:
        query = query.where(*where_clauses(filter.where))
    if filter.order:
        query = query.order_by(*order_by(filter.order))
    query = query.offset(filter.skip or 0).limit(min(filter.limit or MAX_LIMIT, MAX_LIMIT))
    return db.scalars(query).all()


@app.post("/todos", response_model=TodoRead, response_model_exclude_none=True)
def create_todo(todo: TodoCreate, db: DbSession) -> Any:
    db_todo = Todo(**todo.model_dump())
    db.add(db_todo)
    db.commit()
    db.refresh(db_todo)
    return db_todo
