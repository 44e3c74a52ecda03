"""Start-up time and peak memory on a large, Stripe-like spec: Charter against connexion.

    .venv/bin/python -m bench.largespec                 # each measurement 3 times, best kept
    .venv/bin/python -m bench.largespec --resources 40  # a smaller spec
    .venv/bin/python -m bench.largespec --write spec.json   # only write the spec

The spec is generated, deterministically: `--resources` resources (default 110: about 480
operations over about 440 component schemas), each with Stripe's shapes. A resource schema has
expandable fields (`anyOf: [{type: string}, {$ref: other}]`, nullable), a nested details and
settings object, an inline list of items, numeric formats and enums; the references cross
between resources at random (seeded), so schemas reach one another and cycles abound. Each
resource has list (query parameters: `expand` as a deepObject array, `created` as
`anyOf: [range object, integer]`), create and update (form bodies, as Stripe's), retrieve, and
for every third one delete.

Four measurements, each in a fresh process: wall time from the process's start until it is
ready, the CPU time it used by then (user + system: what the machine's other load does not
inflate), and its peak RSS:

- `charter-app`: `App(...)` with no handlers under `allow_unbound`, as `charter check` builds it,
  then one request through it in process;
- `charter-app-noresp`: the same with response validation off, as connexion's default is: it
  compiles no response schema, which on this spec is most of the memory `charter-app` adds;
- `connexion-app`: connexion 3's `AsyncApp` with the same document, then one request in process
  (connexion builds its middleware, and so its operations, at the first call);
- `charter-serve`: `charter serve --allow-unbound`, until it answers a first HTTP request;
- `connexion-serve`: uvicorn serving the same `AsyncApp`, likewise.

The machine is shared and noisy: compare the ratios Charter/connexion, which are printed last.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]
SPEC_ENV = "LARGESPEC_PATH"
NO_HANDLERS = "largespec_has_no_handlers"
PROBE = "/v1/res000s"  # the first resource's list: a GET with no required parameter
MODES = ("charter-app", "charter-app-noresp", "connexion-app", "charter-serve", "connexion-serve")
FIGURES = ("seconds", "cpu_seconds", "peak_rss")

# --- the spec ---------------------------------------------------------------------------------


def generate(resources: int = 110, seed: int = 8) -> dict[str, Any]:
    """A Stripe-like OpenAPI 3.0 document, the same for the same arguments.

    >>> spec = generate(6)
    >>> len(spec["components"]["schemas"]), sum(len(item) for item in spec["paths"].values())
    (25, 26)
    """
    rng = random.Random(seed)
    names = [f"res{i:03d}" for i in range(resources)]
    schemas: dict[str, Any] = {"error": _error_schema()}
    paths: dict[str, Any] = {}
    for index, name in enumerate(names):
        others = [rng.choice(names) for _ in range(6)]
        schemas[name] = _resource_schema(name, others[:4], rng)
        schemas[f"{name}_details"] = _details_schema(others[4], rng)
        schemas[f"{name}_settings"] = _settings_schema(f"{others[5]}_details", rng)
        schemas[f"{name}_item"] = _item_schema(name, others[0])
        paths[f"/v1/{name}s"] = {"get": _list_operation(name), "post": _write_operation(name, "create")}
        item: dict[str, Any] = {
            "get": _retrieve_operation(name),
            "post": _write_operation(name, "update"),
        }
        if index % 3 == 0:
            item["delete"] = _delete_operation(name)
        paths[f"/v1/{name}s/{{id}}"] = item
    return {
        "openapi": "3.0.0",
        "info": {"title": "Large spec", "version": "1"},
        "servers": [{"url": "http://127.0.0.1"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(max_length: int = 5000, **more: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **more}


def _expandable(target: str, nullable: bool) -> dict[str, Any]:
    """Stripe's expandable field: an id, or the object when the request asks to expand it."""
    field: dict[str, Any] = {"anyOf": [_string(), _ref(target)], "description": f"The {target}.",
                             "x-expansionResources": {"oneOf": [_ref(target)]}}
    if nullable:
        field["nullable"] = True
    return field


def _resource_schema(name: str, others: list[str], rng: random.Random) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": _string(description="Unique identifier for the object."),
        "object": {"type": "string", "enum": [name]},
        "created": {"type": "integer", "format": "unix-time"},
        "livemode": {"type": "boolean"},
        "amount": {"type": "integer"},
        "currency": {"type": "string", "format": "currency"},
        "status": {"type": "string", "enum": ["active", "canceled", "pending", "failed"]},
        "description": _string(40000, nullable=True),
        "metadata": {"type": "object", "additionalProperties": _string(500), "nullable": True},
        "details": {"anyOf": [_ref(f"{name}_details")], "nullable": True},
        "settings": _ref(f"{name}_settings"),
        "items": {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": _ref(f"{name}_item")},
                "has_more": {"type": "boolean"},
                "object": {"type": "string", "enum": ["list"]},
                "url": _string(),
            },
            "required": ["data", "has_more", "object", "url"],
        },
    }
    for position, other in enumerate(others):
        properties[f"{other}_{position}"] = _expandable(other, nullable=rng.random() < 0.5)
    return {
        "type": "object",
        "title": name,
        "description": f"The {name} object.",
        "properties": properties,
        "required": ["id", "object", "created", "livemode", "status"],
        "x-expandableFields": [f"{other}_{position}" for position, other in enumerate(others)],
    }


def _details_schema(other: str, rng: random.Random) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "address": {"type": "object", "properties": {
                "city": _string(nullable=True), "country": _string(nullable=True),
                "line1": _string(nullable=True), "postal_code": _string(nullable=True)}},
            "email": _string(nullable=True),
            "phone": _string(nullable=True),
            "rate": {"type": "number", "format": "double"},
            "count": {"type": "integer", "format": "int32", "minimum": 0},
            "kind": {"type": "string", "enum": [f"kind{k}" for k in range(rng.randint(2, 8))]},
            "owner": _expandable(other, nullable=True),
        },
    }


def _settings_schema(details: str, rng: random.Random) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "interval": {"type": "string", "enum": ["day", "week", "month", "year"]},
            "limit": {"type": "integer", "maximum": rng.randint(10, 10000)},
            "fallback": {"anyOf": [_ref(details)], "nullable": True},
        },
        "required": ["enabled"],
    }


def _item_schema(name: str, other: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "id": _string(),
            "object": {"type": "string", "enum": [f"{name}_item"]},
            "quantity": {"type": "integer", "nullable": True},
            "parent": _expandable(other, nullable=False),
        },
        "required": ["id", "object"],
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": _string(), "message": _string(40000), "type": {
                "type": "string", "enum": ["api_error", "card_error", "invalid_request_error"]}},
            "required": ["type"]}},
        "required": ["error"],
    }


_EXPAND = {"name": "expand", "in": "query", "required": False, "style": "deepObject",
           "explode": True, "schema": {"type": "array", "items": _string()},
           "description": "Specifies which fields in the response should be expanded."}


def _responses(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "200": {"description": "Successful response.",
                "content": {"application/json": {"schema": schema}}},
        "default": {"description": "Error response.",
                    "content": {"application/json": {"schema": _ref("error")}}},
    }


def _list_operation(name: str) -> dict[str, Any]:
    page = {"type": "object", "properties": {
        "data": {"type": "array", "items": _ref(name)},
        "has_more": {"type": "boolean"},
        "object": {"type": "string", "enum": ["list"]},
        "url": _string(pattern="^/v1/"),
    }, "required": ["data", "has_more", "object", "url"]}
    created = {"anyOf": [
        {"type": "object", "properties": {key: {"type": "integer"} for key in ("gt", "gte", "lt", "lte")}},
        {"type": "integer"},
    ]}
    return {
        "operationId": f"List{name}s",
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
            {"name": "starting_after", "in": "query", "schema": _string()},
            {"name": "ending_before", "in": "query", "schema": _string()},
            {"name": "created", "in": "query", "style": "deepObject", "explode": True,
             "schema": created},
            _EXPAND,
        ],
        "responses": _responses(page),
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": _string()}


def _write_operation(name: str, action: str) -> dict[str, Any]:
    body = {"type": "object", "properties": {
        "description": _string(),
        "amount": {"type": "integer"},
        "metadata": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}},
                               {"type": "string", "enum": [""]}]},
        "settings": {"type": "object", "properties": {
            "enabled": {"type": "boolean"},
            "interval": {"type": "string", "enum": ["day", "week", "month", "year"]}}},
        "expand": {"type": "array", "items": _string()},
    }, "additionalProperties": False}
    if action == "create":
        body["required"] = ["amount"]
    encoding = {key: {"explode": True, "style": "deepObject"}
                for key in ("metadata", "settings", "expand")}
    operation: dict[str, Any] = {
        "operationId": f"{action.capitalize()}{name}",
        "requestBody": {"required": action == "create", "content": {
            "application/x-www-form-urlencoded": {"schema": body, "encoding": encoding}}},
        "responses": _responses(_ref(name)),
    }
    if action == "update":
        operation["parameters"] = [_ID]
    return operation


def _retrieve_operation(name: str) -> dict[str, Any]:
    return {"operationId": f"Retrieve{name}", "parameters": [_ID, _EXPAND],
            "responses": _responses(_ref(name))}


def _delete_operation(name: str) -> dict[str, Any]:
    deleted = {"type": "object", "properties": {
        "deleted": {"type": "boolean", "enum": [True]}, "id": _string(),
        "object": {"type": "string", "enum": [name]}}, "required": ["deleted", "id", "object"]}
    return {"operationId": f"Delete{name}", "parameters": [_ID], "responses": _responses(deleted)}


# --- the apps under measurement ---------------------------------------------------------------


def connexion_app() -> Any:
    """connexion 3's `AsyncApp` over the spec at `$LARGESPEC_PATH`, every operation one handler."""
    from connexion import AsyncApp
    from connexion.resolver import Resolver

    async def answer(**arguments: Any) -> dict[str, Any]:
        return {}

    app = AsyncApp(__name__)
    document = json.loads(Path(os.environ[SPEC_ENV]).read_text())
    app.add_api(document, resolver=Resolver(function_resolver=lambda _: answer),
                swagger_ui_options=None)
    return app


def charter_app(spec: Path, response_validation: str = "error") -> Any:
    from server.app import App
    from server.settings import Settings

    return App(Settings.from_env(spec=spec, handlers=NO_HANDLERS, allow_unbound=True,
                                 response_validation=response_validation))


def _one_request(app: Any) -> int:
    """Lifespan start-up, then `GET PROBE`, through the ASGI callable; the status."""
    import asyncio

    status = [0]
    started = asyncio.Event

    async def run() -> None:
        ready = started()
        messages = [{"type": "lifespan.startup"}]

        async def receive_lifespan() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # no shutdown while measuring
            return {}

        async def send_lifespan(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup"):
                ready.set()

        lifespan = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                             receive_lifespan, send_lifespan))
        await ready.wait()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": PROBE, "raw_path": PROBE.encode(),
                 "root_path": "", "query_string": b"", "headers": [(b"host", b"127.0.0.1")],
                 "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 50000)}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]

        await app(scope, receive, send)
        lifespan.cancel()

    asyncio.run(run())
    return status[0]


def _child(mode: str, spec: Path) -> None:
    """In a fresh process: build one app, answer one request, print its status and peak RSS."""
    if mode.startswith("charter-app"):
        app = charter_app(spec, "off" if mode.endswith("-noresp") else "error")
    else:
        os.environ[SPEC_ENV] = str(spec)
        app = connexion_app()
    status = _one_request(app)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"status": status, "peak_rss": usage.ru_maxrss * 1024,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime}), flush=True)


# --- measuring --------------------------------------------------------------------------------


def measure(mode: str, spec: Path, timeout: float = 600) -> dict[str, Any]:
    """Seconds from spawning a fresh process until it is ready, the CPU seconds it used by then,
    and its peak RSS in bytes."""
    if "-app" in mode:
        started = time.perf_counter()
        done = subprocess.run([PYTHON, "-m", "bench.largespec", "--child", mode, str(spec)],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        return {"seconds": seconds, **figures}
    return _measure_server(mode, spec, timeout)


def _measure_server(mode: str, spec: Path, timeout: float) -> dict[str, Any]:
    port = _free_port()
    if mode == "charter-serve":
        command = [PYTHON, "-m", "server", "serve", "--spec", str(spec), "--handlers", NO_HANDLERS,
                   "--allow-unbound", "--port", str(port)]
    else:
        command = [PYTHON, "-m", "uvicorn", "bench.largespec:connexion_app", "--factory",
                   "--port", str(port), "--log-level", "warning", "--no-access-log"]
    env = {**os.environ, SPEC_ENV: str(spec), "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as cwd, tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            status = _first_answer(process, port, started + timeout)
            seconds = time.perf_counter() - started
            peak, cpu = _peak_rss(process.pid), _cpu_seconds(process.pid)
        except RuntimeError as error:
            log.seek(0)
            raise RuntimeError(f"{mode}: {error}\n{log.read()[-3000:].decode()}") from None
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss": peak, "status": status}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _first_answer(process: subprocess.Popen[bytes], port: int, deadline: float) -> int:
    """The status of the first HTTP answer to `GET PROBE`, polled every 20 ms."""
    url = f"http://127.0.0.1:{port}{PROBE}"
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before answering")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.02)
    raise RuntimeError("no answer before the deadline")


def _peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (`/proc/PID/stat`, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=110, help="resources (default 110)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; best kept")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of: " + ", ".join(MODES))
    parser.add_argument("--write", type=Path, help="write the spec there and stop")
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0
    document = generate(args.resources)
    if args.write:
        args.write.write_text(json.dumps(document, indent=1))
        return 0
    operations = sum(len(item) for item in document["paths"].values())
    results: dict[str, Any] = {"operations": operations,
                               "schemas": len(document["components"]["schemas"]), "runs": {}}
    modes = [mode for mode in args.modes.split(",") if mode]
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "openapi.json"
        spec.write_text(json.dumps(document))
        for _ in range(args.repeat):  # interleaved, so that a drift of the machine touches all
            for mode in modes:
                results["runs"].setdefault(mode, []).append(measure(mode, spec))
    best = {mode: {key: min(run[key] for run in runs) for key in FIGURES} | {
        "status": runs[-1]["status"]} for mode, runs in results["runs"].items()}
    results["best"] = best
    if args.json:
        json.dump(results, sys.stdout)
        return 0
    print(f"{operations} operations, {results['schemas']} component schemas; best of {args.repeat}")
    print(f"{'mode':18} {'seconds':>8} {'CPU s':>8} {'peak MB':>8}  status")
    for mode, figures in best.items():
        print(f"{mode:18} {figures['seconds']:8.2f} {figures['cpu_seconds']:8.2f} "
              f"{figures['peak_rss'] / 1e6:8.0f}  {figures['status']}")
    for kind in ("app", "app-noresp", "serve"):
        charter = best.get(f"charter-{kind}")
        connexion = best.get(f"connexion-{kind.removesuffix('-noresp')}")
        if charter and connexion:
            print(f"Charter/connexion ({kind}): time {charter['seconds'] / connexion['seconds']:.2f}, "
                  f"CPU {charter['cpu_seconds'] / connexion['cpu_seconds']:.2f}, "
                  f"peak RSS {charter['peak_rss'] / connexion['peak_rss']:.2f}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
