"""Charter handlers for the todo spec, backed by the benchmarks' in-memory store."""

from __future__ import annotations

from typing import Any

from bench.store import Todo, TodoStore
from handlers import timing
from server.errors import EntityNotFound
from server.settings import Settings


def services(settings: Settings) -> dict[str, object]:
    """One store per process, injected into `TodoController` by its constructor argument's name."""
    return {"store": TodoStore.seeded()}


class TodoController:
    """Answers the `TodoController.*` operationIds of the spec."""

    def __init__(self, store: TodoStore) -> None:
        self.store = store

    async def create(self, body: Todo) -> Todo:
        return self.store.create(body)

    async def find(self, filter_: dict[str, Any] | None = None) -> list[Todo]:
        return self.store.find(filter_)

    async def find_by_id(self, id_: float, filter_: dict[str, Any] | None = None) -> Todo:
        todo = self.store.get(id_)
        if todo is None:
            raise EntityNotFound("Todo", id_)
        return todo

    async def count(self, where: dict[str, Any] | None = None) -> dict[str, int]:
        return {"count": self.store.count(where)}

    async def update_all(self, body: Todo, where: dict[str, Any] | None = None) -> dict[str, int]:
        return {"count": self.store.update_all(body, where)}

    async def update_by_id(self, id_: float, body: Todo) -> None:
        if self.store.update(id_, body) is None:
            raise EntityNotFound("Todo", id_)

    async def replace_by_id(self, id_: float, body: Todo) -> None:
        if self.store.update(id_, body, replace=True) is None:
            raise EntityNotFound("Todo", id_)

    async def delete_by_id(self, id_: float) -> None:
        if not self.store.delete(id_):
            raise EntityNotFound("Todo", id_)


class Summaries:
    """The example's hand-written `GET /todo-lists/{id}/summary`, over the store (no scenario
    calls it; the spec needs it bound)."""

    def __init__(self, store: TodoStore) -> None:
        self.store = store

    async def todo_list(self, id_: float) -> dict[str, int]:
        total = self.store.count({"todoListId": id_})
        completed = self.store.count({"todoListId": id_, "isComplete": True})
        return {"total": total, "completed": completed, "open": total - completed}


class Timing(timing.Timing):
    """The example's interceptor, which the spec binds around the summary."""
