"""Charter's in-process cost per request, in µs: routing, parameters and body, called directly.

Run as `python -m bench.inprocess [--json]` from the repository root (`bench/run.py` does, pinned
to the servers' core). Each figure is the best of several `timeit` repeats, so it is the cost of
the compiled pieces themselves, with no network, no event loop and no handler. A last group
times one whole request through each app's ASGI callable, in process, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import timeit
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

FILTER_QUERY = "filter=" + quote('{"limit":10}')
VALID_BODY = b'{"title":"Buy milk","desc":"two litres","isComplete":false}'
INVALID_BODY = b'{"desc":"no title","isComplete":"maybe"}'

APPS = {
    "charter": "bench.charter.app",
    "fastapi": "bench.fastapi_app",
    "connexion": "bench.connexion_app",
    "raw": "bench.raw_asgi",
}


def charter_pieces(app: Any) -> dict[str, Callable[[], object]]:
    """The compiled pieces of a Charter `App`, each as a no-argument call to time.

    INTEGRATOR: this is the one place that knows Charter's internals. It relies on
    `app.router.find_route(method, path) -> (operation, path_params)`, on
    `operation.parameters.parse(RequestParts(path, query, headers, cookies))` and on
    `operation.body.parse(content_type, body_bytes)`; adjust it if those move.
    """
    from server.errors import HttpError
    from server.parameters import RequestParts

    router = app.router
    get_one, get_one_path = router.find_route("GET", "/todos/1")
    find, _ = router.find_route("GET", "/todos")
    create, _ = router.find_route("POST", "/todos")
    one_parts = RequestParts(get_one_path, "", {}, {})
    filter_parts = RequestParts({}, FILTER_QUERY, {}, {})

    def invalid_body() -> object:
        try:
            return create.body.parse("application/json", INVALID_BODY)
        except HttpError as error:  # ValidationFailed, 422: what the benchmark's request gets
            return error

    return {
        "routing: GET /todos/1": lambda: router.find_route("GET", "/todos/1"),
        "routing: GET /todos": lambda: router.find_route("GET", "/todos"),
        "routing: POST /todos": lambda: router.find_route("POST", "/todos"),
        "parameters: GET /todos/{id} (id=1)": lambda: get_one.parameters.parse(one_parts),
        'parameters: GET /todos?filter={"limit":10}': lambda: find.parameters.parse(filter_parts),
        "body: POST /todos valid": lambda: create.body.parse("application/json", VALID_BODY),
        "body: POST /todos invalid (422)": invalid_body,
    }


def asgi_requests(app: Any) -> dict[str, Callable[[], object]]:
    """One whole request through an ASGI callable, per benchmark scenario, with no server."""
    loop = asyncio.new_event_loop()

    def request(method: str, path: str, query: str = "", body: bytes = b"") -> Callable[[], int]:
        headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": headers,
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
        }
        status = [0]

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]

        def call() -> int:
            loop.run_until_complete(app(dict(scope), receive, send))
            return status[0]

        return call

    return {
        "asgi: GET /todos/1": request("GET", "/todos/1"),
        'asgi: GET /todos?filter={"limit":10}': request("GET", "/todos", FILTER_QUERY),
        "asgi: POST /todos valid": request("POST", "/todos", body=VALID_BODY),
        "asgi: POST /todos invalid (422)": request("POST", "/todos", body=INVALID_BODY),
    }


def time_us(call: Callable[[], object], repeat: int = 5) -> float:
    """The best per-call time in µs over `repeat` runs of about 0.2 s each."""
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def measure(apps: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"charter": {}, "asgi": {}}
    for name in apps:
        try:
            app = importlib.import_module(APPS[name]).app
        except Exception as error:  # report and go on: one app that cannot load is not fatal
            results["asgi"][name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        if name == "charter":
            try:
                pieces = charter_pieces(app)
            except Exception as error:  # internals not there yet: see charter_pieces
                results["charter"] = {"error": f"{type(error).__name__}: {error}"}
            else:
                results["charter"] = {label: time_us(call) for label, call in pieces.items()}
        results["asgi"][name] = {label: time_us(call) for label, call in asgi_requests(app).items()}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default=",".join(APPS), help="comma-separated, of: " + ", ".join(APPS))
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args(argv)
    results = measure([a for a in args.apps.split(",") if a])
    if args.json:
        json.dump(results, sys.stdout)
        return 0
    for label, value in results["charter"].items():
        print(f"{label:50} {value if isinstance(value, str) else f'{value:8.2f} µs'}")
    for app, figures in results["asgi"].items():
        for label, value in figures.items():
            shown = value if isinstance(value, str) else f"{value:8.2f} µs"
            print(f"{app:10} {label:40} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
