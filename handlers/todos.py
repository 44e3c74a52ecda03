"""TodoController: LoopBack's todo CRUD over SQLAlchemy, with LoopBack's filter language.

The methods answer the operationIds of `spec/paths/todos*.yaml` and `spec/paths/todo.yaml`.
The server has validated every argument against the spec before a method runs; the checks
here only guard what a looser spec would let through, so that a bad filter is always a 400
that names the property, never a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, false, func, select, update

from handlers.models import PROPERTIES, Todo
from server.errors import EntityNotFound, InvalidParameterValue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from handlers.database import Database

# `tag` holds any JSON: it is neither compared nor sorted.
_SCALARS = [prop for prop in PROPERTIES if prop != "tag"]
_DIRECTIONS = {"ASC", "DESC"}
_INT64_MAX = 2**63 - 1  # SQLite's integers, for ids, LIMIT and OFFSET


class TodoController:
    """Create, read, update and delete todos; `find` understands LoopBack's filter.

    Results come in id order unless the filter's `order` says otherwise.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        todo = Todo()
        todo.assign(body)
        with self.db.session() as session, session.begin():
            session.add(todo)
        return todo.to_json()

    def find(self, filter_: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`{"where": {...}, "order": ..., "fields": ..., "limit": n, "skip": n}`, all optional."""
        filter_ = filter_ or {}
        query = select(Todo).where(*_conditions(filter_.get("where"), "filter", filter_, "/where"))
        query = _ordered(query, filter_.get("order"), filter_)
        query = _paged(query, filter_)
        fields = _fields(filter_.get("fields"), filter_)
        with self.db.session() as session:
            return [_project(todo.to_json(), fields) for todo in session.scalars(query)]

    def findById(self, id_: float, filter_: dict[str, Any] | None = None) -> dict[str, Any]:
        """The todo with this id; of its filter only `fields` applies to a single todo."""
        filter_ = filter_ or {}
        fields = _fields(filter_.get("fields"), filter_)
        with self.db.session() as session:
            return _project(_get(session, id_).to_json(), fields)

    def count(self, where: dict[str, Any] | None = None) -> dict[str, int]:
        query = select(func.count(Todo.id)).where(*_conditions(where, "where", where, ""))
        with self.db.session() as session:
            return {"count": session.scalar(query) or 0}

    def updateAll(
        self, body: dict[str, Any], where: dict[str, Any] | None = None
    ) -> dict[str, int]:
        """Set `body`'s properties on every todo matching `where`; an `id` in `body` is ignored."""
        conditions = _conditions(where, "where", where, "")
        values = {PROPERTIES[prop]: value for prop, value in body.items() if prop != "id"}
        with self.db.session() as session, session.begin():
            if not values:  # nothing to change, but LoopBack still counts the matches
                matches = select(func.count(Todo.id)).where(*conditions)
                return {"count": session.scalar(matches) or 0}
            result = session.execute(
                update(Todo).where(*conditions).values(values).execution_options(
                    synchronize_session=False
                )
            )
            return {"count": result.rowcount}

    def updateById(self, id_: float, body: dict[str, Any]) -> None:
        with self.db.session() as session, session.begin():
            _get(session, id_).assign(body)

    def replaceById(self, id_: float, body: dict[str, Any]) -> None:
        """Replace every property; the path names the todo, so an `id` in `body` is ignored."""
        with self.db.session() as session, session.begin():
            todo = _get(session, id_)
            todo.assign(dict.fromkeys(PROPERTIES, None) | body)

    def deleteById(self, id_: float) -> None:
        with self.db.session() as session, session.begin():
            session.delete(_get(session, id_))


def _get(session: Session, id_: float) -> Todo:
    row_id = _row_id(id_)
    todo = session.get(Todo, row_id) if row_id is not None else None
    if todo is None:
        # Shown as LoopBack (JavaScript) shows the number: "with id 99", not "with id 99.0".
        raise EntityNotFound("Todo", row_id if row_id is not None else float(id_))
    return todo


def _row_id(value: Any) -> int | None:
    """The integer key a JSON number names, or None when no row can have it (1.5, 2**70).

    >>> _row_id(3.0), _row_id(1.5), _row_id(2**70)
    (3, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if -_INT64_MAX - 1 <= value <= _INT64_MAX else None


def _conditions(
    where: Any, parameter: str, raw: Any, pointer: str
) -> list[ColumnElement[bool]]:
    """Plain equality on each property, all of which must hold: `{"isComplete": true}`.

    `parameter` and `raw` name the query parameter the where came in (`filter` or `where`),
    `pointer` its place inside it, for the 400 a bad where gets.
    """
    if where is None:
        return []
    if not isinstance(where, dict):
        raise _bad(parameter, raw, pointer, "where must be an object")
    clauses: list[ColumnElement[bool]] = []
    for prop, value in where.items():
        if prop not in _SCALARS:
            raise _bad(parameter, raw, f"{pointer}/{prop}",
                       f"Todo has no property {prop!r} to filter by", prop)
        if isinstance(value, dict | list):
            raise _bad(parameter, raw, f"{pointer}/{prop}",
                       f"only plain equality is supported; {prop!r} must be a value", prop)
        if prop == "id":
            row_id = _row_id(value)
            clauses.append(Todo.id == row_id if row_id is not None else false())
        else:
            clauses.append(getattr(Todo, PROPERTIES[prop]) == value)
    return clauses


def _ordered(query: Select[tuple[Todo]], order: Any, filter_: Any) -> Select[tuple[Todo]]:
    """`"title DESC"` or `["isComplete", "title DESC"]`; ASC by default; id breaks ties."""
    keys = [order] if isinstance(order, str) else order or []
    if not isinstance(keys, list):
        raise _bad("filter", filter_, "/order", "order must be a string or an array of strings")
    columns = []
    for i, key in enumerate(keys):
        pointer = f"/order/{i}" if isinstance(order, list) else "/order"
        parts = key.split() if isinstance(key, str) else []
        if not 1 <= len(parts) <= 2:
            raise _bad("filter", filter_, pointer, f"{key!r} is not a property and a direction")
        prop, direction = parts[0], (parts[1] if len(parts) == 2 else "ASC").upper()
        if prop not in _SCALARS:
            raise _bad("filter", filter_, pointer,
                       f"Todo has no property {prop!r} to order by", prop)
        if direction not in _DIRECTIONS:
            raise _bad("filter", filter_, pointer, f"{parts[1]!r} is not ASC or DESC")
        column = getattr(Todo, PROPERTIES[prop])
        columns.append(column.desc() if direction == "DESC" else column.asc())
    return query.order_by(*columns, Todo.id)


def _paged(query: Select[tuple[Todo]], filter_: dict[str, Any]) -> Select[tuple[Todo]]:
    """`limit`, and `skip` (or its synonym `offset`); the spec has checked they are integers."""
    skip = filter_.get("skip", filter_.get("offset"))
    if skip:
        query = query.offset(min(int(skip), _INT64_MAX))
    if filter_.get("limit") is not None:
        query = query.limit(min(int(filter_["limit"]), _INT64_MAX))
    return query


def _fields(fields: Any, filter_: Any) -> set[str] | None:
    """The properties to send: `{"title": true}` keeps, `{"desc": false}` drops, an array keeps.

    None means all of them (no `fields`, `{}` or `[]`), as in LoopBack.
    """
    if not fields:
        return None
    if isinstance(fields, list):
        chosen = {name: True for name in fields}
        pointers = [f"/fields/{i}" for i in range(len(fields))]
    elif isinstance(fields, dict):
        chosen = fields
        pointers = [f"/fields/{name}" for name in fields]
    else:
        raise _bad("filter", filter_, "/fields", "fields must be an object or an array")
    for name, pointer in zip(fields, pointers, strict=True):
        if name not in PROPERTIES:
            raise _bad("filter", filter_, pointer, f"Todo has no property {name!r} to select",
                       name)
    kept = {name for name, keep in chosen.items() if keep}
    return kept if kept else set(PROPERTIES) - set(chosen)


def _project(todo: dict[str, Any], fields: set[str] | None) -> dict[str, Any]:
    return todo if fields is None else {k: v for k, v in todo.items() if k in fields}


def _bad(
    parameter: str, raw: Any, pointer: str, message: str, prop: str | None = None
) -> InvalidParameterValue:
    """A 400 for the whole parameter, whose detail names the faulty part of it."""
    info = {"property": prop} if prop is not None else {}
    return InvalidParameterValue(
        parameter, raw, details=[{"path": pointer, "code": "filter", "message": message,
                                  "info": info}]
    )
