"""Where Charter's CPU goes on the database scenarios, in process: pieces in µs, then cProfile by area.

    .venv/bin/python -m bench.profile_db                 # SQLite, a file in a temporary folder
    .venv/bin/python -m bench.profile_db --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python -m bench.profile_db --profile find  # the area table for one scenario only

Every figure is server CPU (`time.process_time`, all threads of this process), not wall time,
so a PostgreSQL round trip counts only the client's share, as in `bench/run.py`. Best of 5.

1. One whole request through each app's ASGI callable, no HTTP server: Charter's pipeline and
   thread hop included, FastAPI's dependencies and thread pool included.
2. Charter's pieces: the repository call its derived controller makes (no thread hop); the
   filter turned into a statement; `Database.read()` entered and left with no statement
   (pool checkout, pre-ping, rollback, checkin); and the floor: the same SQL through the
   driver's own connection in autocommit (one round trip).
3. cProfile of the repository call, its own time grouped by area (Charter's filters, its
   repository, SQLAlchemy's statement building, execution and pool, the driver...).

`charter_pieces` relies on `Repository.read_by_id/find/create_tagged`, `.filters.where_shape/
order_key/page/where/order`, `.statements` (its key for a find), `.selection` and
`App.services["repositories"|"database"]`; adjust it if those move.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import json
import os
import pstats
import sys
import tempfile
import time
import timeit
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bench.databases import BenchDatabase

FILTER = json.loads('{"where":{"isComplete":false,"id":{"gt":10}},"order":["title DESC"],"limit":10}')
BODY = {"title": "Buy milk", "desc": "two litres", "isComplete": False}
AREAS = [  # (label, substring of the code's file name), first match wins
    ("Charter: filters", "server/data/filters"),
    ("Charter: repository, tables", "server/data/"),
    ("Charter: pipeline, parameters, bodies", "server/"),
    ("SQLAlchemy: pool", "sqlalchemy/pool"),
    ("SQLAlchemy: statement building, cache keys", "sqlalchemy/sql"),
    ("SQLAlchemy: execution, results", "sqlalchemy/"),
    ("driver: psycopg", "psycopg"),
    ("driver: sqlite3", "sqlite3"),
    ("anyio, asyncio, threads", "anyio"),
    ("anyio, asyncio, threads", "asyncio"),
    ("anyio, asyncio, threads", "threading"),
    ("FastAPI, Starlette, pydantic", "fastapi"),
    ("FastAPI, Starlette, pydantic", "starlette"),
    ("FastAPI, Starlette, pydantic", "pydantic"),
]


def cpu_us(call: Callable[[], object], repeat: int = 5) -> float:
    """The best per-call CPU time in µs over `repeat` runs of at least 0.2 s of CPU each."""
    timer = timeit.Timer(call, timer=time.process_time)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def charter_pieces(app: Any) -> dict[str, Callable[[], object]]:
    """Charter's data path in pieces, each a no-argument call (see the module docstring)."""
    from server.data.filters import Source

    repository = app.services["repositories"]["Todo"]
    database = app.services["database"]
    source = Source("filter", FILTER)

    def statement() -> object:
        """What a find does before it runs its statement: the filter checked into a shape, the
        statement of that shape looked up (built at the first call)."""
        shape, values = repository.filters.where_shape(FILTER["where"], source)
        order = repository.filters.order_key(FILTER["order"], source)
        page = repository.filters.page(FILTER, source)
        kept = repository.statements.get(("find", shape, order, True, None), unbuilt)
        return kept, values, page

    def unbuilt() -> Any:
        raise RuntimeError("the find's statement is not kept: has its key changed?")

    def built() -> Any:
        where = repository.filters.where(FILTER["where"], source)
        order = repository.filters.order(FILTER["order"], source)
        return repository.selection.where(where).order_by(*order).limit(FILTER["limit"])

    def empty_read() -> None:
        with database.read():
            pass

    raw = database.engine.raw_connection()
    driver = raw.driver_connection
    if database.dialect != "sqlite":  # Charter's SQLite connections are in autocommit already
        driver.autocommit = True
    by_id = "SELECT * FROM todo WHERE id = 1"
    found = str(built().compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}))

    def floor(sql: str) -> Callable[[], object]:
        def run() -> object:
            cursor = driver.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall()
            cursor.close()
            return rows

        return run

    return {
        "repository.read_by_id(1)": lambda: repository.read_by_id(1),
        "repository.find(filter)": lambda: repository.find(FILTER),
        "repository.create_tagged(body)": lambda: repository.create_tagged(BODY),
        "filter to statement (checked, its shape's looked up; not run)": statement,
        "Database.read() with no statement": empty_read,
        "floor: SELECT by id, driver's connection, autocommit": floor(by_id),
        "floor: the filter's SELECT, driver's connection, autocommit": floor(found),
    }


def asgi_request(
    app: Any, loop: asyncio.AbstractEventLoop, method: str, path: str, query: str = "", body: bytes = b""
) -> Callable[[], int]:
    """One whole request through an ASGI callable, with no server; returns the status."""
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
        if status[0] != 200:
            raise RuntimeError(f"{method} {path}?{query}: status {status[0]}")
        return status[0]

    return call


def areas(call: Callable[[], object], seconds: float = 3.0) -> list[tuple[str, float]]:
    """cProfile's own time of `call`, summed by area, as shares of the total (CPU time)."""
    profile = cProfile.Profile(time.process_time)
    deadline = time.process_time() + seconds
    profile.enable()
    while time.process_time() < deadline:
        call()
    profile.disable()
    totals: Counter[str] = Counter()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, _, _) in stats.items():
        where = filename if filename != "~" else function  # built-ins: "<method 'execute' ...>"
        label = next((label for label, part in AREAS if part in where), "other (builtins, stdlib)")
        totals[label] += own
    whole = sum(totals.values()) or 1.0
    return [(label, own / whole) for label, own in totals.most_common()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--profile", choices=["get_one", "find", "create"], help="only this scenario's areas")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="charter-profile-") as scratch:
        url = args.database or f"sqlite:///{scratch}/todo.db"
        database = BenchDatabase(url)
        database.prepare()
        os.environ["DATABASE_URL"] = url
        charter = importlib.import_module("bench.charter_db_app").app
        fastapi = importlib.import_module("bench.fastapi_db_app").app
        try:
            if args.profile is None:
                _report_pieces(charter, fastapi, database)
            repository = charter.services["repositories"]["Todo"]
            actions = {
                "get_one": lambda: repository.read_by_id(1),
                "find": lambda: repository.find(FILTER),
                "create": lambda: repository.create_tagged(BODY),
            }
            for name, action in actions.items():
                if args.profile not in (None, name):
                    continue
                print(f"\ncProfile of Charter's repository call for {name}, own CPU time by area:")
                for label, share in areas(action):
                    print(f"  {share * 100:5.1f}%  {label}")
                database.reset()
        finally:
            charter.close()
            database.reset()
            database.close()
    return 0


def _report_pieces(charter: Any, fastapi: Any, database: BenchDatabase) -> None:
    loop = asyncio.new_event_loop()
    filter_query = "filter=" + quote(json.dumps(FILTER, separators=(",", ":")))
    body = json.dumps(BODY).encode()
    print(f"{database.server_version()}: CPU µs per call, best of 5")
    for label, app in (("Charter", charter), ("FastAPI", fastapi)):
        requests = {
            "GET /todos/1": asgi_request(app, loop, "GET", "/todos/1"),
            "GET /todos?filter=...": asgi_request(app, loop, "GET", "/todos", filter_query),
            "POST /todos": asgi_request(app, loop, "POST", "/todos", body=body),
        }
        for name, call in requests.items():
            print(f"  {label:8} asgi: {name:54} {cpu_us(call):8.1f}")
            database.reset()
    for name, call in charter_pieces(charter).items():
        print(f"  Charter  {name:60} {cpu_us(call):8.1f}")
        database.reset()
    loop.close()


if __name__ == "__main__":
    sys.exit(main())
