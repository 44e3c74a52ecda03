"""Relation routes: what LoopBack's relation controllers do (`/todo-lists/{id}/todos`), through
the repositories of the relation's entities."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Connection, bindparam, select

from server.data.entities import Item, Relation
from server.data.filters import Source
from server.data.relations import BATCH
from server.data.repository import Repositories, slot_name
from server.data.statements import Narrowing
from server.errors import EntityNotFound


class RelationRoutes:
    """What LoopBack's relation controllers do, for one relation: the nested routes' actions."""

    def __init__(self, repositories: Repositories, relation: Relation) -> None:
        self.relation = relation
        self.source = repositories[relation.source]
        self.target = repositories[relation.target]
        self.through = repositories[relation.through.entity] if relation.through else None
        # The target's rows of one source, its key a slot: one statement per filter shape.
        self._slot = slot_name(self.target.table, "charter_source")
        key: BindParameter[Any] = bindparam(self._slot)
        column = self.target.table.c[relation.key_to]
        if relation.through is None or self.through is None:
            self._link: ColumnElement[bool] = column == key
        else:
            links = self.through.table.c
            self._link = column.in_(select(links[relation.through.key_to]).where(
                links[relation.through.key_from] == key))

    def find(self, id_: Any, filter_: Mapping[str, Any] | None) -> list[Item]:
        """`GET /sources/{id}/targets`: the related items, filtered."""
        with self.source.database.read(single=True) as connection:
            key = self._source_key(connection, id_)
        return self.target.find_where(filter_, self._narrowing(key), Source("filter", filter_))

    def get(self, id_: Any, filter_: Mapping[str, Any] | None = None) -> tuple[Item, str]:
        """hasOne and belongsTo: the one related item (404 when there is none), and its ETag."""
        relation = self.relation
        if relation.kind == "belongsTo":
            with self.source.database.read() as connection:
                row = self.source.load(connection, id_)
            if row is None:
                raise EntityNotFound(relation.source, id_)
            key = row.get(relation.key_from)
            if key is None:
                raise EntityNotFound(relation.target, None)
            return self.target.read_by_id(key, filter_)
        source = Source("filter", filter_)
        plan = self.target.plan(filter_, source)
        with self.target.database.read() as connection:
            key = self._source_key(connection, id_)
            rows = self.target.run(connection, dataclasses.replace(plan, limit=1),
                                   self._narrowing(key))
            if not rows:
                raise EntityNotFound(relation.target, {relation.key_to: key})
            tag = self.target.etag(rows[0])
            return self.target.present(connection, rows, plan, source)[0], tag

    def create(self, id_: Any, data: Mapping[str, Any]) -> Item:
        """`POST /sources/{id}/targets`: a new item, linked to the source. The target's
        repository `create`s it (and the link's, for hasManyThrough), in the transaction that
        read the source: an override of `create` catches this path too."""
        relation = self.relation
        with self.target.database.write() as connection:
            key = self._source_key(connection, id_)
            if relation.through is None:
                return self.target.create({**data, relation.key_to: key})
            assert self.through is not None
            item = self.target.create(data)
            self.through.create({relation.through.key_from: key,
                                 relation.through.key_to: item[relation.key_to]})
            return item

    def patch(self, id_: Any, data: Mapping[str, Any], where: Mapping[str, Any] | None) -> int:
        """`PATCH /sources/{id}/targets?where=`: update the related items; the link stays.
        As LoopBack's, through the target repository's `update_all`, `where` constrained to the
        source's items (for a hasManyThrough, on the rows directly)."""
        relation = self.relation
        source = Source("where", where)
        with self.target.database.write() as connection:
            key = self._source_key(connection, id_)
            if relation.through is None:
                data = {k: v for k, v in data.items() if k != relation.key_to}
                return self.target.update_all(data, self._constrained(where, source, key))
            return self.target.update_where(data, where, self._narrowing(key), source)

    def delete(self, id_: Any, where: Mapping[str, Any] | None) -> int:
        """`DELETE /sources/{id}/targets?where=`: delete the related items (and their links);
        through the target repository's `delete_all`, but for a hasManyThrough's."""
        relation = self.relation
        source = Source("where", where)
        with self.target.database.write("delete") as connection:
            key = self._source_key(connection, id_)
            if relation.through is None or self.through is None:
                return self.target.delete_all(self._constrained(where, source, key))
            checked = self.target.check_where(where, source)
            column = self.target.table.c[relation.key_to]
            narrowing = self._narrowing(key)
            conditions = [*narrowing.conditions, *([] if checked is None else [checked])]
            ids = list(connection.execute(select(column).where(*conditions),
                                          narrowing.values).scalars())
            link = self.through.table.c[relation.through.key_to]
            owner = self.through.table.c[relation.through.key_from]
            for start in range(0, len(ids), BATCH):
                batch = ids[start:start + BATCH]
                connection.execute(self.through.table.delete().where(
                    owner == key, link.in_(batch)))
                connection.execute(self.target.table.delete().where(column.in_(batch)))
        return len(ids)

    def _constrained(self, where: Mapping[str, Any] | None, source: Source,
                     key: Any) -> dict[str, Any]:
        """`where` narrowed to the source's items (LoopBack's `constrainWhere`), once `where`
        itself is checked, so that a fault in it is named where the client wrote it."""
        self.target.check_where(where, source)
        own = {self.relation.key_to: key}
        return {"and": [dict(where), own]} if where else own

    def _source_key(self, connection: Connection, id_: Any) -> Any:
        """The source's key value for the item with this id; 404 when there is no such item.

        A write reads it on its own transaction's connection: a second pooled connection held
        while the first waits would let N writes starve a pool of N (no overflow) into 503s.
        """
        row = self.source.load(connection, id_)
        if row is None:
            raise EntityNotFound(self.relation.source, id_)
        return row.get(self.relation.key_from)

    def _narrowing(self, key: Any) -> Narrowing:
        """The target's rows linked to the source whose key is `key`."""
        return Narrowing(("relation", self.relation.source, self.relation.name), (self._link,),
                         {self._slot: key})
