"""`GET /todo-lists/{id}/summary`: a hand-written operation, over the derived repositories."""

from __future__ import annotations

from server import EntityNotFound, Repository


class Summaries:
    """Constructed per request; the repositories are injected by name."""

    def __init__(self, todo_list_repository: Repository, todo_repository: Repository) -> None:
        self.lists = todo_list_repository
        self.todos = todo_repository

    def todo_list(self, id_: float) -> dict[str, int]:
        """How many todos the list has, completed and open (404 when there is no such list)."""
        if not self.lists.exists(id_):
            raise EntityNotFound("TodoList", id_)
        total = self.todos.count({"todoListId": id_})
        completed = self.todos.count({"todoListId": id_, "isComplete": True})
        return {"total": total, "completed": completed, "open": total - completed}
