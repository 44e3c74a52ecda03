"""The `charter` command: check, spec, and the report of a broken contract."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.config import Config
from uvicorn.supervisors.watchfilesreload import FileFilter

from server.app import App
from server.cli import _watched, create_reloaded_app, main
from server.settings import Settings
from server.spec import load_spec
from tests.live import live_server

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/app.db")


MIGRATION = ["  + create table todo_list", "  + create table todo",
             "  + create table todo_list_image"]


def test_migrate_creates_the_tables_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        *MIGRATION, "charter: 3 changes to apply (dry run, nothing changed)"]
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == [*MIGRATION, "charter: 3 changes applied"]
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == ["charter: the database is up to date"]


def test_check_reports_the_binding(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["check"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "charter: spec/openapi.yaml (OpenAPI 3.0.3) with handlers 'handlers'"
    assert len(lines) == 1 + 24 + 1
    for line in (
        "  GET     /todos                         TodoController.find              "
        "-> (derived) Todo.find",
        "  GET     /todos/{id}                    TodoController.findById          "
        "-> (derived) Todo.findById",
        "  DELETE  /todo-lists/{id}               TodoListController.deleteById    "
        "-> (derived) TodoList.deleteById",
        "  PATCH   /todo-lists/{id}/todos         TodoListTodoController.patch     "
        "-> (derived) TodoList.todos.patch",
        "  GET     /todos/{id}/todo-list          TodoTodoListController.getTodoList "
        "-> (derived) Todo.todoList.getTodoList",
        "  POST    /todo-lists/{id}/todo-list-image TodoListTodoListImageController.create "
        "-> (derived) TodoList.image.create",
    ):
        assert line in lines
    # The example's own: the summary (with its interceptor) and TodoController's create.
    assert [line.split(" -> ")[1] for line in lines[1:-1] if " -> (derived) " not in line] == [
        "handlers.summaries.Summaries.todo_list [Timing.measure]",
        "handlers.todos.TodoController.create"]
    assert lines[-1] == "charter: 24 operations bound; the contract holds."
    assert captured.err == ""  # the example uses every spec file, and has no handler


def test_check_warns_of_spec_files_and_handlers_nothing_uses(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    spec, package = tmp_path / "spec", tmp_path / "check_warning_handlers"
    for folder in (spec / "schemas", package):
        folder.mkdir(parents=True)
    (spec / "openapi.yaml").write_text("""\
openapi: 3.0.3
info: {title: x, version: '1'}
paths:
  /items:
    get:
      operationId: ItemController.find
      responses: {'200': {description: the items}}
  /summary:
    get:
      operationId: reports.summary
      responses: {'200': {description: a summary}}
""")
    for name in ("schemas/unused.yaml", ".spectral.yaml"):
        (spec / name).write_text("type: object\n")
    (package / "__init__.py").write_text("def services(settings):\n    return {}\n")
    (package / "items.py").write_text("""\
class ItemController:
    def __init__(self):
        self.items = []
    def find(self):
        return self.items
    def archive(self):
        return None
    def _helper(self):
        return None
class Formatter:
    def format(self, item):
        return item
def to_dict(item):
    return item
""")
    (package / "reports.py").write_text(
        "def summary():\n    return {}\ndef export():\n    return {}\n"
        "def _helper():\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check", "--spec", str(spec), "--handlers", "check_warning_handlers"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "charter: 2 operations bound; the contract holds."
    assert captured.err.splitlines() == [
        "charter: warning: 1 spec file that no $ref reaches from the root, so nothing in it is "
        "served:",
        f"  - {spec}/schemas/unused.yaml",
        "charter: warning: 2 handlers that no operation binds:",
        "  - check_warning_handlers.items.ItemController.archive",
        "  - check_warning_handlers.reports.export",
    ]


def test_check_says_when_the_database_needs_migrating(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        "charter: 24 operations bound; the contract holds.",
        "charter: the database needs `charter migrate`: create table todo_list; "
        "create table todo; create table todo_list_image",
    ]


def test_serve_refuses_to_start_before_charter_migrate(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def run(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn was started")

    monkeypatch.setattr(uvicorn, "run", run)
    assert main(["serve"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "charter: cannot start, 1 problem:",
        "  - the database is not up to date with the spec's entities (create table todo_list; "
        "create table todo; create table todo_list_image): run `charter migrate` first",
    ]


def test_serve_starts_once_migrated(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import server.cli

    started: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append((app, kwargs)))
    built: list[App] = []

    def build(settings: Settings) -> App:
        built.append(App(settings))
        return built[-1]

    monkeypatch.setattr(server.cli, "App", build)
    for name in ("CHARTER_SPEC", "CHARTER_HANDLERS", "CHARTER_ALLOW_UNBOUND", "CHARTER_ACCESS_LOG"):
        # `serve` sets them for uvicorn's workers: unset now, and again after the test.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert main(["migrate"]) == 0
    assert main(["serve", "--port", "8123"]) == 0
    # One process: uvicorn serves the App that was checked, and no other is built.
    assert [(app, kw["factory"], kw["host"], kw["port"]) for app, kw in started] == [
        (built[0], False, "127.0.0.1", 8123)]
    assert len(built) == 1
    # Workers build their own, each in its process, from the environment.
    assert main(["serve", "--workers", "2"]) == 0
    assert main(["serve", "--reload"]) == 0
    assert [(app, kw["factory"], kw["workers"]) for app, kw in started[1:]] == [
        ("server.app:create_app", True, 2), ("server.cli:create_reloaded_app", True, None)]
    assert "reload_dirs" in started[2][1]
    assert os.environ["CHARTER_SPEC"] == "spec"
    assert capsys.readouterr().err == ""


def test_serve_serves_an_app_object_a_module_names(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import uvicorn

    (tmp_path / "composed_app.py").write_text(
        "from server import App\n"
        f"app = App(spec='spec', handlers='handlers', allow_unbound=True, migrate=True,\n"
        f"          database_url='sqlite:///{tmp_path}/app.db')\n"
        "not_an_app = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    started: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append((app, kwargs)))
    assert main(["serve", "composed_app:app"]) == 0
    import composed_app  # type: ignore[import-not-found]

    assert [(app, kw["factory"]) for app, kw in started] == [(composed_app.app, False)]
    assert main(["serve", "composed_app:app", "--workers", "2"]) == 0
    assert [(app, kw["factory"], kw["workers"]) for app, kw in started[1:]] == [
        ("composed_app:app", False, 2)]
    assert main(["serve", "composed_app:not_an_app"]) == 1
    assert main(["serve", "no_such_module:app"]) == 1
    err = capsys.readouterr().err
    assert "'composed_app:not_an_app' is int, not a server.App" in err
    assert "cannot import 'no_such_module' to serve 'no_such_module:app'" in err


def test_serve_bounds_what_uvicorn_would_leave_unbounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import functools

    import uvicorn

    from server.connections import ConnectionLimits, LimitedProtocol

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    for name in ("CHARTER_SPEC", "CHARTER_HANDLERS", "CHARTER_ALLOW_UNBOUND"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert main(["migrate"]) == 0
    assert main(["serve"]) == 0
    monkeypatch.setenv("CHARTER_MAX_HEADER_SIZE", "4096")
    monkeypatch.setenv("CHARTER_HEADER_TIMEOUT", "3")
    monkeypatch.setenv("CHARTER_MAX_CONNECTIONS", "50")
    monkeypatch.setenv("CHARTER_GRACEFUL_TIMEOUT", "7")
    monkeypatch.setenv("CHARTER_FORWARDED_ALLOW_IPS", "10.0.0.0/8, ::1")
    assert main(["serve"]) == 0
    defaults, configured = started
    for kwargs, head_size, head_timeout in ((defaults, 32768, 10), (configured, 4096, 3)):
        protocol = kwargs["http"]
        assert isinstance(protocol, functools.partial)
        assert protocol.func is LimitedProtocol
        limits = protocol.keywords["limits"]
        assert isinstance(limits, ConnectionLimits)
        assert (limits.max_size, limits.timeout) == (head_size, head_timeout)
        assert kwargs["server_header"] is False
        # Workers and reload get uvicorn's configuration pickled.
        assert pickle.loads(pickle.dumps(protocol)).keywords["limits"] == limits
    assert (defaults["limit_concurrency"], defaults["timeout_graceful_shutdown"]) == (1000, 20)
    assert (configured["limit_concurrency"], configured["timeout_graceful_shutdown"]) == (50, 7)
    # uvicorn never rewrites the peer from X-Forwarded-For (its own default believes
    # 127.0.0.1): the app judges X-Forwarded-* by the real peer (tests/test_forwarded.py).
    assert defaults["proxy_headers"] is False
    assert configured["proxy_headers"] is False


def test_spec_prints_the_merged_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["servers"] == [{"url": "http://127.0.0.1:8000"}]
    operations = [(method, path) for path, item in document["paths"].items() for method in item]
    assert len(operations) == 23 + 1  # derived, and the summary
    create = document["paths"]["/todos"]["post"]
    assert (create["operationId"], create["summary"]) == ("TodoController.create",
                                                          "Create a Todo")
    assert {"200", "422", "409", "503"} <= set(create["responses"])
    nested = document["paths"]["/todo-lists/{id}/todos"]["get"]
    assert nested["operationId"] == "TodoListTodoController.find"
    assert {"NewTodo", "TodoPartial", "TodoWithRelations", "Todo.Filter",
            "Todo.Where"} <= set(document["components"]["schemas"])
    assert main(["spec", "--yaml"]) == 0
    assert capsys.readouterr().out.startswith("openapi: 3.0.3\n")


BROKEN_REF_REPORT = [
    "charter: cannot start, 2 problems:",
    "  - tests/fixtures/specs/broken_ref/openapi.yaml:4: /paths/~1a: $ref './paths/missing.yaml'"
    " cannot be loaded: No such file or directory",
    "  - tests/fixtures/specs/broken_ref/openapi.yaml:13: /paths/~1b/get/responses/200/content/"
    "application~1json/schema: $ref './schemas.yaml#/Nope' points nowhere (no /Nope in "
    "schemas.yaml)",
]


@pytest.mark.parametrize("command", [["check"], ["serve", "--mock"], ["contract"],
                                     ["contract", "--mock"], ["stubs"]],
                         ids=" ".join)
def test_a_broken_contract_exits_non_zero_without_a_traceback(command: list[str]) -> None:
    spec = ROOT / "tests" / "fixtures" / "specs" / "broken_ref"
    result = subprocess.run(
        [sys.executable, "-m", "server", *command, "--spec", str(spec)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == BROKEN_REF_REPORT


def test_unbound_operations_are_refused_or_allowed(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures" / "handlers"))
    spec = str(ROOT / "tests" / "fixtures" / "specs" / "pipeline")
    assert main(["check", "--spec", spec, "--handlers", "pipeline_handlers"]) == 1
    assert "class 'ItemController' has no method 'later'" in capsys.readouterr().err
    assert main(["check", "--spec", spec, "--handlers", "pipeline_handlers",
                 "--allow-unbound"]) == 0
    assert "7 operations bound, 1 unbound (501)" in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == "charter 0.1.0\n"


@pytest.mark.parametrize(("args", "error"), [
    (["--port", "99999"], "argument --port: 99999 is not a TCP port (1 to 65535)"),
    (["--port", "0"], "argument --port: 0 is not a TCP port (1 to 65535)"),
    (["--port", "eighty"], "argument --port: 'eighty' is not a whole number"),
    (["--workers", "0"], "argument --workers: 0 is fewer than 1"),
])
def test_serve_refuses_what_is_no_port_or_worker_count(
        capsys: pytest.CaptureFixture[str], args: list[str], error: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", *args])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"charter serve: error: {error}"


def test_serve_refuses_a_charter_port_that_is_no_port(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTER_PORT", "99999")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "charter: cannot start, 1 problem:",
        "  - CHARTER_PORT 99999 is not a TCP port (1 to 65535)"]


SECURED = str(ROOT / "tests" / "fixtures" / "specs" / "security_root")
SECURED_REPORT = [
    "charter: cannot start, 1 problem:",
    "  - nothing verifies the security scheme(s) 'apiKey', 'bearerAuth', which operations "
    "require: give each an `x-verifier: Class.method` of the handlers package (or, for bearer, "
    "oauth2 and openIdConnect tokens, an `x-jwt`); until then every credential would be "
    "refused, or, worse, accepted (README: Security)",
]


def test_check_and_serve_refuse_security_that_nothing_verifies(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def run(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn was started")

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures" / "handlers"))
    for command in ("check", "serve"):
        assert main([command, "--spec", SECURED, "--handlers", "pipeline_handlers"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.splitlines() == SECURED_REPORT


def test_the_unverified_security_warning_reaches_the_terminal() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "check", "--spec", SECURED, "--handlers",
         "pipeline_handlers", "--allow-unbound"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests" / "fixtures" / "handlers")})
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "WARNING: nothing verifies the security scheme(s) 'apiKey', 'bearerAuth' yet: under "
        "--allow-unbound, a request without their credential gets 401, and one with any "
        "credential at all is let in, granted the scopes it needs.",
        # the fixture's handlers serve other specs too
        "charter: warning: 4 handlers that no operation binds:",
        *(f"  - pipeline_handlers.items.ItemController.{name}"
          for name in ("create", "broken", "crash", "custom")),
    ]


def test_reload_watches_python_and_every_folder_the_spec_is_read_from(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for folder in ("spec", "shared", ".cache", ".venv"):
        (tmp_path / folder).mkdir()
    (tmp_path / "spec" / "openapi.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n"
        "components: {schemas: {Thing: {$ref: '../shared/thing.json'}}}\n")
    (tmp_path / "shared" / "thing.json").write_text('{"type": "object"}')
    monkeypatch.chdir(tmp_path)
    watched = _watched(Settings(spec=Path("spec")), load_spec("spec"))
    assert watched == {
        "reload_dirs": [str(tmp_path), str(tmp_path / "shared"), str(tmp_path / "spec")],
        "reload_includes": ["*.yaml", "*.yml", "*.json"],
        "reload_excludes": [str(tmp_path / ".cache"), str(tmp_path / ".venv")]}
    # what uvicorn makes of it: which changes restart the server
    restarts = FileFilter(Config("server.app:create_app", reload=True, **watched))
    for changed, expected in [("spec/openapi.yaml", True), ("shared/thing.json", True),
                              ("spec/new.yml", True), ("handlers/todos.py", True),
                              ("spec/.openapi.yaml.swp", False), ("spec/notes.md", False),
                              (".cache/mypy/x.json", False), (".venv/lib/site.py", False)]:
        assert restarts(tmp_path / changed) is expected, changed


def test_a_reload_reports_a_broken_contract_whole_and_a_database_behind_the_spec(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTER_SPEC", str(ROOT / "tests" / "fixtures" / "specs" / "broken_ref"))
    with pytest.raises(SystemExit) as exit_:
        create_reloaded_app()
    assert exit_.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        *BROKEN_REF_REPORT, "charter: the server restarts when a spec or Python file changes"]
    monkeypatch.setenv("CHARTER_SPEC", "spec")
    app = create_reloaded_app()  # a fresh database: every table is missing
    app.close()
    assert capsys.readouterr().err.splitlines() == [
        "charter: warning: the database is not up to date with the spec's entities (create table "
        "todo_list; create table todo; create table todo_list_image): run `charter migrate` (or "
        "serve with CHARTER_MIGRATE=1); until then, what it lacks answers 503 "
        "DATABASE_NOT_MIGRATED"]


def _wait_for(what: str, condition: Callable[[], bool], output: Callable[[], str],
              seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s; the server said:\n{output()}")
        time.sleep(0.1)


@pytest.mark.slow
def test_serve_reload_follows_spec_edits_and_says_what_they_need(tmp_path: Path) -> None:
    for folder in ("spec", "handlers", "public"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/app.db", "CHARTER_MIGRATE": "0"}

    def charter_migrate() -> None:
        subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=tmp_path, check=True,
                       env={**os.environ, **env}, capture_output=True, timeout=60)

    def todo_properties() -> set[str]:
        try:
            document = httpx.get(f"{server.url}/openapi.json", timeout=1.0).json()
        except httpx.TransportError:
            return set()
        return set(document["components"]["schemas"]["Todo"]["properties"])

    charter_migrate()
    todo = tmp_path / "spec" / "schemas" / "todo.yaml"
    original = todo.read_text()
    with live_server(tmp_path, env=env, args=("--reload",), cwd=tmp_path) as server:
        assert "priority" not in todo_properties()
        # a new property: served at once, and the database behind it is said, with what to do
        todo.write_text(original.replace("  tag: {}\n", "  tag: {}\n  priority: {type: integer}\n"))
        _wait_for("the new property", lambda: "priority" in todo_properties(), server.output)
        assert ("charter: warning: the database is not up to date with the spec's entities (add "
                "column todo.priority): run `charter migrate`") in server.output()
        answer = httpx.get(f"{server.url}/todos", timeout=5.0)
        assert (answer.status_code, answer.json()["error"]["code"]) == (503,
                                                                        "DATABASE_NOT_MIGRATED")
        charter_migrate()  # no restart needed
        assert httpx.get(f"{server.url}/todos", timeout=5.0).json() == []
        # a spec that breaks the contract: the whole report, and the server waits for a fix
        todo.write_text(original + "broken: [\n")  # YAML sees the stream end on the next line
        report = (f"charter: cannot start, 1 problem:\n  - spec/schemas/todo.yaml: line "
                  f"{original.count(chr(10)) + 2}, column 1: invalid YAML: expected the node "
                  "content, but found '<stream end>'\n"
                  "charter: the server restarts when a spec or Python file changes\n")
        _wait_for("the problem report", lambda: report in server.output(), server.output)
        todo.write_text(original)
        _wait_for("the fixed spec", lambda: todo_properties() and "priority" not in
                  todo_properties(), server.output)
