"""The in-memory todo store that every app under test uses, so that only the framework differs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

Todo = dict[str, Any]

SEED_SIZE = 100
MAX_CREATED = 10_000
"""Todos created by POST beyond this many evict the oldest created one, so that a long POST run
measures the same work throughout and memory stays flat. The seeded todos are never evicted."""


class TodoStore:
    """A dict of todos keyed by a numeric id, pre-seeded, with LoopBack's filter basics.

    >>> store = TodoStore.seeded(3)
    >>> store.get(2)["title"]
    'todo 2'
    >>> [todo["id"] for todo in store.find({"limit": 2, "skip": 1})]
    [2, 3]
    """

    __slots__ = ("_created", "_next_id", "todos")

    def __init__(self) -> None:
        self.todos: dict[int, Todo] = {}
        self._created: dict[int, None] = {}
        self._next_id = 1

    @classmethod
    def seeded(cls, size: int = SEED_SIZE) -> TodoStore:
        store = cls()
        for n in range(1, size + 1):
            store._insert({"title": f"todo {n}", "desc": f"seeded todo number {n}", "isComplete": n % 3 == 0})
        store._created.clear()
        return store

    def create(self, data: Todo) -> Todo:
        todo = self._insert(data)
        self._created[todo["id"]] = None
        if len(self._created) > MAX_CREATED:
            oldest = next(iter(self._created))
            del self._created[oldest]
            del self.todos[oldest]
        return todo

    def get(self, id_: float) -> Todo | None:
        return self.todos.get(int(id_)) if float(id_).is_integer() else None

    def find(self, filter_: dict[str, Any] | None = None) -> list[Todo]:
        """Apply a LoopBack filter: `where` (equality), `order`, `skip`, `limit` and `fields`."""
        filter_ = filter_ or {}
        todos: Iterable[Todo] = self.todos.values()
        if where := filter_.get("where"):
            todos = [t for t in todos if all(t.get(k) == v for k, v in where.items())]
        if order := filter_.get("order"):
            todos = _ordered(todos, [order] if isinstance(order, str) else order)
        start = filter_.get("skip") or filter_.get("offset") or 0
        limit = filter_.get("limit")
        found = list(itertools.islice(todos, start, None if limit is None else start + limit))
        if fields := filter_.get("fields"):
            found = [_project(todo, fields) for todo in found]
        return found

    def count(self, where: dict[str, Any] | None = None) -> int:
        return len(self.find({"where": where}))

    def update(self, id_: float, data: Todo, *, replace: bool = False) -> Todo | None:
        todo = self.get(id_)
        if todo is None:
            return None
        if replace:
            todo.clear()
        todo.update(data)
        todo["id"] = int(id_)
        return todo

    def update_all(self, data: Todo, where: dict[str, Any] | None = None) -> int:
        matched = self.find({"where": where})
        for todo in matched:
            todo.update({**data, "id": todo["id"]})
        return len(matched)

    def delete(self, id_: float) -> bool:
        todo = self.get(id_)
        if todo is None:
            return False
        del self.todos[todo["id"]]
        self._created.pop(todo["id"], None)
        return True

    def _insert(self, data: Todo) -> Todo:
        todo = {**data, "id": self._next_id}
        self.todos[self._next_id] = todo
        self._next_id += 1
        return todo


def _ordered(todos: Iterable[Todo], keys: list[str]) -> list[Todo]:
    """Sort by each "property [ASC|DESC]" key in turn; missing values sort first."""
    result = list(todos)
    for key in reversed(keys):
        name, _, direction = key.partition(" ")
        result.sort(key=lambda t: (t.get(name) is not None, t.get(name)), reverse=direction == "DESC")
    return result


def _project(todo: Todo, fields: dict[str, bool] | list[str]) -> Todo:
    """LoopBack's `fields`: a list or `{name: true}` keeps only those; `{name: false}` drops."""
    if isinstance(fields, list):
        fields = dict.fromkeys(fields, True)
    kept = {name for name, keep in fields.items() if keep}
    if kept:
        return {k: v for k, v in todo.items() if k in kept}
    return {k: v for k, v in todo.items() if fields.get(k, True)}
