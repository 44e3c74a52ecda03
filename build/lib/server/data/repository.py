"""Repositories: LoopBack's CRUD repository for each entity, on SQLAlchemy Core.

A repository speaks the API's language: it takes and returns plain JSON-ready dicts keyed by
property name, and LoopBack filters (`{"where": ..., "order": ..., "include": ...}`). Every
write is one transaction. Errors are HTTP errors (404 `ENTITY_NOT_FOUND`, 400 for a bad
filter, 409/422/503 for what the database refuses), so a handler can let them through.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Self

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from server.data.database import Database
from server.data.entities import Entity, Item
from server.data.filters import Filters, OrderKey, Shape, Source, build, slots
from server.data.relations import Include, Inclusion
from server.data.statements import Narrowing, Statements
from server.data.tables import MAX_JSON_DEPTH, from_db, new_id, storage_errors, text_limits, to_db
from server.errors import (
    EntityNotFound,
    Forbidden,
    InvalidParameterValue,
    InvalidValue,
    PreconditionFailed,
    ValidationFailed,
    show,
)
from server.principals import Principal, request_principal
from server.validation import SchemaValidators, Validator

STATEMENTS_PER_ENTITY = 256
"""Query shapes whose statement one repository keeps built (a few KB each)."""
_LIMIT: BindParameter[int] = bindparam("charter_limit")
_OFFSET: BindParameter[int] = bindparam("charter_offset")


@dataclass(frozen=True)
class WriteChecks:
    """An entity's schema, compiled for what a repository writes: `whole` for a create or a
    replace, `partial` (no property required) for an update."""

    whole: Validator
    partial: Validator

    @classmethod
    def of(cls, entity: Entity, document: Mapping[str, Any],
           validators: SchemaValidators) -> WriteChecks:
        """From the entity's schema in the (derived) document. `readOnly` and `writeOnly` say
        what clients send and see; the server stores both, so they are left out here."""
        schema = document["components"]["schemas"][entity.name]
        stored = {**schema, "properties": {
            name: {k: v for k, v in prop.items() if k not in ("readOnly", "writeOnly")}
            if isinstance(prop, Mapping) else prop
            for name, prop in (schema.get("properties") or {}).items()}}
        partial = {k: v for k, v in stored.items() if k != "required"}
        return cls(validators.compile(stored), validators.compile(partial))

@dataclass(frozen=True, slots=True)
class QueryPlan:
    """A filter checked and compiled before anything runs (`Repository.plan`): the where's shape
    and the values of its slots, the order, the page, what to show and what to include. Making
    one raises every 400 the filter deserves; running it raises none."""

    where: Shape | None
    values: list[Any]
    order: OrderKey
    limit: int
    offset: int
    fields: tuple[str, ...] | None
    include: tuple[Include, ...]


_SEEN: ContextVar[dict[tuple[str, Any], str] | None] = ContextVar("charter_etags", default=None)


class etags_seen:
    """While open, each entity a repository reads by id, creates or updates by id is noted
    with the ETag of its stored state, by `(entity name, id)`: the derived controllers answer
    with the ETag of the entity they return, whatever an override did on the way. (A class,
    not a generator: it opens once per derived request, and costs a third as much.)"""

    __slots__ = ("seen", "token")

    def __enter__(self) -> dict[tuple[str, Any], str]:
        self.seen: dict[tuple[str, Any], str] = {}
        self.token = _SEEN.set(self.seen)
        return self.seen

    def __exit__(self, *exc_info: object) -> None:
        _SEEN.reset(self.token)


def note_etag(entity: str, id_: Any, etag: str) -> None:
    """Note an entity's ETag where `etags_seen` is open (a read that is not the repository's)."""
    seen = _SEEN.get()
    if seen is not None:
        seen[(entity, id_)] = etag


class Repository:
    """Create, read, update and delete one entity's rows.

    >>> todos = repositories["Todo"]                                  # doctest: +SKIP
    >>> todos.create({"title": "milk"})                               # doctest: +SKIP
    {'id': 1, 'title': 'milk'}
    >>> todos.find({"where": {"title": {"like": "m%"}}, "limit": 5})   # doctest: +SKIP
    [{'id': 1, 'title': 'milk'}]
    """

    def __init__(self, entity: Entity, table: Table, database: Database, filters: Filters,
                 inclusion: Inclusion, *, text_limits: Mapping[str, int] | None = None,
                 max_json_depth: int = 16, checks: WriteChecks | None = None) -> None:
        self.entity = entity
        self.checks = checks
        self.table = table
        self.database = database
        self.filters = filters
        self._inclusion = inclusion
        self._id_column = table.c[entity.id]
        self._id_prop = entity.id_property
        # Rows come back keyed by property name, whatever the columns are called.
        self.selection = select(*(table.c[name].label(name) for name in entity.properties))
        self._by_id = self.selection.where(self._id_column == bindparam("id"))
        self._columns = [(name, prop, prop.kind in ("date", "datetime", "uuid", "number"))
                         for name, prop in entity.properties.items()]
        self._visible = frozenset(entity.visible)
        self._defaults = {name: prop.default for name, prop in entity.properties.items()
                          if prop.has_default}
        self._text_limits = dict(text_limits or {})
        self._max_json_depth = max_json_depth
        self._count = select(func.count()).select_from(table)
        # Built once; the values come with each execution (a SET for each column named, so
        # the id's parameter is named like no column).
        self._key_name = slot_name(table, "charter_key")
        self._insert = insert(table)
        self._update_by_id = update(table).where(self._id_column == bindparam(self._key_name))
        self._delete_by_id = delete(table).where(self._id_column == bindparam(self._key_name))
        self.statements = Statements(STATEMENTS_PER_ENTITY)
        """Its queries' statements by shape, and those of the includes that reach it."""
        self._scoped = True
        owner = entity.owner
        if owner is not None:  # the principal's rows only: a slot beside every query's where
            self._owner_prop = entity.properties[owner.property]
            self._owner_slot = slot_name(table, "charter_owner")
            self._owned = (table.c[owner.property] == bindparam(self._owner_slot),)
            self._by_id_owned = self._by_id.where(*self._owned)

    @classmethod
    def from_repository(cls, repository: Repository) -> Self:
        """A repository of this class over what `repository` serves (its entity, table,
        database, limits and checks): what a service that replaces one returns.

        >>> def services(settings, repositories):                           # doctest: +SKIP
        ...     return {"todo_repository": AuditedRepository.from_repository(repositories["Todo"])}
        """
        made = cls.__new__(cls)
        vars(made).update(vars(repository))
        return made

    def unscoped(self) -> Self:
        """This repository without owner scoping (`x-entity.owner`): every row, whoever made
        the request. For admin code; the derived operations never use it."""
        made = copy.copy(self)
        made._scoped = False
        return made

    def scope(self) -> Narrowing | None:
        """The rows the request's principal may see and write, for an entity with an owner:
        those it owns, unless a bypass role lets it see all. None: every row (no owner,
        `unscoped`, or outside a request: scripts and tests). 403 for a request whose principal
        cannot own rows (anonymous, or an id the owner property cannot hold)."""
        owner = self.entity.owner
        if owner is None or not self._scoped:
            return None
        inside, principal = request_principal()
        if not inside or (principal is not None and principal.roles & owner.bypass):
            return None
        return Narrowing(("owner",), self._owned, {self._owner_slot: self._owner_key(principal)})

    def _owner_key(self, principal: Principal | None) -> Any:
        """The principal's id as the owner property stores it."""
        owner = self.entity.owner
        assert owner is not None
        found = None if principal is None else principal.id
        if isinstance(found, str) and self._owner_prop.kind in ("int32", "int64"):
            found = int(found) if re.fullmatch(r"-?[0-9]{1,19}", found) else None
        elif found is not None and not isinstance(found, bool) and self._owner_prop.kind in (
                "string", "uuid"):
            found = str(found)
        try:
            if found is not None and not isinstance(found, bool):
                return to_db(self._owner_prop, found)
        except InvalidValue:
            pass
        raise Forbidden(f"{self.entity.name} items belong to their owners, and this request's "
                        f"principal cannot own one.")

    def _kept(self, scope: Narrowing | None) -> set[str]:
        """What an update never changes: the id, and under a scope the owner."""
        if scope is None or self.entity.owner is None:
            return {self.entity.id}
        return {self.entity.id, self.entity.owner.property}

    def _narrowed(self, narrowing: Narrowing | None) -> Narrowing | None:
        """`narrowing`, and the principal's rows for an owned entity."""
        scope = self.scope()
        return narrowing if scope is None else scope & narrowing

    # -- reads ------------------------------------------------------------------------------

    def find(self, filter_: Mapping[str, Any] | None = None) -> list[Item]:
        """The items matching `filter_`, in id order unless its `order` says otherwise."""
        return self.find_where(filter_, None, Source("filter", filter_))

    def find_one(self, filter_: Mapping[str, Any] | None = None) -> Item | None:
        found = self.find({**(filter_ or {}), "limit": 1})
        return found[0] if found else None

    def find_by_id(self, id_: Any, filter_: Mapping[str, Any] | None = None) -> Item:
        """The item with this id (404 `ENTITY_NOT_FOUND` when none); `fields` and `include` apply."""
        return self.read_by_id(id_, filter_)[0]

    def read_by_id(self, id_: Any, filter_: Mapping[str, Any] | None = None) -> tuple[Item, str]:
        """The item with this id, and the ETag of its current state."""
        source = Source("filter", filter_)
        plan = self.plan(filter_, source)
        with self.database.read(single=not plan.include) as connection:
            row = self.load(connection, id_)
            if row is None:
                raise EntityNotFound(self.entity.name, id_)
            tag = self._noted(row)
            items = self.present(connection, [row], plan, source)
        return items[0], tag

    def stored_by_id(self, id_: Any) -> Item:
        """The item with this id as stored, hidden properties included (404 when none): for
        the code that needs them, such as checking a password's hash. Never send it."""
        with self.database.read(single=True) as connection:
            row = self.load(connection, id_)
        if row is None:
            raise EntityNotFound(self.entity.name, id_)
        return row

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        return self.count_where(where, None, Source("where", where))

    def exists(self, id_: Any) -> bool:
        with self.database.read(single=True) as connection:
            return self.load(connection, id_) is not None

    # -- writes -----------------------------------------------------------------------------

    def create(self, data: Mapping[str, Any]) -> Item:
        """Insert one item; defaults apply, a generated id is assigned. Returns it as stored."""
        return self.create_all([data])[0]

    def create_tagged(self, data: Mapping[str, Any]) -> tuple[Item, str]:
        """`create`, and the new item's ETag."""
        with self.database.write() as connection:
            item = self.insert(connection, data)
        return self.visible_only(item), self.etag(item)  # noted by `insert`

    def create_all(self, items: Iterable[Mapping[str, Any]]) -> list[Item]:
        """Insert several items in one transaction: all of them, or none."""
        with self.database.write() as connection:
            created = [self.insert(connection, data) for data in items]
        return [self.visible_only(item) for item in created]

    def insert(self, connection: Connection, data: Mapping[str, Any]) -> Item:
        """Insert one item on an open transaction; returns it in full (hidden properties too)."""
        merged = {**self._defaults, **data}
        scope = self.scope()
        if scope is not None:  # stamped with its owner, whatever was sent
            assert self.entity.owner is not None
            merged[self.entity.owner.property] = scope.values[self._owner_slot]
        self._validate(merged, whole=True)
        values = self._values(merged)
        if self.entity.generated and values.get(self.entity.id) is None:
            values.pop(self.entity.id, None)
            generated = new_id(self._id_prop)
            if generated is not None:
                values[self.entity.id] = generated
        result = connection.execute(self._insert, values)
        if self.entity.id not in values:
            key = result.inserted_primary_key
            assert key is not None
            values[self.entity.id] = key[0]
        item = self.from_row(values)
        if _SEEN.get() is not None:
            self._noted(item)
        return item

    def update_by_id(self, id_: Any, data: Mapping[str, Any], *,
                     if_match: str | None = None) -> str:
        """Set the properties present in `data`; returns the new ETag. The id never changes."""
        return self._write_by_id(id_, data, if_match, replace=False)

    def replace_by_id(self, id_: Any, data: Mapping[str, Any], *,
                      if_match: str | None = None) -> str:
        """Replace every property (missing ones become unset); returns the new ETag."""
        return self._write_by_id(id_, data, if_match, replace=True)

    def update_all(self, data: Mapping[str, Any], where: Mapping[str, Any] | None = None) -> int:
        """Set `data`'s properties on every item matching `where`; returns how many matched."""
        return self.update_where(data, where, None, Source("where", where))

    def delete_by_id(self, id_: Any, *, if_match: str | None = None) -> None:
        with self.database.write("delete") as connection:
            row = self.load(connection, id_, lock=True)
            if row is None:
                raise EntityNotFound(self.entity.name, id_)
            self._check_tag(row, if_match, id_)
            connection.execute(self._delete_by_id, {self._key_name: row[self.entity.id]})

    def delete_all(self, where: Mapping[str, Any] | None = None) -> int:
        return self.delete_where(where, None, Source("where", where))

    # -- the same, narrowed by a condition (relation routes) --------------------------------

    def find_where(self, filter_: Mapping[str, Any] | None, narrowing: Narrowing | None,
                   source: Source) -> list[Item]:
        plan = self.plan(filter_, source)
        with self.database.read(single=not plan.include) as connection:
            rows = self.run(connection, plan, narrowing)
            return self.present(connection, rows, plan, source)

    def count_where(self, where: Mapping[str, Any] | None, narrowing: Narrowing | None,
                    source: Source) -> int:
        shape, values = self.filters.where_shape(where, source)
        narrowing = self._narrowed(narrowing)
        with self.database.read(single=True) as connection:
            return int(connection.execute(self._counting(shape, narrowing),
                                          _params(values, narrowing)).scalar_one())

    def update_where(self, data: Mapping[str, Any], where: Mapping[str, Any] | None,
                     narrowing: Narrowing | None, source: Source) -> int:
        """Wheres of one shape share one statement (`statements`); its SET comes from the
        values at execution."""
        shape, slotted = self.filters.where_shape(where, source)
        self._validate(data, whole=False)
        scope = self.scope()
        narrowing = narrowing if scope is None else scope & narrowing
        values = self._values({k: v for k, v in data.items() if k not in self._kept(scope)})
        params = _params(slotted, narrowing)
        with self.database.write() as connection:
            if not values:  # nothing to change, but LoopBack still counts the matches
                return int(connection.execute(self._counting(shape, narrowing), params)
                           .scalar_one())
            if not params.keys() & values.keys():
                query = self.statements.get(
                    ("update", shape, _form(narrowing)),
                    lambda: update(self.table).where(*self._built(shape, narrowing)))
                return int(connection.execute(query, {**values, **params}).rowcount)
            # A property named like one of the where's slots: the where's values are bound
            # into the statement instead (a narrowing's slots are named like no column).
            bound = [] if shape is None else [build(shape, self.filters.columns, slotted)]
            narrowed = [] if narrowing is None else list(narrowing.conditions)
            query = update(self.table).where(*narrowed, *bound).values(values)
            return int(connection.execute(query, _params([], narrowing)).rowcount)

    def delete_where(self, where: Mapping[str, Any] | None, narrowing: Narrowing | None,
                     source: Source) -> int:
        """Wheres of one shape share one statement (`statements`)."""
        shape, slotted = self.filters.where_shape(where, source)
        narrowing = self._narrowed(narrowing)
        with self.database.write("delete") as connection:
            query = self.statements.get(
                ("delete", shape, _form(narrowing)),
                lambda: delete(self.table).where(*self._built(shape, narrowing)))
            return int(connection.execute(query, _params(slotted, narrowing)).rowcount)

    def _counting(self, shape: Shape | None, narrowing: Narrowing | None) -> Any:
        return self.statements.get(("count", shape, _form(narrowing)),
                               lambda: self._count.where(*self._built(shape, narrowing)))

    # -- rows -------------------------------------------------------------------------------

    def plan(self, filter_: Any, source: Source) -> QueryPlan:
        """`filter_` checked and compiled, every 400 raised here, before any query runs."""
        filter_ = self._check_filter(filter_, source)
        where, values = self.filters.where_shape(filter_.get("where"), _at(source, "/where"))
        order = self.filters.order_key(filter_.get("order"), _at(source, "/order"))
        limit, offset = self.filters.page(filter_, source)
        fields = self.filters.fields(filter_.get("fields"), _at(source, "/fields"))
        include = filter_.get("include")
        planned = (self._inclusion.plan(self.entity, include, _at(source, "/include"))
                   if include else ())
        return QueryPlan(where, values, order, limit, offset, fields, planned)

    def run(self, connection: Connection, plan: QueryPlan, narrowing: Narrowing | None = None,
            *, paged: bool = True) -> list[Item]:
        """Full rows (every property, hidden ones too) that a plan selects, narrowed too.

        Plans of one shape (the same where but for its values, the same order, both paged or
        not, narrowed alike) run one statement, built once (`statements`)."""
        narrowing = self._narrowed(narrowing)

        def built() -> Select[Any]:
            query = self.selection.where(*self._built(plan.where, narrowing)).order_by(
                *self.filters.order_terms(plan.order))
            return query.limit(_LIMIT).offset(_OFFSET) if paged else query

        query = self.statements.get(("find", plan.where, plan.order, paged, _form(narrowing)), built)
        params = _params(plan.values, narrowing)
        if paged:
            params["charter_limit"], params["charter_offset"] = plan.limit, plan.offset
        return list(map(self.from_selected, connection.execute(query, params)))

    def _built(self, shape: Shape | None,
               narrowing: Narrowing | None = None) -> list[ColumnElement[bool]]:
        """A where shape's condition with named slots, and the narrowing's, as `where(*...)`
        takes them."""
        built = [] if shape is None else [build(shape, self.filters.columns)]
        return built if narrowing is None else [*narrowing.conditions, *built]

    def etag(self, row: Mapping[str, Any]) -> str:
        """A strong ETag for an item's stored state (every property, hidden ones included)."""
        digest = hashlib.blake2b(orjson.dumps(row, option=orjson.OPT_SORT_KEYS),
                                 digest_size=12).hexdigest()
        return f'"{digest}"'

    def _noted(self, row: Item) -> str:
        """`etag(row)`, noted for the entity's id where `etags_seen` is open."""
        tag = self.etag(row)
        note_etag(self.entity.name, row[self.entity.id], tag)
        return tag

    def present(self, connection: Connection, rows: list[Item], plan: QueryPlan,
                source: Source) -> list[Item]:
        """Full rows as the API shows them: the plan's relations included, then its `fields`
        (else the visible properties)."""
        if plan.include:
            self._inclusion.load(connection, rows, plan.include, _at(source, "/include"))
        return self.project(rows, plan.fields)

    def project(self, rows: list[Item], fields: tuple[str, ...] | None) -> list[Item]:
        """Full rows as the API shows them: `fields` (else the visible properties), and the
        relations included in them."""
        keep = self._visible if fields is None else frozenset(fields)
        relations = self.entity.relations
        return [{k: v for k, v in row.items() if k in keep or k in relations} for row in rows]

    def check_filter(self, filter_: Any, source: Source) -> Mapping[str, Any]:
        return self._check_filter(filter_, source)

    def visible_only(self, item: Item) -> Item:
        return {k: v for k, v in item.items() if k in self._visible}

    def load(self, connection: Connection, id_: Any, lock: bool = False) -> Item | None:
        """The full row with this id, if the request's principal may see it."""
        key = self._key(id_)
        if key is None:
            return None
        scope = self.scope()
        query = self._by_id if scope is None else self._by_id_owned
        params = {"id": key} if scope is None else {"id": key, **scope.values}
        row = connection.execute(query.with_for_update() if lock else query, params).first()
        return self.from_selected(row) if row is not None else None

    def _key(self, id_: Any) -> Any:
        """The stored form of an id, or None when no row can have it (1.5 or 2**70 for an integer)."""
        try:
            return to_db(self._id_prop, id_)
        except InvalidValue:
            return None

    def from_row(self, row: Mapping[Any, Any]) -> Item:
        """A row as read (a mapping keyed by property name) as an item: every property, hidden
        ones too, converted to what JSON shows; NULLs left out."""
        item: Item = {}
        for name, prop, convert in self._columns:
            value = row.get(name)
            if value is not None:
                item[name] = from_db(prop, value) if convert else value
        return item

    def from_selected(self, row: Sequence[Any]) -> Item:
        """`from_row` for a row of `selection`, its values in property order (a third faster)."""
        item: Item = {}
        for (name, prop, convert), value in zip(self._columns, row, strict=True):
            if value is not None:
                item[name] = from_db(prop, value) if convert else value
        return item

    def _values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        properties = self.entity.properties
        unknown = [name for name in data if name not in properties]
        if unknown:
            raise InvalidValue(f"{self.entity.name} has no property {unknown[0]!r}")
        self._check_storable(data)
        return {name: to_db(properties[name], value) for name, value in data.items()}

    def _validate(self, data: Mapping[str, Any], *, whole: bool) -> None:
        """Data against the entity's schema (`whole`: every required property), on every write,
        HTTP or not: the same 422 as a request body's."""
        if self.checks is None:
            return
        validator = self.checks.whole if whole else self.checks.partial
        errors = validator.errors(dict(data))
        if errors:
            raise ValidationFailed(errors)

    def _check_storable(self, data: Mapping[str, Any]) -> None:
        """Refuse, before any write, what a column could store but not give back as it was sent
        (or what only some databases store): the same 422 on every database."""
        properties = self.entity.properties
        errors = [error for name, value in data.items()
                  for error in storage_errors(properties[name], value,
                                              max_length=self._text_limits.get(name),
                                              max_depth=self._max_json_depth)]
        if errors:
            first = errors[0]
            setting = " (CHARTER_MAX_JSON_DEPTH)" if first["code"] == "maxDepth" else ""
            raise InvalidValue(f"{self.entity.name} cannot store the value at {first['path']}: "
                               f"it {first['message']}{setting}.", details=errors)

    def _write_by_id(self, id_: Any, data: Mapping[str, Any], if_match: str | None,
                     replace: bool) -> str:
        self._validate(data, whole=replace)
        kept = self._kept(self.scope())
        changes = {k: v for k, v in data.items() if k not in kept}
        if replace:
            changes = {name: None for name in self.entity.properties
                       if name not in kept} | changes
        values = self._values(changes)
        with self.database.write() as connection:
            row = self.load(connection, id_, lock=True)
            if row is None:
                raise EntityNotFound(self.entity.name, id_)
            self._check_tag(row, if_match, id_)
            key = row[self.entity.id]
            if values:
                connection.execute(self._update_by_id, {**values, self._key_name: key})
            stored = connection.execute(self._by_id, {"id": self._key(key)}).one()
            return self._noted(self.from_selected(stored))

    def _check_tag(self, row: Item, if_match: str | None, id_: Any) -> None:
        if if_match is None or _matches(if_match, self.etag(row)):
            return
        raise PreconditionFailed(f"{self.entity.name} with id {show(row[self.entity.id])} has "
                                 f"changed: its ETag is not one of If-Match {if_match}")

    def _check_filter(self, filter_: Any, source: Source) -> Mapping[str, Any]:
        if filter_ is None:
            return {}
        if not isinstance(filter_, Mapping):
            raise InvalidParameterValue(source.parameter, source.raw, details=[{
                "path": source.at, "code": "filter", "message": "a filter must be an object",
                "info": {}}])
        return filter_

    def check_where(self, where: Any, source: Source) -> ColumnElement[bool] | None:
        """`where` checked (every 400 raised) and compiled with its values bound."""
        return self.filters.where(where, source)


def slot_name(table: Table, name: str) -> str:
    """`name`, lengthened until it names no column of `table`: a statement's slot, filled at
    execution beside values named by column."""
    while name in table.c:
        name += "_"
    return name


def _form(narrowing: Narrowing | None) -> Hashable:
    return None if narrowing is None else narrowing.form


def _params(values: list[Any], narrowing: Narrowing | None) -> dict[str, Any]:
    """The named slots' values: a where shape's, and the narrowing's."""
    params = slots(values)
    if narrowing is not None:
        params.update(narrowing.values)
    return params


def _at(source: Source, pointer: str) -> Source:
    return Source(source.parameter, source.raw, source.at + pointer)


def _matches(if_match: str, etag: str) -> bool:
    """RFC 9110 If-Match: `*`, or a list of strong entity tags (weak ones never match)."""
    if if_match.strip() == "*":
        return True
    return etag in (tag.strip() for tag in if_match.split(","))


class Repositories(Mapping[str, Repository]):
    """Every entity's repository, by entity name; what `Inclusion` follows relations through."""

    def __init__(self, entities: Mapping[str, Entity], tables: Mapping[str, Table],
                 database: Database, *, max_limit: int = 1000,
                 prohibited_keys: Iterable[str] = (), max_include_depth: int = 3,
                 max_response_rows: int = 10_000, max_json_depth: int = 16,
                 classes: Mapping[str, type[Repository]] | None = None,
                 checks: Mapping[str, WriteChecks] | None = None) -> None:
        """`classes` names the class of an entity's repository where it is not `Repository`
        (the handlers package's `<Entity>Repository`); `checks`, each entity's `WriteChecks`."""
        if not 1 <= max_json_depth <= MAX_JSON_DEPTH:
            raise ValueError(f"CHARTER_MAX_JSON_DEPTH is {max_json_depth}: it must be between 1 "
                             f"and {MAX_JSON_DEPTH}, the deepest JSON MariaDB keeps")
        self.database = database
        self.entities = entities
        inclusion = Inclusion(self, max_depth=max_include_depth, max_rows=max_response_rows)
        keys = tuple(prohibited_keys)
        limits = text_limits(entities)
        classes, checks = classes or {}, checks or {}
        self._repositories = {
            name: classes.get(name, Repository)(
                entity, tables[entity.table], database,
                Filters(entity, tables[entity.table], max_limit=max_limit, prohibited_keys=keys),
                inclusion, text_limits=limits[name], max_json_depth=max_json_depth,
                checks=checks.get(name))
            for name, entity in entities.items()
        }

    def __getitem__(self, name: str) -> Repository:
        return self._repositories[name]

    def replace(self, name: str, repository: Repository) -> None:
        """Serve entity `name` with `repository` from now on, on every path (a service that
        replaces one: routes bind to it, `include` follows relations through it)."""
        if name not in self._repositories:
            raise KeyError(name)
        self._repositories[name] = repository

    def __iter__(self) -> Iterator[str]:
        return iter(self._repositories)

    def __len__(self) -> int:
        return len(self._repositories)
