"""Relations: `include` in batches, and LoopBack's relation routes (`/todo-lists/{id}/todos`).

`include` costs one query per relation and level, whatever the number of rows: the keys of all
the rows found are collected and the related rows fetched with one `IN (...)` per batch of
keys, never one query per row (the N+1 pattern).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, select

from server.data.entities import Entity, Relation
from server.data.filters import Source
from server.errors import EntityNotFound, InvalidParameterValue

if TYPE_CHECKING:
    from server.data.repository import Item, Repositories, Repository

BATCH = 500
"""Keys per `IN (...)`: well below every database's limit on bound parameters."""

_SCOPE_KEYS = frozenset({"where", "fields", "order", "limit", "skip", "offset", "include"})


class Inclusion:
    """Resolves `include` for rows of any entity, following relations through the repositories."""

    def __init__(self, repositories: Repositories) -> None:
        self.repositories = repositories

    def include(self, connection: Connection, entity: Entity, rows: list[Item], include: Any,
                source: Source) -> None:
        """Add each included relation to `rows` (full rows, in place)."""
        for relation, scope, at in self._items(entity, include, source):
            if rows:
                self._resolve(connection, relation, rows, scope, at)

    def _items(self, entity: Entity, include: Any,
               source: Source) -> list[tuple[Relation, Mapping[str, Any], Source]]:
        items = include if isinstance(include, list) else [include]
        resolved = []
        for i, item in enumerate(items):
            at = _at(source, f"/{i}") if isinstance(include, list) else source
            name, scope = item, None
            if isinstance(item, Mapping):
                name, scope = item.get("relation"), item.get("scope")
                unknown = sorted(set(item) - {"relation", "scope"})
                if unknown:
                    raise _invalid(at, f"{unknown[0]!r} is not part of an inclusion; use "
                                       f"relation and scope")
            if not isinstance(name, str) or name not in entity.relations:
                raise _invalid(at, f"{entity.name} has no relation {name!r} to include",
                               name if isinstance(name, str) else None)
            relation = entity.relations[name]
            target = self.repositories[relation.target]
            scope_at = _at(at, "/scope") if isinstance(item, Mapping) else at
            checked = target.check_filter(scope, scope_at)
            unknown = sorted(set(checked) - _SCOPE_KEYS)
            if unknown:
                raise _invalid(_at(scope_at, f"/{unknown[0]}"),
                               f"{unknown[0]!r} is not a filter key")
            resolved.append((relation, checked, scope_at))
        return resolved

    def _resolve(self, connection: Connection, relation: Relation, rows: list[Item],
                 scope: Mapping[str, Any], at: Source) -> None:
        target = self.repositories[relation.target]
        if relation.kind == "belongsTo":
            keys = _keys(rows, relation.key_from)
            found = self._related(connection, target, relation.key_to, keys, scope, at)
            by_key = {item[relation.key_to]: item for item in found}
            for row in rows:
                match = by_key.get(row.get(relation.key_from))
                if match is not None:
                    row[relation.name] = match
            self._presented(connection, target, rows, relation, scope, at)
            return
        if relation.kind == "hasManyThrough":
            groups = self._through(connection, relation, rows, scope, at)
        else:
            keys = _keys(rows, relation.key_from)
            found = self._related(connection, target, relation.key_to, keys, scope, at)
            groups = defaultdict(list)
            for item in found:
                groups[item[relation.key_to]].append(item)
        limit = scope.get("limit") if relation.many else 1
        skip = (scope.get("skip", scope.get("offset")) or 0) if relation.many else 0
        for row in rows:
            group = groups.get(row.get(relation.key_from), [])
            group = group[skip:] if skip else group
            group = group[:limit] if isinstance(limit, int) else group
            if relation.many:
                row[relation.name] = group
            elif group:
                row[relation.name] = group[0]
        self._presented(connection, target, rows, relation, scope, at)

    def _related(self, connection: Connection, target: Repository, key: str, keys: list[Any],
                 scope: Mapping[str, Any], at: Source) -> list[Item]:
        """Full rows of `target` whose `key` is one of `keys`, in the scope's order."""
        column = target.table.c[key]
        found: list[Item] = []
        for start in range(0, len(keys), BATCH):
            batch = keys[start:start + BATCH]
            found += target.select_rows(connection, scope, at, column.in_(batch), paged=False)
        return found

    def _through(self, connection: Connection, relation: Relation, rows: list[Item],
                 scope: Mapping[str, Any], at: Source) -> dict[Any, list[Item]]:
        assert relation.through is not None
        through = self.repositories[relation.through.entity]
        links: list[Item] = []
        keys = _keys(rows, relation.key_from)
        for start in range(0, len(keys), BATCH):
            batch = keys[start:start + BATCH]
            column = through.table.c[relation.through.key_from]
            query = through.selection.where(column.in_(batch))
            links += [dict(row) for row in connection.execute(query).mappings()]
        target = self.repositories[relation.target]
        target_keys = _keys(links, relation.through.key_to)
        found = self._related(connection, target, relation.key_to, target_keys, scope, at)
        position = {item[relation.key_to]: item for item in found}
        linked: dict[Any, set[Any]] = defaultdict(set)
        for link in links:
            linked[link[relation.through.key_from]].add(link[relation.through.key_to])
        return {source_key: [item for key, item in position.items() if key in targets]
                for source_key, targets in linked.items()}

    def _presented(self, connection: Connection, target: Repository, rows: list[Item],
                   relation: Relation, scope: Mapping[str, Any], at: Source) -> None:
        """Replace the full related rows by what the API shows (nested includes, fields)."""
        related: list[Item] = []
        for row in rows:
            value = row.get(relation.name)
            related += value if isinstance(value, list) else [value] if value else []
        unique = list({id(item): item for item in related}.values())
        shown = dict(zip((id(item) for item in unique),
                         target.present(connection, unique, scope, at), strict=True))
        for row in rows:
            value = row.get(relation.name)
            if isinstance(value, list):
                row[relation.name] = [shown[id(item)] for item in value]
            elif value is not None:
                row[relation.name] = shown[id(value)]


class RelationRoutes:
    """What LoopBack's relation controllers do, for one relation: the nested routes' actions."""

    def __init__(self, repositories: Repositories, relation: Relation) -> None:
        self.relation = relation
        self.source = repositories[relation.source]
        self.target = repositories[relation.target]
        self.through = repositories[relation.through.entity] if relation.through else None

    def find(self, id_: Any, filter_: Mapping[str, Any] | None) -> list[Item]:
        """`GET /sources/{id}/targets`: the related items, filtered."""
        condition = self._condition(self._source_key(id_))
        return self.target.find_where(filter_, condition, Source("filter", filter_))

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
        key = self._source_key(id_)
        source = Source("filter", filter_)
        filter_ = self.target.check_filter(filter_, source)
        with self.target.database.read() as connection:
            rows = self.target.select_rows(connection, {**filter_, "limit": 1}, source,
                                           self._condition(key))
            if not rows:
                raise EntityNotFound(relation.target, {relation.key_to: key})
            tag = self.target.etag(rows[0])
            return self.target.present(connection, rows, filter_, source)[0], tag

    def create(self, id_: Any, data: Mapping[str, Any]) -> tuple[Item, str]:
        """`POST /sources/{id}/targets`: a new item, linked to the source, and its ETag."""
        relation = self.relation
        key = self._source_key(id_)
        with self.target.database.write() as connection:
            if relation.through is None:
                item = self.target.insert(connection, {**data, relation.key_to: key})
            else:
                assert self.through is not None
                item = self.target.insert(connection, data)
                self.through.insert(connection, {relation.through.key_from: key,
                                                 relation.through.key_to: item[relation.key_to]})
        return self.target.visible_only(item), self.target.etag(item)

    def patch(self, id_: Any, data: Mapping[str, Any], where: Mapping[str, Any] | None) -> int:
        """`PATCH /sources/{id}/targets?where=`: update the related items; the link stays."""
        relation = self.relation
        condition = self._condition(self._source_key(id_))
        if relation.through is None:
            data = {k: v for k, v in data.items() if k != relation.key_to}
        return self.target.update_where(data, where, condition, Source("where", where))

    def delete(self, id_: Any, where: Mapping[str, Any] | None) -> int:
        """`DELETE /sources/{id}/targets?where=`: delete the related items (and their links)."""
        relation = self.relation
        condition = self._condition(self._source_key(id_))
        if relation.through is None or self.through is None:
            return self.target.delete_where(where, condition, Source("where", where))
        source = Source("where", where)
        conditions = self.target.conditions(where, source, condition)
        column = self.target.table.c[relation.key_to]
        with self.target.database.write("delete") as connection:
            ids = list(connection.execute(select(column).where(*conditions)).scalars())
            link = self.through.table.c[relation.through.key_to]
            owner = self.through.table.c[relation.through.key_from]
            for start in range(0, len(ids), BATCH):
                batch = ids[start:start + BATCH]
                connection.execute(self.through.table.delete().where(
                    owner == self._source_key(id_), link.in_(batch)))
                connection.execute(self.target.table.delete().where(column.in_(batch)))
        return len(ids)

    def _source_key(self, id_: Any) -> Any:
        """The source's key value for the item with this id; 404 when there is no such item."""
        with self.source.database.read() as connection:
            row = self.source.load(connection, id_)
        if row is None:
            raise EntityNotFound(self.relation.source, id_)
        return row.get(self.relation.key_from)

    def _condition(self, key: Any) -> ColumnElement[bool]:
        relation = self.relation
        if relation.through is None:
            condition: ColumnElement[bool] = self.target.table.c[relation.key_to] == key
            return condition
        assert self.through is not None
        linked = select(self.through.table.c[relation.through.key_to]).where(
            self.through.table.c[relation.through.key_from] == key)
        return self.target.table.c[relation.key_to].in_(linked)


def _keys(rows: list[Item], key: str) -> list[Any]:
    return list(dict.fromkeys(row[key] for row in rows if row.get(key) is not None))


def _at(source: Source, pointer: str) -> Source:
    return Source(source.parameter, source.raw, source.at + pointer)


def _invalid(source: Source, message: str, prop: str | None = None) -> InvalidParameterValue:
    return InvalidParameterValue(source.parameter, source.raw, details=[{
        "path": source.at, "code": "filter", "message": message,
        "info": {"relation": prop} if prop is not None else {}}])
