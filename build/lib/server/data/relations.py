"""Relations: `include` in batches (the relation routes are `relation_routes.py`).

`include` costs one query per relation and level, whatever the number of rows: the keys of all
the rows found are collected and the related rows fetched with one `IN (...)` per batch of
keys, never one query per row (the N+1 pattern). What one filter can make the server load is
bounded three ways, all checked or enforced in SQL before rows are materialised:

- depth: `include` nests at most `max_depth` levels (`CHARTER_MAX_INCLUDE_DEPTH`), else 400;
- per parent: a relation adds at most its scope's `limit` items to each parent, capped at
  `CHARTER_MAX_LIMIT` (a scope without a limit gets the cap), ranked in SQL with
  `ROW_NUMBER() OVER (PARTITION BY key ORDER BY ...)`, so the rows past it are never sent;
- in total: a response holds at most `max_rows` items (`CHARTER_MAX_RESPONSE_ROWS`), the parents
  and every included item counted as often as it appears (a list included by 1000 todos counts
  1000 times, and so does what it includes), else 400. When the per-parent cap times the
  parents could pass it, the query is itself limited to what is left, plus one.

A relation named twice in one include list is included once when both scopes are the same
(`["todos", {"relation": "todos"}]`); with different scopes it is a 400, since both would write
the same key (LoopBack resolves both and keeps whichever finishes last).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    func,
    select,
)

from server.data.entities import Entity, Item, Relation
from server.data.filters import Filters, OrderKey, Shape, Source, build, slots
from server.data.statements import Narrowing, Statements
from server.data.tables import INT64, from_db
from server.errors import InvalidParameterValue

BATCH = 500
"""Keys per `IN (...)`: well below every database's limit on bound parameters."""

_SCOPE_KEYS = frozenset({"where", "fields", "order", "limit", "skip", "offset", "include"})
_RANK = "charter_rank_"
_OWNER = "charter_owner_"
_LINKED = "charter_linked_"
# The slots of an include's statement, beside its where's (w0, w1...): one statement per shape.
_KEYS: BindParameter[Any] = bindparam("charter_keys", expanding=True)
_LAST: BindParameter[int] = bindparam("charter_last", type_=BigInteger())
_SKIPPED: BindParameter[int] = bindparam("charter_skipped", type_=BigInteger())
_CAP: BindParameter[int] = bindparam("charter_cap")


class Target(Protocol):
    """What including a relation asks of the related entity's repository (`Repository` is
    one): its table and columns, its filter vocabulary, and its rows as items."""

    entity: Entity
    table: Table
    filters: Filters
    selection: Select[Any]
    statements: Statements

    def check_filter(self, filter_: Any, source: Source) -> Mapping[str, Any]: ...

    def from_row(self, row: Mapping[Any, Any]) -> Item: ...

    def project(self, rows: list[Item], fields: tuple[str, ...] | None) -> list[Item]: ...

    def scope(self) -> Narrowing | None: ...


@dataclass(frozen=True)
class Include:
    """One relation to include, checked and compiled before any query: what to fetch for each
    parent, what to show of it, and what it includes in turn."""

    relation: Relation
    target: Target
    scope: Mapping[str, Any]
    """The scope as given (checked), to tell a repeat from a conflict."""
    at: Source
    """The include entry, for the 400 that names it."""
    where: Shape | None
    values: list[Any]
    """The where's shape, and the values of its slots."""
    order: OrderKey
    limit: int
    """Items per parent: the scope's limit, capped at CHARTER_MAX_LIMIT; 1 for belongsTo/hasOne."""
    skip: int
    fields: tuple[str, ...] | None
    nested: tuple[Include, ...]


class Inclusion:
    """Resolves `include` for rows of any entity, following relations through the repositories.

    `plan` checks and compiles an include filter (400s first, before any query); `load` adds
    what it names to rows already found.
    """

    def __init__(self, repositories: Mapping[str, Target], *, max_depth: int = 3,
                 max_rows: int = 10_000) -> None:
        self.repositories = repositories
        self.max_depth = max_depth
        self.max_rows = max_rows

    def plan(self, entity: Entity, include: Any, source: Source,
             depth: int = 1) -> tuple[Include, ...]:
        """The relations `include` names, checked and compiled; `source` points at it."""
        if not include:
            return ()
        if depth > self.max_depth:
            raise _invalid(source, f"include nests at most {self.max_depth} levels deep "
                                   f"(CHARTER_MAX_INCLUDE_DEPTH)", limit=self.max_depth)
        planned: dict[str, Include] = {}
        for relation, scope, at, scope_at in self._items(entity, include, source):
            earlier = planned.get(relation.name)
            if earlier is None:
                planned[relation.name] = self._compile(relation, scope, at, scope_at, depth)
            elif earlier.scope != scope:
                raise _invalid(at, f"{relation.name!r} is included twice with different scopes; "
                                   f"include a relation once", relation=relation.name)
        return tuple(planned.values())

    def load(self, connection: Connection, rows: list[Item], plan: tuple[Include, ...],
             source: Source) -> None:
        """Add the planned relations to `rows` (full rows, in place): at most `max_rows` items
        in all, `rows` included. `source` points at the include, for the 400 over the limit."""
        budget = _Budget(self.max_rows)
        budget.charge(len(rows), source)
        self._level(connection, rows, dict.fromkeys(map(id, rows), 1), plan, budget)

    def _items(self, entity: Entity, include: Any,
               source: Source) -> list[tuple[Relation, Mapping[str, Any], Source, Source]]:
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
                               **({"relation": name} if isinstance(name, str) else {}))
            relation = entity.relations[name]
            target = self.repositories[relation.target]
            scope_at = _at(at, "/scope") if isinstance(item, Mapping) else at
            checked = target.check_filter(scope, scope_at)
            unknown = sorted(set(checked) - _SCOPE_KEYS)
            if unknown:
                raise _invalid(_at(scope_at, f"/{unknown[0]}"),
                               f"{unknown[0]!r} is not a filter key")
            resolved.append((relation, checked, at, scope_at))
        return resolved

    def _compile(self, relation: Relation, scope: Mapping[str, Any], at: Source,
                 scope_at: Source, depth: int) -> Include:
        target = self.repositories[relation.target]
        filters = target.filters
        where, values = filters.where_shape(scope.get("where"), _at(scope_at, "/where"))
        order = filters.order_key(scope.get("order"), _at(scope_at, "/order"))
        limit, skip = filters.page(scope, scope_at)
        if not relation.many:
            limit, skip = 1, 0
        fields = filters.fields(scope.get("fields"), _at(scope_at, "/fields"))
        nested = self.plan(target.entity, scope.get("include"), _at(scope_at, "/include"),
                           depth + 1)
        return Include(relation, target, scope, at, where, values, order, limit, skip, fields,
                       nested)

    def _level(self, connection: Connection, rows: list[Item], weights: dict[int, int],
               plan: tuple[Include, ...], budget: _Budget) -> None:
        """Include `plan` in `rows`; `weights` says how often each row (by id) is shown."""
        for include in plan:
            groups = self._fetch(connection, include, rows, weights, budget)
            # Each related item once (a list is the same item for all its todos), how often
            # it will be shown, and that charged before anything it includes is read.
            related: dict[int, Item] = {}
            below: dict[int, int] = defaultdict(int)
            shown_count = 0
            for row, group in zip(rows, groups, strict=True):
                if group:
                    weight = weights[id(row)]
                    shown_count += weight * len(group)
                    for item in group:
                        related[id(item)] = item
                        below[id(item)] += weight
            budget.charge(shown_count, include.at, include.relation.name)
            if include.nested and related:
                self._level(connection, list(related.values()), below, include.nested, budget)
            shown = dict(zip(related, include.target.project(list(related.values()),
                                                             include.fields), strict=True))
            name = include.relation.name
            if include.relation.many:
                for row, group in zip(rows, groups, strict=True):
                    row[name] = [shown[id(item)] for item in group]
            else:
                for row, group in zip(rows, groups, strict=True):
                    if group:
                        row[name] = shown[id(group[0])]

    def _fetch(self, connection: Connection, include: Include, rows: list[Item],
               weights: dict[int, int], budget: _Budget) -> list[list[Item]]:
        """Each row's related items (full rows), in scope order, at most `include.limit` each
        (belongsTo and hasOne: one, by their unique key or by the window)."""
        relation, target = include.relation, include.target
        key_from = relation.key_from
        keys = _keys(rows, key_from)
        parents = sum(weights[id(row)] for row in rows if row.get(key_from) is not None)
        # Unless every parent's full share fits, no query may send more than is left (plus one,
        # to know that it did not fit).
        cap = None if budget.fits(parents * include.limit) else budget.left + 1
        found: dict[Any, list[Item]] = defaultdict(list)
        through_key = (self.repositories[relation.through.entity].entity
                       .properties[relation.through.key_from] if relation.through else None)
        scope = target.scope()  # an owned target: the principal's rows only
        query = target.statements.get(
            ("include", relation.source, relation.name, include.where, include.order,
             include.skip > 0, cap is not None, None if scope is None else scope.form),
            lambda: self._query(include, capped=cap is not None, scope=scope))
        params = slots(include.values)
        if scope is not None:
            params.update(scope.values)
        params[_LAST.key] = min(include.skip + include.limit, INT64[1])
        params[_SKIPPED.key] = include.skip
        for start in range(0, len(keys), BATCH):
            params[_KEYS.key] = keys[start:start + BATCH]
            if cap is not None:
                params[_CAP.key] = cap
            result = connection.execute(query, params)
            names = list(result.keys())
            mapped = [dict(zip(names, row, strict=True)) for row in result]
            if through_key is None:
                for item in map(target.from_row, mapped):
                    found[item[relation.key_to]].append(item)
            else:
                for row in mapped:
                    found[from_db(through_key, row[_OWNER])].append(target.from_row(row))
            if cap is not None:
                cap -= len(mapped)
                if cap <= 0:
                    raise budget.exceeded(include.at, relation.name)
        return [found.get(row.get(key_from), []) for row in rows]

    def _query(self, include: Include, *, capped: bool, scope: Narrowing | None) -> Select[Any]:
        """The related rows of the keys in the slot `charter_keys`, each carrying its owner's
        key; ranked per owner and cut to the scope's skip and limit (slots too) unless the key
        makes them one per owner already; at most `charter_cap` rows when `capped`."""
        relation, target = include.relation, include.target
        table = target.table
        conditions = [] if include.where is None else [build(include.where,
                                                             target.filters.columns)]
        conditions += scope.conditions if scope is not None else ()
        query = target.selection
        if relation.through is not None:
            through = self.repositories[relation.through.entity].table
            links = select(through.c[relation.through.key_from].label(_OWNER),
                           through.c[relation.through.key_to].label(_LINKED)).where(
                through.c[relation.through.key_from].in_(_KEYS)).distinct().subquery()
            owner: ColumnElement[Any] = links.c[_OWNER]
            query = query.add_columns(owner).join_from(
                table, links, table.c[relation.key_to] == links.c[_LINKED])
        else:
            owner = table.c[relation.key_to]
            conditions.append(owner.in_(_KEYS))
        if not relation.many and (relation.kind == "hasOne"
                                  or relation.key_to == target.entity.id):
            query = query.where(*conditions)  # unique: one row per key
            return query.limit(_CAP) if capped else query
        rank = func.row_number().over(partition_by=owner,
                                      order_by=target.filters.order_terms(include.order))
        ranked = query.add_columns(rank.label(_RANK)).where(*conditions).subquery()
        names = [*target.entity.properties, *([_OWNER] if relation.through else [])]
        # ROW_NUMBER() is a BIGINT; a skip may be as large (an INTEGER bound would overflow).
        window = [ranked.c[_RANK] <= _LAST]
        if include.skip:
            window.append(ranked.c[_RANK] > _SKIPPED)
        by_owner = ranked.c[_OWNER] if relation.through else ranked.c[relation.key_to]
        query = (select(*(ranked.c[name] for name in names)).where(*window)
                 .order_by(by_owner, ranked.c[_RANK]))
        return query.limit(_CAP) if capped else query


class _Budget:
    """The items one response may still hold."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def fits(self, count: int) -> bool:
        return self.used + count <= self.limit

    def charge(self, count: int, at: Source, relation: str | None = None) -> None:
        if not self.fits(count):
            raise self.exceeded(at, relation)
        self.used += count

    def exceeded(self, at: Source, relation: str | None) -> InvalidParameterValue:
        return _invalid(at, f"the response would hold more than {self.limit} items "
                            f"(CHARTER_MAX_RESPONSE_ROWS); ask for fewer with limit, or narrow "
                            f"the include with its scope's where or limit",
                        **({"relation": relation} if relation else {}), limit=self.limit)


def _keys(rows: list[Item], key: str) -> list[Any]:
    return list(dict.fromkeys(row[key] for row in rows if row.get(key) is not None))


def _at(source: Source, pointer: str) -> Source:
    return Source(source.parameter, source.raw, source.at + pointer)


def _invalid(source: Source, message: str, **info: Any) -> InvalidParameterValue:
    return InvalidParameterValue(source.parameter, source.raw, details=[{
        "path": source.at, "code": "filter", "message": message, "info": info}])
