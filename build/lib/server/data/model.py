"""The data model of a spec: its entities, the spec they imply, their tables and repositories.

`read_model` runs once at start-up, between loading the spec and compiling its operations:

    spec ─▶ read_entities ─▶ derive (schemas, CRUD and relation operations) ─▶ check again
                        └──▶ build_tables ─▶ Database + Repositories (services for handlers)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData

from server.binding import Handlers
from server.data.database import Database
from server.data.derive import DERIVED, derive
from server.data.entities import Entity, read_entities, snake_case
from server.data.migrate import migrate, plan
from server.data.repository import Repositories, Repository, WriteChecks
from server.data.tables import build_tables
from server.security import requirements_of
from server.settings import Settings
from server.spec import Spec, check_document
from server.validation import SchemaValidators


@dataclass(frozen=True)
class DataModel:
    """A spec's entities and the tables that store them."""

    entities: Mapping[str, Entity]
    metadata: MetaData

    def open(self, settings: Settings, *, classes: Mapping[str, type[Repository]] | None = None,
             document: Mapping[str, Any] | None = None,
             validators: SchemaValidators | None = None) -> dict[str, Any]:
        """Open the database; returns the services handlers may ask for by name.

        `database`, `repositories` (all, by entity name) and one `<entity>_repository` each:
        `todo_repository`, `todo_list_repository`... An entity in `classes` gets a repository of
        that class; with the derived `document` and `validators`, every write is checked
        against the entity's schema (`WriteChecks`).
        """
        database = Database(settings.database_url, statement_timeout=settings.statement_timeout)
        if settings.migrate:
            try:
                migrate(database, self.metadata)
            except BaseException:
                database.close()
                raise
        checks = ({name: WriteChecks.of(entity, document, validators)
                   for name, entity in self.entities.items()}
                  if document is not None and validators is not None else None)
        repositories = Repositories(
            self.entities, self.metadata.tables, database, max_limit=settings.max_limit,
            prohibited_keys=settings.prohibited_keys,
            max_include_depth=settings.max_include_depth,
            max_response_rows=settings.max_response_rows, max_json_depth=settings.max_json_depth,
            classes=classes, checks=checks)
        services: dict[str, Any] = {"database": database, "repositories": repositories}
        for name in self.entities:
            services[f"{snake_case(name)}_repository"] = repositories[name]
        return services

    def repository_classes(self, handlers: Handlers | None
                           ) -> tuple[dict[str, type[Repository]], list[str]]:
        """The handlers package's `<Entity>Repository` classes, by entity; and the problems of
        a class so named that cannot serve (not a subclass of `Repository`, or two of them)."""
        found: dict[str, type[Repository]] = {}
        problems: list[str] = []
        for name in self.entities if handlers is not None else ():
            assert handlers is not None
            classes = handlers.classes.get(f"{name}Repository", [])
            if len(classes) > 1:
                problems.append(f"class {name}Repository is ambiguous: defined in "
                                f"{', '.join(c.__module__ for c in classes)}")
            elif classes and not issubclass(classes[0], Repository):
                problems.append(f"{classes[0].__module__}.{name}Repository would replace "
                                f"{name}'s repository, but does not subclass server.Repository")
            elif classes:
                found[name] = classes[0]
        return found, problems

    def pending(self, database: Database) -> list[str]:
        """What `charter migrate` would change, in words; empty when the tables are up to date."""
        return [step.description for step in plan(database, self.metadata)]


def read_model(spec: Spec) -> tuple[Spec, DataModel | None, list[str]]:
    """The spec with everything its entities imply, their model, and the problems found.

    A spec without `x-entity` schemas comes back as it was, with no model.
    """
    entities, problems = read_entities(spec.document)
    if problems or not entities:
        return spec, None, problems
    document = derive(spec.document, entities)
    # The spec's own warnings were found as it loaded; what derive adds must hold wholly.
    problems = [f"derived from the entities: {problem}"
                for problem in check_document(document, spec.version, spec.origins)[0]]
    derived = dataclasses.replace(spec, document=document)
    problems += unsecured_owned(derived, entities)
    return derived, DataModel(entities, build_tables(entities)), problems


def unsecured_owned(spec: Spec, entities: Mapping[str, Entity]) -> list[str]:
    """The derived operations on owned entities (`x-entity.owner`) that anyone may call: the
    owner comes from the request's principal, so each of them must require one."""
    problems = []
    for path, method, operation, _ in spec.operations():
        marker = operation.get(DERIVED)
        if not isinstance(marker, Mapping):
            continue
        source = entities[marker["entity"]]
        relation = source.relations.get(marker.get("relation") or "")
        owned = [entity.name for entity in
                 (source, *([entities[relation.target]] if relation else []))
                 if entity.owner is not None]
        requirements = requirements_of(spec.document, operation)
        if owned and (not requirements or any(not requirement for requirement in requirements)):
            problems.append(f"{method.upper()} {path}: {' and '.join(owned)} rows belong to "
                            "their owners (x-entity.owner), but this operation requires no "
                            "credentials: give the document, or x-crud, a `security` "
                            "requirement with no empty alternative")
    return problems
