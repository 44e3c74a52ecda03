"""The command line: `charter serve`, `check`, `spec`, `migrate`, `stubs`, `contract`, `new`
and `diff`."""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import functools
import gc
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from server.app import App
from server.binding import unbound_handlers
from server.connections import ConnectionLimits, LimitedProtocol
from server.data.entities import read_entities
from server.errors import ContractError, HttpError
from server.settings import Settings
from server.spec import SPEC_SUFFIXES, Spec, load_spec, unreferenced_files
from server.stubs import plan_stubs, write


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `charter` command; returns the exit status.

    >>> main(["check", "--spec", "spec"])          # doctest: +SKIP
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    sys.path.insert(0, os.getcwd())  # the handlers package lives beside the spec
    overrides: dict[str, Any] = {
        "spec": getattr(args, "spec", None), "handlers": getattr(args, "handlers", None),
        "allow_unbound": True if getattr(args, "allow_unbound", False) else None}
    if args.command in ("serve", "contract"):
        overrides["mock"] = True if args.mock else None
    if args.command == "serve":
        overrides.update(host=args.host, port=args.port, workers=args.workers,
                         reload=True if args.reload else None,
                         access_log=False if args.no_access_log
                         else None if "CHARTER_ACCESS_LOG" in os.environ else True)
    settings = Settings.from_env(**overrides)
    command = {"serve": _serve, "check": _check, "spec": _spec, "migrate": _migrate,
               "stubs": _stubs, "contract": _contract, "new": _new, "diff": _diff}[args.command]
    return command(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="charter", description="OpenAPI-first contract server")
    parser.add_argument("--version", action="version",
                        version=f"charter {importlib.metadata.version('charter')}")
    commands = parser.add_subparsers(dest="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--spec", type=Path, help="the spec file or folder (default: spec)")
    common.add_argument("--handlers", help="the handlers package (default: handlers)")
    common.add_argument("--allow-unbound", action="store_true",
                        help="serve operations without a handler as 501 instead of refusing")
    serve = commands.add_parser("serve", parents=[common], help="serve the API")
    serve.add_argument("app", nargs="?",
                       help="module:attribute of a server.App to serve, as uvicorn names apps "
                            "(default: one built from the settings and the handlers package)")
    serve.add_argument("--host", help="the address to listen on (default: CHARTER_HOST, else "
                                      "127.0.0.1)")
    serve.add_argument("--port", type=_port,
                       help="the TCP port, 1 to 65535 (default: CHARTER_PORT, else 8000)")
    serve.add_argument("--workers", type=_at_least_one,
                       help="worker processes (default: CHARTER_WORKERS, else 1)")
    serve.add_argument("--reload", action="store_true",
                       help="restart when a Python file or a spec file changes, each restart checked "
                            "as the first start is (development)")
    serve.add_argument("--mock", action="store_true",
                       help="answer the operations nothing implements from the spec (examples, "
                            "else data generated from the schemas; Prism's Prefer header), and "
                            "the entities with their real CRUD on an in-memory database seeded "
                            "from their examples (one worker)")
    serve.add_argument("--no-access-log", action="store_true",
                       help="no line per request on standard output (default: CHARTER_ACCESS_LOG, "
                            "else on)")
    commands.add_parser("check", parents=[common],
                        help="load the spec, bind the handlers, report; non-zero on problems")
    spec = commands.add_parser("spec", parents=[common], help="print the merged spec")
    spec.add_argument("--yaml", action="store_true", help="YAML instead of JSON")
    stubs = commands.add_parser(
        "stubs", parents=[common],
        help="write the handlers that unbound operations need into the handlers package; "
             "change nothing that exists")
    stubs.add_argument("--dry-run", action="store_true", help="print the diff; write nothing")
    stubs.add_argument("--examples", action="store_true",
                       help="stubs return the spec's example of the success response, where it "
                            "has one, instead of raising 501")
    contract = commands.add_parser(
        "contract", parents=[common],
        help="run schemathesis against the app, every check and phase, with what Charter knows "
             "of its contract; non-zero on any failure")
    contract.add_argument("--url", help="test the server running at this root URL (default: "
                                        "serve the app on a free local port for the run)")
    contract.add_argument("--mock", action="store_true", help="serve the app with --mock")
    contract.add_argument("--header", "-H", action="append", default=[], metavar="NAME:VALUE",
                          help="a header on every request, e.g. a credential (repeatable; "
                               "default: CHARTER_CONTRACT_HEADERS, one per line)")
    contract.add_argument("--auth", "-a", metavar="USER:PASS",
                          help="basic credentials on every request (default: "
                               "CHARTER_CONTRACT_AUTH)")
    contract.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML there")
    contract.add_argument("--max-examples", type=_at_least_one,
                          help="test cases per operation and phase (schemathesis's default)")
    contract.add_argument("--max-time", type=_at_least_one, metavar="SECONDS",
                          help="a time budget for the whole run")
    contract.add_argument("--seed", type=_integer, help="the seed, to repeat a run")
    contract.add_argument("--workers", type=_at_least_one, default=1,
                          help="concurrent test workers (default: 1)")
    contract.add_argument("--phases", help="some of examples,coverage,fuzzing,stateful "
                                           "(default: all)")
    diff = commands.add_parser(
        "diff", help="what a spec change breaks for existing clients, as a table; exit status 1 "
                     "on a breaking change (for CI)")
    diff.add_argument("old", type=Path, help="the spec clients were written against (file or folder)")
    diff.add_argument("new", type=Path, help="the changed spec")
    new = commands.add_parser("new", help="create a project that works at once, in a new folder")
    new.add_argument("name", help="the project's name, and its folder's")
    new.add_argument("--charter", metavar="REQUIREMENT",
                     help="how the project depends on Charter (default: the folder this Charter "
                          "was installed from, else its version)")
    migrate = commands.add_parser("migrate", parents=[common],
                                  help="create or upgrade the entities' tables in DATABASE_URL")
    migrate.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    migrate.add_argument("--allow-drop", action="store_true",
                         help="also drop columns, indexes and constraints the spec no longer has")
    return parser


def _port(text: str) -> int:
    """A TCP port, 1 to 65535 (the OS would take another number modulo 65536, or refuse it)."""
    port = _integer(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (1 to 65535)")
    return port


def _at_least_one(text: str) -> int:
    number = _integer(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is fewer than 1")
    return number


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _build(settings: Settings) -> App | None:
    try:
        return App(settings)
    except ContractError as exc:
        _report(exc.problems)
        return None


def _imported(target: str) -> App | None:
    """The App object `module:attribute` names (the module builds it as it is imported)."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ContractError as exc:
        _report(exc.problems)
        return None
    except ImportError as exc:
        _report([f"cannot import {module_name!r} to serve {target!r}: {exc}"])
        return None
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, App):
        _report([f"{target!r} is {type(app).__name__}, not a server.App"])
        return None
    return app


def _report(problems: list[str], cannot: str = "start") -> None:
    noun = "problem" if len(problems) == 1 else "problems"
    print(f"charter: cannot {cannot}, {len(problems)} {noun}:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if not 1 <= settings.port <= 65535:  # CHARTER_PORT; --port is checked as it is parsed
        _report([f"CHARTER_PORT {settings.port} is not a TCP port (1 to 65535)"])
        return 2
    if settings.mock and settings.workers > 1:
        _report([f"--mock keeps its data in memory, one process's: it serves with one worker, "
                 f"not {settings.workers}"])
        return 2
    # Fail fast, with the full report, before starting workers.
    app = _imported(args.app) if args.app else _build(settings)
    if app is None:
        return 1
    pending = _pending(app)
    if pending:
        app.close()
        _report([f"the database is not up to date with the spec's entities "
                 f"({'; '.join(pending)}): run `charter migrate` first"])
        return 1
    served: App | str = app  # one process: uvicorn serves the App built here, the only one
    watched = _watched(settings, app.spec) if settings.reload else {}
    if settings.workers > 1 or settings.reload:
        # Each worker (or reloaded) process builds its own from the environment; this one
        # keeps none, so as not to hold a second copy of everything while serving.
        app.close()
        served = ("server.cli:create_reloaded_app" if settings.reload and not args.app
                  else args.app or "server.app:create_app")
        app = None
        gc.collect()
        for key, value in {"CHARTER_SPEC": str(settings.spec), "CHARTER_HANDLERS": settings.handlers,
                           "CHARTER_ALLOW_UNBOUND": "1" if settings.allow_unbound else "0",
                           "CHARTER_MOCK": "1" if settings.mock else "0",
                           "CHARTER_ACCESS_LOG": "1" if settings.access_log else "0"}.items():
            os.environ[key] = value
    # The HTTP protocol bounds each request head (size and time) and body (time); uvicorn bounds connections
    # (503 beyond) and the drain on SIGTERM, after it stops listening, and does not name itself.
    # X-Forwarded-* are the app's to judge (server/forwarded.py): uvicorn's own proxy handling
    # would replace the peer's address with X-Forwarded-For's, and the app could then no longer
    # tell that the request came through a trusted proxy.
    protocol = functools.partial(LimitedProtocol, limits=ConnectionLimits.from_settings(settings))
    uvicorn.run(served, factory=isinstance(served, str) and not args.app,
                host=settings.host, port=settings.port,
                workers=settings.workers if settings.workers > 1 else None,
                reload=settings.reload, **watched,
                log_level="info", access_log=False, log_config=_log_config(),
                http=cast("type[asyncio.Protocol]", protocol),
                limit_concurrency=settings.max_connections,
                timeout_graceful_shutdown=settings.graceful_timeout,
                proxy_headers=False,
                server_header=False)
    return 0


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus Charter's own lines (warnings, a meant outcome, a failed request)
    on standard error like uvicorn's. The access log writes to standard output itself."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["charter"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _watched(settings: Settings, spec: Spec) -> dict[str, Any]:
    """What `--reload` watches: Python files under the working directory (uvicorn's default)
    and the spec's files (YAML, JSON) in its folder and in every folder it reads a file from.
    Hidden folders of the working directory (.git, .venv, caches) are left out, unless the spec
    lives there.
    """
    cwd = Path.cwd().resolve()
    folders = {path.parent for path in spec.files}
    if settings.spec.is_dir():
        folders.add(settings.spec.resolve())
    hidden = [path for path in cwd.iterdir() if path.name.startswith(".") and path.is_dir()
              and not any(path == folder or path in folder.parents for folder in folders)]
    return {"reload_dirs": [str(cwd), *sorted(map(str, folders))],
            "reload_includes": [f"*{suffix}" for suffix in SPEC_SUFFIXES],
            "reload_excludes": [str(path) for path in sorted(hidden)]}


def create_reloaded_app() -> App:
    """The factory `charter serve --reload` gives uvicorn: each restart is checked as the first
    start is. A contract that does not hold prints its whole report, and the server waits for the
    next change; a database the spec's entities are ahead of is said, with what to do."""
    settings = Settings.from_env()
    app = _build(settings)
    if app is None:
        print("charter: the server restarts when a spec or Python file changes", file=sys.stderr)
        raise SystemExit(1)
    pending = _pending(app)
    if pending:
        print(f"charter: warning: the database is not up to date with the spec's entities "
              f"({'; '.join(pending)}): run `charter migrate` (or serve with CHARTER_MIGRATE=1); "
              f"until then, what it lacks answers 503 DATABASE_NOT_MIGRATED", file=sys.stderr)
    return app


def _check(settings: Settings, args: argparse.Namespace) -> int:
    app = _build(settings)
    if app is None:
        return 1
    print(f"charter: {app.spec.source} (OpenAPI {app.spec.document.get('openapi')}) "
          f"with handlers {settings.handlers!r}")
    for operation in app.operations:
        chain = f" [{', '.join(operation.interceptors)}]" if operation.interceptors else ""
        secured = f" (security: {operation.guard})" if operation.guard is not None else ""
        print(f"  {operation.method:7} {operation.path:30} {operation.operation_id or '-':32} "
              f"-> {operation.target}{chain}{secured}")
    unbound = f", {len(app.unbound)} unbound (501)" if app.unbound else ""
    bound = len(app.operations) - len(app.unbound)
    print(f"charter: {bound} operations bound{unbound}; the contract holds.")
    folder = settings.spec if settings.spec.is_dir() else None
    _warn(unreferenced_files(app.spec, folder) if folder is not None else [],
          "spec file that no $ref reaches from the root, so nothing in it is served",
          "spec files that no $ref reaches from the root, so nothing in them is served")
    _warn(unbound_handlers(app.handlers, (op.target for op in app.operations))
          if app.handlers is not None else [],
          "handler that no operation binds", "handlers that no operation binds")
    pending = _pending(app)
    if pending:
        print(f"charter: the database needs `charter migrate`: {'; '.join(pending)}")
    app.close()
    return 0


def _contract(settings: Settings, args: argparse.Namespace) -> int:
    from server.contract import Options, run

    # Built here only for what it knows of its contract: on a database of its own, in memory,
    # whatever DATABASE_URL says (the server under test keeps its own).
    app = _build(dataclasses.replace(settings, database_url="sqlite://", migrate=True))
    if app is None:
        return 1
    headers = args.header or [line.strip() for line in os.environ.get(
        "CHARTER_CONTRACT_HEADERS", "").splitlines() if line.strip()]
    options = Options(url=args.url, headers=headers,
                      auth=args.auth or os.environ.get("CHARTER_CONTRACT_AUTH") or None,
                      junit=args.junit, max_examples=args.max_examples, max_time=args.max_time,
                      seed=args.seed, workers=args.workers, phases=args.phases, mock=args.mock)
    serve_args = ["--spec", str(settings.spec), "--handlers", settings.handlers,
                  *(["--allow-unbound"] if settings.allow_unbound else [])]
    try:
        return run(app, options, serve_args)
    except RuntimeError as exc:
        _report([f"the app could not be served for the run: {exc}"])
        return 1


def _diff(settings: Settings, args: argparse.Namespace) -> int:
    from server.diff import compare, read, table

    specs = []
    for which, path in (("OLD", args.old), ("NEW", args.new)):
        try:
            specs.append(read(path))
        except ContractError as exc:
            _report([f"{which} ({path}): {problem}" for problem in exc.problems], "compare")
            return 2
    changes = compare(*specs)
    sys.stdout.write(table(changes))
    return 1 if any(change.level == "breaking" for change in changes) else 0


def _new(settings: Settings, args: argparse.Namespace) -> int:
    from server.scaffold import create

    folder = Path(args.name)
    try:
        written = create(folder, folder.name, args.charter)
    except ValueError as exc:
        _report([str(exc)])
        return 2
    print(f"charter: {len(written)} files written in {folder}/. Then:\n"
          f"  cd {folder}\n  make run      # serves it on http://127.0.0.1:8000/explorer\n"
          f"  make test     # checks the contract, then runs its tests")
    return 0


def _stubs(settings: Settings, args: argparse.Namespace) -> int:
    app = _build(dataclasses.replace(settings, allow_unbound=True))
    if app is None:
        return 1
    root = _handlers_root(app, settings.handlers)
    changes = plan_stubs(app.spec, app.unbound, app.handlers, root, examples=args.examples)
    _warn(unbound_handlers(app.handlers, (op.target for op in app.operations))
          if app.handlers is not None else [],
          "handler that no operation binds", "handlers that no operation binds")
    app.close()
    if args.dry_run:
        sys.stdout.write("".join(change.diff(Path.cwd()) for change in changes))
        return 0
    write(changes, root)
    stubs = [(change.path, stub) for change in changes for stub in change.stubs]
    print(f"charter: {len(stubs)} handler{'' if len(stubs) == 1 else 's'} written"
          + (":" if stubs else "; every operation has one."))
    for path, stub in stubs:
        where = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        name = f"{stub.owner}.{stub.name}" if stub.owner else stub.name
        print(f"  {where}: {name}  ({stub.label})")
    return 0


def _handlers_root(app: App, handlers: str) -> Path:
    """Where the handlers package is (its folder, or its module's file), or goes."""
    if app.handlers is not None:
        found = Path(app.handlers.root.__file__ or "")
        return found.parent if found.name == "__init__.py" else found
    if "/" in handlers or os.sep in handlers or handlers.startswith("."):
        return Path(handlers).resolve()
    return Path.cwd().joinpath(*handlers.split("."))


def _warn(items: list[str], one: str, many: str) -> None:
    """A warning for `charter check`, which does not fail it: how many there are, and each."""
    if items:
        print(f"charter: warning: {len(items)} {one if len(items) == 1 else many}:",
              file=sys.stderr)
        for item in items:
            print(f"  - {item}", file=sys.stderr)


def _pending(app: App) -> list[str]:
    """The migration the database needs; [] when up to date or unreachable (served as 503)."""
    try:
        return app.pending_migration()
    except HttpError as exc:
        print(f"charter: warning: cannot check the database: {exc.message}", file=sys.stderr)
        return []


def _spec(settings: Settings, args: argparse.Namespace) -> int:
    app = _build(settings)
    if app is None:
        return 1
    url = f"http://{settings.host}:{settings.port}"
    output = app.publisher.render_yaml(url) if args.yaml else app.publisher.render_json(url)
    sys.stdout.write(output.decode() + ("" if args.yaml else "\n"))
    app.close()
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        document = load_spec(settings.spec).document
    except ContractError as exc:
        _report(exc.problems)
        return 1
    entities, problems = read_entities(document)
    if problems:
        _report(problems)
        return 1
    if not entities:
        print("charter: the spec has no x-entity schemas; there are no tables to migrate")
        return 0
    # The data layer loads only here, and in `App` for a spec with entities (see `App`).
    from sqlalchemy.exc import ArgumentError

    from server.data.database import Database
    from server.data.migrate import MigrationError, migrate, plan
    from server.data.tables import build_tables

    try:
        database = Database(settings.database_url)
    except ArgumentError as exc:
        print(f"charter: cannot open DATABASE_URL: {exc}", file=sys.stderr)
        return 1
    try:
        metadata = build_tables(entities)
        steps = (plan(database, metadata) if args.dry_run
                 else migrate(database, metadata, allow_drop=args.allow_drop))
    except (MigrationError, HttpError) as exc:
        where = database.url.render_as_string(hide_password=True)
        print(f"charter: cannot migrate {where}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.close()
    for step in steps:
        print(f"  {'-' if step.destructive else '+'} {step.description}")
    changes = f"{len(steps)} change{'' if len(steps) == 1 else 's'}"
    if not steps:
        print("charter: the database is up to date")
    elif args.dry_run:
        print(f"charter: {changes} to apply (dry run, nothing changed)")
    else:
        print(f"charter: {changes} applied")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
