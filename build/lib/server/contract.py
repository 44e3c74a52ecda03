"""`charter contract`: schemathesis's CLI against the app, every check and every phase, with what
Charter knows of its own contract.

By default the app is served for the run (`charter serve` on a free local port, on a SQLite
file of the run's own, migrated; with `--mock`, the mock); `--url` tests a server that runs
already. The app is also built here, to read what the published document cannot say:

- each operation's documented errors (the published ones: Charter's own too, such as 412 for a
  stale `If-Match`) are correct answers to a valid request, but for those that say the request
  broke the contract (400, 405, 415, 422);
- an operation whose security scheme nothing verifies yet (`--allow-unbound`, `--mock`) lets any
  credential in, so `ignored_auth` is not run on it, and the run says so;
- the hooks of `server.contract_hooks` leave out generated `regexp` operands outside the
  portable subset and numbers outside their formats' ranges, and keep valid cases valid.

Schemathesis prints the progress and the coloured summary, writes JUnit XML (`--junit`), and
its exit status is the command's: non-zero on any failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.app import App
from server.operations import Operation
from server.refs import deref

REFUSALS = frozenset({400, 405, 415, 422})
"""Statuses that say a request broke the contract: never a correct answer to a valid one."""

POSITIVE_DEFAULTS = ("2xx", "3xx", "401", "403", "404", "409", "429", "5xx")
"""What schemathesis 4 takes from a valid request by default (`positive_data_acceptance`)."""

START_TIMEOUT = 60.0
"""Seconds the served app has to answer its first request."""


@dataclass(frozen=True)
class Options:
    """`charter contract`'s options, as schemathesis takes them."""

    url: str | None = None
    headers: Sequence[str] = ()
    auth: str | None = None
    junit: Path | None = None
    max_examples: int | None = None
    max_time: int | None = None
    seed: int | None = None
    workers: int = 1
    phases: str | None = None
    mock: bool = False


@dataclass(frozen=True)
class Plan:
    """The schemathesis configuration for one app, and what it says about the run."""

    config: str
    notes: tuple[str, ...]


def plan(app: App) -> Plan:
    """The configuration that tells schemathesis what Charter knows of `app`'s contract.

    >>> plan(App(Settings(spec="spec", handlers="handlers"))).config  # doctest: +SKIP
    'hooks = "server.contract_hooks"...'
    """
    # No cache: each run starts from a fresh database, where what an earlier run kept would
    # name rows that are gone. Where the published document has links (the derived operations
    # publish theirs), the stateful phase follows them and Location headers, not links guessed
    # from names; without any, schemathesis infers them as it does by default.
    lines = ['hooks = "server.contract_hooks"', "", "[cache]", "enabled = false"]
    if _has_links(app.publisher.document):
        lines += ["", "[phases.stateful.inference]", 'algorithms = ["location-headers"]']
    unchecked: list[str] = []
    silent: list[str] = []
    for operation in app.operations:
        expected = [*POSITIVE_DEFAULTS, *(str(status) for status in _errors(app, operation))]
        lines += ["", "[[operations]]", f"include-name = {_toml(_name(operation))}",
                  f"checks.positive_data_acceptance.expected-statuses = {_toml(expected)}"]
        if operation.target == "(mock)" and not _documented(app, operation):
            lines.append('checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", '
                         '"501"]')
            silent.append(_name(operation))
        if operation.guard is not None and any(
                scheme.unbound for alternative in operation.guard.alternatives
                for scheme, _ in alternative):
            lines.append("checks.ignored_auth.enabled = false")
            unchecked.append(_name(operation))
    notes = []
    if unchecked:
        notes.append(f"ignored_auth is not run on {len(unchecked)} operation(s) whose security "
                     "scheme nothing verifies yet, which lets any credential in: "
                     + ", ".join(unchecked))
    if silent:
        notes.append(f"{len(silent)} operation(s) document no response, so the mock answers "
                     "them 501, which is expected of them: " + ", ".join(silent))
    return Plan("\n".join(lines) + "\n", tuple(notes))


def run(app: App, options: Options, settings_args: Sequence[str]) -> int:
    """Serve `app` unless `options.url` names a server, run schemathesis, return its status.
    `settings_args` are the `charter serve` options that serve the same app."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        print("charter: `charter contract` runs schemathesis, which is not installed: "
              "pip install 'charter[contract]'", file=sys.stderr)
        return 2
    planned = plan(app)
    base_path, operations = app.base_path, len(app.operations)
    app.close()
    if not operations:
        print("charter contract: the spec has no operations: nothing to test.")
        return 0
    with tempfile.TemporaryDirectory(prefix="charter-contract-") as folder, \
            _served(Path(folder), options, settings_args) as root:
        config = Path(folder) / "schemathesis.toml"
        config.write_text(planned.config)
        command = [st, "--config-file", str(config), "run", f"{root}/openapi.json",
                   "--url", root + base_path, "--workers", str(options.workers),
                   "--wait-for-schema", "30"]
        for flag, value in (("--max-examples", options.max_examples),
                            ("--max-time", options.max_time), ("--seed", options.seed),
                            ("--phases", options.phases), ("--auth", options.auth)):
            if value is not None:
                command += [flag, str(value)]
        for header in options.headers:
            command += ["--header", header]
        if options.junit is not None:
            command += ["--report", "junit", "--report-junit-path", str(options.junit)]
        print(f"charter contract: {root + base_path}: every check, every phase"
              + (f" (phases {options.phases})" if options.phases else ""), flush=True)
        for note in planned.notes:
            print(f"charter contract: {note}", flush=True)
        status = subprocess.run(command, check=False).returncode
        log = Path(folder) / "server.log"
        if status and log.exists():
            print("--- the server's log, its last lines", *log.read_text(
                errors="replace").splitlines()[-30:], sep="\n")
        return status


@contextmanager
def _served(folder: Path, options: Options, settings_args: Sequence[str]) -> Iterator[str]:
    """The root URL of the server under test: `options.url`, or `charter serve` on a free
    port for the run, on a SQLite file in `folder`, stopped after."""
    if options.url is not None:
        yield options.url.rstrip("/")
        return
    port = _free_port()
    environ = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/contract.db",
               "CHARTER_MIGRATE": "1", "CHARTER_ACCESS_LOG": "1"}
    command = [sys.executable, "-m", "server", "serve", "--port", str(port), *settings_args,
               *(["--mock"] if options.mock else [])]
    with open(folder / "server.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environ)
        try:
            root = f"http://127.0.0.1:{port}"
            try:
                _wait(root, process)
            except RuntimeError as exc:
                log.flush()
                tail = (folder / "server.log").read_text(errors="replace").splitlines()[-20:]
                raise RuntimeError("\n".join([str(exc), *tail])) from None
            yield root
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait(root: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped before it answered (exit status "
                               f"{process.returncode})")
        try:
            with urllib.request.urlopen(f"{root}/openapi.json", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT:.0f} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _errors(app: App, operation: Operation) -> list[int]:
    """The error statuses the published document gives the operation that a valid request may
    get."""
    published = app.publisher.document["paths"][operation.path][operation.method.lower()]
    statuses = {int(code) for code in published.get("responses") or {}
                if str(code).isdigit() and 400 <= int(code) < 500}
    return sorted(statuses - REFUSALS - {401, 403, 404, 409, 429})


def _has_links(document: dict[str, Any]) -> bool:
    return any(isinstance(response, dict) and response.get("links")
               for item in (document.get("paths") or {}).values() if isinstance(item, dict)
               for operation in item.values() if isinstance(operation, dict)
               for response in (operation.get("responses") or {}).values())


def _documented(app: App, operation: Operation) -> bool:
    """Whether the spec documents any response of the operation's own."""
    item = deref(app.spec.document, app.spec.document["paths"][operation.path])
    return bool(item[operation.method.lower()].get("responses"))


def _name(operation: Operation) -> str:
    return f"{operation.method} {operation.path}"


def _toml(value: Any) -> str:
    """A TOML string or array of strings (JSON's escapes are TOML's)."""
    return json.dumps(value)
