"""The application: builds everything from settings at start-up, and is the ASGI entry point."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from server.access import AccessLog
from server.binding import Binder, Handlers
from server.cors import CORSMiddleware, cors_problems
from server.data.entities import EXTENSIONS, declares_entities
from server.explorer import Explorer
from server.forwarded import TrustedProxies, base_url
from server.operations import Operation, compile_operations
from server.pipeline import Pipeline
from server.publish import Publisher
from server.requests import parse_headers
from server.responses import Response
from server.routing import Router
from server.security import unenforced_security
from server.settings import Settings
from server.spec import Spec, SpecError, base_path, load_spec, normal_base_path
from server.types import ASGIApp, Receive, Scope, Send
from server.validation import SchemaValidators

if TYPE_CHECKING:
    from server.data.model import DataModel

logger = logging.getLogger("charter")


class ContractError(SpecError):
    """The spec, the handlers and the settings do not fit together; `problems` lists every fault."""


class App:
    """A Charter server for one spec and one handlers package: an ASGI application.

    >>> app = App(Settings.from_env(spec="spec", handlers="handlers"))   # doctest: +SKIP
    >>> # uvicorn.run(app)
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings = settings or Settings.from_env(**overrides)
        self.proxies = _settings_checked(settings)
        self.spec: Spec = load_spec(settings.spec)
        self.model: DataModel | None = None
        self.services: dict[str, Any] = {"settings": settings}
        binders: list[Binder] = []
        if declares_entities(self.spec.document):
            # The data layer (SQLAlchemy, Alembic, the database drivers: tens of megabytes and
            # a good part of start-up) is imported only for a spec that declares entities.
            from server.data.model import read_model

            self.spec, self.model, problems = read_model(self.spec)
            if problems:
                raise ContractError(problems)
        if self.model is not None:
            from server.data.controllers import DerivedControllers

            self.services.update(self._open_data(self.model, settings))
            binders.append(DerivedControllers(self.services["repositories"]))
        _log_spec_warnings(self.spec.warnings)
        handlers, problems = _import_handlers(settings.handlers, settings.allow_unbound)
        self.handlers = handlers
        if handlers is not None and (factory := handlers.services_factory()) is not None:
            try:
                self.services.update(factory(settings))
            except Exception as exc:  # e.g. a database that cannot be opened
                self.close()
                raise ContractError([f"{settings.handlers}.services(settings) failed: "
                                     f"{type(exc).__name__}: {exc}"]) from exc
        self.validators = SchemaValidators(self.spec.document, self.spec.version)
        operations, more, unbound = compile_operations(
            self.spec, self.validators, handlers, self.services, settings, binders)
        problems += more
        try:
            self.validators.build()  # every schema once, shared by the operations reaching it
        except ValueError as exc:
            problems.append(f"the spec's schemas cannot be compiled together: {exc}")
        security_problems, warning = unenforced_security(self.spec, settings)
        problems += security_problems
        if problems:
            self.close()
            raise ContractError(problems)
        if warning:
            logger.warning("%s", warning)
        self.operations: list[Operation] = operations
        self.unbound = unbound
        self.base_path = normal_base_path(settings.base_path if settings.base_path is not None
                                          else base_path(self.spec.document))
        self.router: Router[Operation] = Router(
            (self.base_path + op.path, op.method, op) for op in operations)
        self.publisher = Publisher(
            self.spec, error_format=settings.error_format, unbound=unbound, private=EXTENSIONS,
            unfilled={op.label: op.unfilled_errors for op in operations if op.unfilled_errors})
        self.explorer = Explorer(settings.explorer_path, "/openapi.json")
        self._served: Mapping[str, Callable[[str], bytes]] = {
            "/openapi.json": self.publisher.render_json,
            "/openapi.yaml": self.publisher.render_yaml,
        }
        self.pipeline = Pipeline(self.router, settings, self.services, pages=self._builtin)
        self._app: ASGIApp = self.pipeline.handle
        if settings.cors_enabled:
            self._app = CORSMiddleware(self.pipeline.handle, settings)
        self.access_log = AccessLog(self._app) if settings.access_log else None
        if self.access_log is not None:
            self._app = self.access_log

    def _open_data(self, model: DataModel, settings: Settings) -> dict[str, Any]:
        try:
            return model.open(settings)
        except Exception as exc:
            raise ContractError([f"the database at {settings.database_url} cannot be opened: "
                                 f"{type(exc).__name__}: {exc}"]) from exc

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

    def _builtin(self, scope: Scope) -> Response | None:
        """The pages Charter serves itself, where the spec has no route of its own."""
        path: str = scope["path"]
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path):]  # under the base path too, as the operations are
        render = self._served.get(path)
        if render is None:
            return self.explorer.find(path)
        url = base_url(scope, parse_headers(scope.get("headers", ())), self.proxies)
        media_type = "application/json" if path.endswith(".json") else "application/yaml"
        return Response(render(url + self.base_path), media_type=media_type,
                        headers={"vary": self.proxies.vary})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Everything built at start-up lives as long as the process: keeping it out of
                # the garbage collector's scans makes every request cheaper (about 10%).
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
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


def _import_handlers(package: str, allow_unbound: bool) -> tuple[Handlers | None, list[str]]:
    """The handlers package; under `allow_unbound` (spec-first work, nothing written yet) a
    package that does not exist at all is no problem: every operation is unbound."""
    try:
        return Handlers(package), []
    except Exception as exc:  # a broken handler module is a contract problem, not a crash
        if (allow_unbound and isinstance(exc, ModuleNotFoundError) and exc.name is not None
                and (package + ".").startswith(exc.name + ".")):
            logger.warning("WARNING: there is no handlers package %r: every operation the data "
                           "layer does not implement is unbound (501), as --allow-unbound "
                           "allows.", package)
            return None, []
        return None, [f"handlers package {package!r} cannot be imported: "
                      f"{type(exc).__name__}: {exc}"]


def create_app() -> App:
    """The factory `charter serve` gives uvicorn: settings come from the environment."""
    return App(Settings.from_env())
