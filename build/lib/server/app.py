"""The application: builds everything from settings at start-up, and is the ASGI entry point."""

from __future__ import annotations

import dataclasses
import functools
import gc
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.access import AccessLog
from server.binding import Binder, Handlers
from server.cors import CORSMiddleware, cors_problems
from server.data.entities import EXTENSIONS, declares_entities
from server.errors import ContractError
from server.explorer import Explorer
from server.forwarded import TrustedProxies
from server.lifecycle import Lifecycle
from server.middleware import Entry, Middleware, entry, fold
from server.mounts import Mounts, StaticFolder
from server.operations import Operation, compile_operations
from server.pages import Page, pages
from server.pipeline import Pipeline
from server.publish import Publisher
from server.routing import Router
from server.security import EXTENSIONS as SCHEME_EXTENSIONS
from server.security import compile_security
from server.settings import Settings
from server.spec import Spec, base_path, load_spec, normal_base_path
from server.types import ASGIApp, Receive, Scope, Send
from server.validation import SchemaValidators

if TYPE_CHECKING:
    from server.data.model import DataModel
    from server.data.repository import Repositories, Repository
    from server.mock import Mock

logger = logging.getLogger("charter")


class App:
    """A Charter server for one spec and one handlers package: an ASGI application.

    >>> app = App(Settings.from_env(spec="spec", handlers="handlers"))   # doctest: +SKIP
    >>> # uvicorn.run(app)
    """

    def __init__(self, settings: Settings | None = None, *,
                 middleware: Sequence[Middleware] | None = None,
                 observers: Sequence[Any] | None = None,
                 mounts: Mapping[str, Any] | None = None,
                 static: Path | str | None = None, **overrides: Any) -> None:
        """`middleware` (pure ASGI, the first outermost, inside Charter's CORS), `observers`
        (started and stopped by the lifespan), `mounts` (ASGI or WSGI apps by path prefix) and
        `static` (a folder, served where no route matched): each, when not given, is read from
        the handlers package's attribute of that name, if it has one."""
        settings = settings or Settings.from_env(**overrides)
        if settings.mock:
            settings = dataclasses.replace(settings, allow_unbound=True, database_url="sqlite://",
                                           migrate=True)
        self.settings = settings
        self.proxies = _settings_checked(settings)
        self.spec: Spec = load_spec(settings.spec)
        self.model: DataModel | None = None
        if declares_entities(self.spec.document):
            # The data layer (SQLAlchemy, Alembic, the database drivers: tens of megabytes and
            # a good part of start-up) is imported only for a spec that declares entities.
            from server.data.model import read_model

            self.spec, self.model, problems = read_model(self.spec)
            if problems:
                raise ContractError(problems)
        _log_spec_warnings(self.spec.warnings)
        handlers, problems = _import_handlers(settings.handlers, settings.allow_unbound,
                                              "mocked, as --mock does" if settings.mock
                                              else "unbound (501), as --allow-unbound allows")
        self.handlers = handlers
        self.validators = SchemaValidators(self.spec.document, self.spec.version)
        self.services: dict[str, Any] = {"settings": settings}
        binders: list[Binder] = []
        if self.model is not None:
            from server.data.controllers import DerivedControllers

            classes, more = self.model.repository_classes(handlers)
            if more:
                raise ContractError(problems + more)
            self.services.update(self._open_data(self.model, settings, classes))
            binders.append(DerivedControllers(self.services["repositories"]))
            if settings.mock:
                self._seed(self.services["repositories"])
        if handlers is not None and (factory := handlers.services_factory()) is not None:
            self._add_services(factory, settings.handlers)
        security, more, security_warnings = compile_security(
            self.spec, handlers, self.services, allow_unbound=settings.allow_unbound)
        problems += more
        self.mock: Mock | None = None
        if settings.mock:
            from server.mock import Mock

            try:
                self.mock = Mock(self.spec.document, self.validators)
            except ModuleNotFoundError as exc:
                self.close()
                raise ContractError([f"--mock generates data with hypothesis-jsonschema, which "
                                     f"is not installed ({exc}): pip install 'charter[mock]'"]
                                    ) from exc
        operations, more, unbound = compile_operations(
            self.spec, self.validators, handlers, self.services, settings, binders, security,
            stand_in=self.mock.invoke if self.mock is not None else None)
        problems += more
        try:
            self.validators.build()  # every schema once, shared by the operations reaching it
        except ValueError as exc:
            problems.append(f"the spec's schemas cannot be compiled together: {exc}")
        if problems:
            self.close()
            raise ContractError(problems)
        for warning in security_warnings + (self.mock.warnings if self.mock else []):
            logger.warning("%s", warning)
        self.operations: list[Operation] = operations
        self.unbound = unbound
        self.base_path = normal_base_path(settings.base_path if settings.base_path is not None
                                          else base_path(self.spec.document))
        self.publisher = Publisher(
            self.spec, error_format=settings.error_format, unbound=unbound, private=EXTENSIONS,
            unfilled={op.label: op.unfilled_errors for op in operations if op.unfilled_errors},
            secured={op.label for op in operations if op.guard is not None},
            scheme_private=SCHEME_EXTENSIONS)
        self.explorer = Explorer(settings.explorer_path, "/openapi.json")
        routes: list[tuple[str, str, Operation | Page]] = [
            (self.base_path + op.path, op.method, op) for op in operations]
        # Charter's pages yield to the spec: a path it routes GET at (templates too) is its own.
        spec_routes = Router(routes)
        routes += [(path, "GET", page) for path, page in
                   pages(self.publisher, self.explorer, self.proxies, self.base_path)
                   if not spec_routes.routes("GET", path)]
        self.router: Router[Operation | Page] = Router(routes)
        self.pipeline = Pipeline(self.router, settings, self.services, fallback=self._fallback)
        try:
            self.mounts = Mounts(_part(mounts, handlers, "mounts", {}))
            folder = _part(static, handlers, "static", None)
            self.static = StaticFolder(folder) if folder is not None else None
            self.lifecycle = Lifecycle(_part(observers, handlers, "observers", ()),
                                       self.mounts.asgi_apps)
            stack = [entry(layer) for layer in _part(middleware, handlers, "middleware", ())]
        except ValueError as exc:
            self.close()
            raise ContractError([str(exc)]) from exc
        self.access_log: AccessLog | None = None
        if settings.cors_enabled:
            stack.insert(0, Entry("charter.cors", functools.partial(CORSMiddleware,
                                                                    settings=settings)))
        if settings.access_log:
            stack.insert(0, Entry("charter.access_log", self._logged))
        self.middleware = [layer.name for layer in stack]
        """The middleware stack, by name, the outermost first."""
        self._app: ASGIApp = fold(self._dispatch if self.mounts.prefixes else self.pipeline.handle,
                                  stack)

    def _logged(self, app: ASGIApp) -> ASGIApp:
        self.access_log = AccessLog(app)
        return self.access_log

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A mounted app's prefix to that app; the rest to the spec's routes."""
        found = self.mounts.find(scope)
        if found is None:
            await self.pipeline.handle(scope, receive, send)
        else:
            await self.mounts.dispatch(*found, scope, receive, send)

    async def _fallback(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """A GET or HEAD no route matched: the static files."""
        return self.static is not None and await self.static.serve(scope, receive, send)

    def _open_data(self, model: DataModel, settings: Settings,
                   classes: Mapping[str, type[Repository]]) -> dict[str, Any]:
        try:
            return model.open(settings, classes=classes, document=self.spec.document,
                              validators=self.validators)
        except Exception as exc:
            raise ContractError([f"the database at {settings.database_url} cannot be opened: "
                                 f"{type(exc).__name__}: {exc}"]) from exc

    def _seed(self, repositories: Repositories) -> None:
        """The mock's database: the entities' examples stored."""
        from server.data.seeds import seed

        stored, warnings = seed(repositories, self.spec.document)
        for warning in warnings:
            logger.warning("%s", warning)
        if any(stored.values()):
            logger.info("The mock's database holds the entities' examples: %s.", ", ".join(
                f"{count} {name}" for name, count in stored.items() if count))

    def _add_services(self, factory: Callable[..., Mapping[str, Any]], package: str) -> None:
        """The handlers package's `services(settings)`, or `services(settings, repositories)`
        (None without entities). A service named like an entity's repository
        (`todo_repository`) replaces it on every path, unless the package also holds that
        entity's `<Entity>Repository` class: then both are named, and the start stops."""
        repositories = self.services.get("repositories")
        takes = len([p for p in inspect.signature(factory).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
        try:
            services = dict(factory(self.settings, repositories) if takes >= 2
                            else factory(self.settings))
        except Exception as exc:  # e.g. a database that cannot be opened
            self.close()
            raise ContractError([f"{package}.services(settings) failed: "
                                 f"{type(exc).__name__}: {exc}"]) from exc
        if repositories is not None:
            problems = self._replace_repositories(services, repositories, package)
            if problems:
                self.close()
                raise ContractError(problems)
        self.services.update(services)

    def _replace_repositories(self, services: Mapping[str, Any], repositories: Repositories,
                              package: str) -> list[str]:
        from server.data.entities import snake_case
        from server.data.repository import Repository

        problems: list[str] = []
        for name, repository in repositories.items():
            key = f"{snake_case(name)}_repository"
            if key not in services:
                continue
            if type(repository) is not Repository:
                problems.append(f"{name}'s repository is given twice: by the class "
                                f"{type(repository).__module__}.{type(repository).__name__} "
                                f"and by the service {key!r} of {package}.services")
            elif not isinstance(services[key], Repository):
                problems.append(f"the service {key!r} of {package}.services would replace "
                                f"{name}'s repository, but is no server.Repository")
            else:
                repositories.replace(name, services[key])
        return problems

    @property
    def repositories(self) -> Repositories | None:
        """Every entity's repository, by entity name (None for a spec without entities): how
        scripts and tests reach the data outside HTTP, through the same classes and checks.

        >>> App(spec="spec").repositories["Todo"].find({"limit": 1})       # doctest: +SKIP
        [{'id': 1, 'title': 'Take over the universe', ...}]
        """
        repositories: Repositories | None = self.services.get("repositories")
        return repositories

    def pending_migration(self) -> list[str]:
        """What `charter migrate` would change in the database, in words; [] when up to date.

        Raises `HttpError` (503) when the database cannot be reached.
        """
        if self.model is None:
            return []
        return self.model.pending(self.services["database"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.lifecycle.start()
                except RuntimeError as exc:
                    logger.error("%s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # Everything built at start-up lives as long as the process: keeping it out of
                # the garbage collector's scans makes every request cheaper (about 10%). Once per
                # process: a process that starts apps one after another (tests) would otherwise
                # pay a full collection each time, and keep each app's heap from being freed.
                if not gc.get_freeze_count():
                    gc.collect()
                    gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.lifecycle.stop()
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Close the services that can be closed (database engines, clients); write what the
        access log still holds."""
        access_log: AccessLog | None = getattr(self, "access_log", None)  # None if not built
        if access_log is not None:
            access_log.flush()
        for name, service in self.services.items():
            close = getattr(service, "close", None)
            if name != "settings" and callable(close):
                try:
                    close()
                except Exception:
                    logger.exception("closing service %r failed", name)


def _part(given: Any, handlers: Handlers | None, name: str, default: Any) -> Any:
    """An App argument: as given, else the handlers package's attribute `name`, else `default`."""
    if given is not None:
        return given
    return getattr(handlers.root, name, default) if handlers is not None else default


def _settings_checked(settings: Settings) -> TrustedProxies:
    """The trusted proxies; `ContractError` for settings that would fail open, before any work."""
    problems = cors_problems(settings)
    try:
        proxies = TrustedProxies(settings.forwarded_allow_ips)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise ContractError(problems)
    return proxies


def _log_spec_warnings(warnings: list[str]) -> None:
    if warnings:
        noun = "fault" if len(warnings) == 1 else "faults"
        logger.warning("%s", "\n".join([
            f"WARNING: the spec has {len(warnings)} {noun} in what serves no request; "
            "it is served as it is:", *(f"  - {warning}" for warning in warnings)]))


def _import_handlers(package: str, allow_unbound: bool,
                     unbound: str) -> tuple[Handlers | None, list[str]]:
    """The handlers package; under `allow_unbound` (spec-first work, nothing written yet) a
    package that does not exist at all is no problem: every operation is `unbound`."""
    try:
        return Handlers(package), []
    except Exception as exc:  # a broken handler module is a contract problem, not a crash
        if (allow_unbound and isinstance(exc, ModuleNotFoundError) and exc.name is not None
                and (package + ".").startswith(exc.name + ".")):
            logger.warning("WARNING: there is no handlers package %r: every operation the data "
                           "layer does not implement is %s.", package, unbound)
            return None, []
        return None, [f"handlers package {package!r} cannot be imported: "
                      f"{type(exc).__name__}: {exc}"]


def create_app() -> App:
    """The factory `charter serve` gives uvicorn: settings come from the environment."""
    return App(Settings.from_env())
