"""Todo's derived operations, extended: a controller override and a repository rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from server import CrudController, Repository


class TodoController(CrudController):
    """Serves all eight of Todo's CRUD operations; only `create` is changed."""

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new todo's title says each word once apart: `buy   milk` is `buy milk`. (Its ends
        are the repository's to trim, on every path.)"""
        return super().create({**body, "title": _RUNS.sub(" ", body["title"])})


_RUNS = re.compile(r"(?<=\S)\s{2,}(?=\S)")


class TodoRepository(Repository):
    """Todo's repository everywhere: no title is stored with spaces around it, whichever path
    writes it (`POST /todos`, `PATCH /todos/{id}`, `POST /todo-lists/{id}/todos`, a script)."""

    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return super().create(_trimmed(data))

    def update_by_id(self, id_: Any, data: Mapping[str, Any], *,
                     if_match: str | None = None) -> str:
        return super().update_by_id(id_, _trimmed(data), if_match=if_match)

    def replace_by_id(self, id_: Any, data: Mapping[str, Any], *,
                      if_match: str | None = None) -> str:
        return super().replace_by_id(id_, _trimmed(data), if_match=if_match)

    def update_all(self, data: Mapping[str, Any], where: Mapping[str, Any] | None = None) -> int:
        return super().update_all(_trimmed(data), where)


def _trimmed(data: Mapping[str, Any]) -> dict[str, Any]:
    title = data.get("title")
    return {**data, "title": title.strip()} if isinstance(title, str) else dict(data)
