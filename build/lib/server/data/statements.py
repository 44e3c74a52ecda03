"""Statements kept built: one per shape of query, built at its first use.

Building a SQLAlchemy statement, and SQLAlchemy's walk over a new statement object to find its
compiled form in its own cache, cost a few hundred µs per query. Queries of one shape (the same
but for their values, which go in as named slots at execution) share one kept statement instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement

T = TypeVar("T")


@dataclass(frozen=True)
class Narrowing:
    """Conditions beside a filter's where, always of one form but for their values: a relation
    route's link to its source's key, the rows the request's principal owns. Statements are
    kept by `form`; the conditions hold named slots, which `values` fill at execution. A slot is
    named like no column of the table."""

    form: Hashable
    conditions: tuple[ColumnElement[bool], ...]
    values: Mapping[str, Any]

    def __and__(self, other: Narrowing | None) -> Narrowing:
        """Both narrowings at once."""
        if other is None:
            return self
        return Narrowing((self.form, other.form), self.conditions + other.conditions,
                         {**self.values, **other.values})


class Statements:
    """At most `limit` statements, by shape; when full, the oldest goes first.

    >>> kept = Statements(limit=2)
    >>> kept.get(("count", None), lambda: "SELECT count(*) FROM todo")
    'SELECT count(*) FROM todo'
    >>> kept.get(("count", None), lambda: "never built")
    'SELECT count(*) FROM todo'
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._kept: dict[Hashable, object] = {}
        self._adding = threading.Lock()  # handlers' threads may miss at once

    def get(self, shape: Hashable, build: Callable[[], T]) -> T:
        """The statement kept for `shape`, else `build()`'s, kept."""
        statement = self._kept.get(shape)
        if statement is None:
            statement = build()
            with self._adding:
                while len(self._kept) >= self.limit:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[shape] = statement
        return statement  # type: ignore[return-value]  # kept by build's type, per shape

    def __len__(self) -> int:
        return len(self._kept)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._kept))
