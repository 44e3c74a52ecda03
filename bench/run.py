"""The benchmark run: the same todo API served by several apps, loaded by wrk, tables of requests/s.

    .venv/bin/python bench/run.py              # everything, about 13 minutes
    .venv/bin/python bench/run.py --quick      # a smoke test, about 2 minutes
    .venv/bin/python bench/run.py --db         # only the database scenarios, about 4 minutes

Three suites. `memory`: Charter, FastAPI, connexion and raw ASGI over one in-memory store.
`sqlite` and `postgresql`: Charter's derived CRUD over `spec/` and a FastAPI + SQLAlchemy app,
on one seeded database (`bench/databases.py`), reset before every wrk run.

Every app is served by uvicorn (1 worker, uvloop, httptools, no access log) pinned to core 0;
Charter as its users serve it, by `charter serve`: uvicorn with Charter's own HTTP protocol,
which bounds request heads and bodies (`charter-uvicorn`, not run by default, is the same app
under plain uvicorn). wrk is pinned to core 1. A suite's servers start first and stay up while it runs; the
repetitions interleave the apps so that a drift of the machine touches every app alike. Before
any measurement each app must answer each scenario with the expected status; a wrk run whose
responses have another status is reported as invalid. Results go to bench/results/ as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ on the path, not the root
    sys.path.insert(0, str(ROOT))

from bench.bearer import SECRET as JWT_SECRET  # noqa: E402
from bench.bearer import TOKEN as JWT_TOKEN  # noqa: E402
from bench.databases import SEEDED, BenchDatabase, migrate  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
SERVER_CORE = "0"
LOAD_CORE = "1"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    module: str
    port: int
    server: str = "uvicorn"
    """`uvicorn`, or `charter`: `charter serve`, uvicorn with Charter's own HTTP protocol."""


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    status: int
    items: int | None = None
    """How many items a list answer must hold."""
    label: str | None = None
    """What tables show instead of the decoded path, when that is too long."""
    headers: dict[str, str] | None = None

    @property
    def title(self) -> str:
        shown = self.label or f"{self.method} {unquote(self.path)}"
        return shown + {200: "", 422: " (422)"}.get(self.status, "")


@dataclass(frozen=True)
class Suite:
    """Apps and scenarios measured together; `database` is the URL the servers get, if any."""

    name: str
    label: str
    targets: list[Target]
    scenarios: list[Scenario]
    database: str | None = None
    env: dict[str, str] | None = None
    """What the servers' environment adds."""


TARGETS = [
    Target("charter", "Charter", "bench.charter.app:app", 8701, server="charter"),
    Target("fastapi", "FastAPI", "bench.fastapi_app:app", 8702),
    Target("connexion", "connexion", "bench.connexion_app:app", 8703),
    Target("raw", "raw ASGI", "bench.raw_asgi:app", 8704),
]
EXTRA_TARGETS = [
    # Charter's app under plain uvicorn, as any ASGI server would serve it: the app then bounds
    # the body's time itself.
    Target("charter-uvicorn", "Charter (uvicorn)", "bench.charter.app:app", 8705),
]
SCENARIOS = [
    Scenario("get_one", "GET", "/todos/1", None, 200),
    Scenario("find", "GET", "/todos?filter=" + quote('{"limit":10}'), None, 200, items=10),
    Scenario(
        "create",
        "POST",
        "/todos",
        {"title": "Buy milk", "desc": "two litres", "isComplete": False},
        200,
    ),
    Scenario("create_invalid", "POST", "/todos", {"desc": "no title", "isComplete": "maybe"}, 422),
]

DB_FILTER = '{"where":{"isComplete":false,"id":{"gt":10}},"order":["title DESC"],"limit":10}'
DB_SCENARIOS = [
    Scenario("get_one", "GET", "/todos/1", None, 200),
    Scenario(
        "find",
        "GET",
        "/todos?filter=" + quote(DB_FILTER),
        None,
        200,
        items=10,
        label="GET /todos?filter={where,order,limit}",
    ),
    Scenario(
        "create",
        "POST",
        "/todos",
        {"title": "Buy milk", "desc": "two litres", "isComplete": False},
        200,
    ),
]
# `GET /todos/1` with a bearer JWT (HS256) that each app verifies: Charter by the spec's x-jwt,
# FastAPI by an HTTPBearer dependency decoding it with PyJWT.
JWT_TARGETS = [
    Target("charter", "Charter", "bench.charter.secured_app:app", 8741, server="charter"),
    Target("fastapi", "FastAPI", "bench.fastapi_jwt_app:app", 8742),
]
JWT_SCENARIOS = [
    Scenario("get_one_jwt", "GET", "/todos/1", None, 200, label="GET /todos/1 (bearer JWT)",
             headers={"Authorization": f"Bearer {JWT_TOKEN}"}),
]
DATABASES = {"sqlite": ("SQLite (file)", 8711), "postgresql": ("PostgreSQL", 8721)}
POSTGRESQL_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")


def db_targets(port: int) -> list[Target]:
    return [
        Target("charter", "Charter", "bench.charter_db_app:app", port + 1, server="charter"),
        Target("fastapi", "FastAPI", "bench.fastapi_db_app:app", port + 2),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run, memory suite (10)")
    parser.add_argument("--repetitions", type=int, default=3, help="runs per app and scenario (3)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per scenario (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections, memory suite (64)")
    parser.add_argument(
        "--apps",
        default=",".join(t.name for t in TARGETS),
        help="comma-separated subset of: " + ", ".join(t.name for t in TARGETS + EXTRA_TARGETS),
    )
    parser.add_argument(
        "--suites",
        default="memory,jwt,sqlite,postgresql",
        help="comma-separated subset of: memory, jwt, sqlite, postgresql (all)",
    )
    parser.add_argument("--db", action="store_true", help="only the database suites: sqlite,postgresql")
    parser.add_argument("--db-duration", type=int, default=5, help="seconds per wrk run, database suites (5)")
    parser.add_argument(
        "--db-connections",
        type=int,
        default=32,
        help="wrk connections, database suites (32: fewer than the 40 threads of anyio's pool)",
    )
    parser.add_argument(
        "--postgresql-url",
        default=POSTGRESQL_URL,
        help="the database of the postgresql suite, created if missing ($BENCH_POSTGRESQL_URL)",
    )
    parser.add_argument("--quick", action="store_true", help="2 s runs, 1 repetition")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.db_duration, args.repetitions, args.warmup = 2, 2, 1, 1
    if args.db:
        args.suites = "sqlite,postgresql"

    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(
            f"missing: {', '.join(missing)}. On Debian/Ubuntu: "
            "`sudo apt-get install -y wrk util-linux`; on macOS: `brew install wrk` "
            "(and no taskset: this benchmark needs Linux).",
            file=sys.stderr,
        )
        return 2
    if (os.cpu_count() or 1) < 2:
        print("this benchmark needs two cores: one for the servers, one for wrk", file=sys.stderr)
        return 2

    # A SIGTERM unwinds like Ctrl-C, so that the servers are stopped in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = args.apps.split(",")
    suites_wanted = args.suites.split(",")
    notes: list[str] = []
    if not (ROOT / "server" / "app.py").exists():
        wanted = [name for name in wanted if name != "charter"]
        notes.append("Charter skipped: server/app.py does not exist yet")
    load = os.getloadavg()[0]
    if load > 0.5:
        notes.append(
            f"load average {load:.2f} before the servers started: other work shares these cores,"
            " so req/s is noisy; the server CPU µs per request is the steadier figure"
        )
    for note in notes:
        print(note)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    report: dict[str, Any] = {
        "date": stamp,
        "command": command.strip(),
        "machine": _machine(),
        "settings": {
            "duration_s": args.duration,
            "repetitions": args.repetitions,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "db_duration_s": args.db_duration,
            "db_connections": args.db_connections,
            "wrk_threads": 1,
            "server_core": SERVER_CORE,
            "wrk_core": LOAD_CORE,
        },
        "notes": notes,
        "load_average_before": os.getloadavg(),
        "scenarios": {s.name: s.title for s in SCENARIOS},
        "apps": {},
        "databases": {},
        "inprocess": None,
    }
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as scratch:
        if "memory" in suites_wanted:
            targets = [t for t in TARGETS + EXTRA_TARGETS if t.name in wanted]
            suite = Suite("memory", "in memory", targets, SCENARIOS)
            _run_suite(suite, report, Path(scratch), args.duration, args.connections, args)
        if "jwt" in suites_wanted:
            targets = [t for t in JWT_TARGETS if t.name in wanted]
            section = report["jwt"] = {
                "label": "in memory, bearer JWT", "apps": {}, "notes": [],
                "scenarios": {s.name: s.title for s in JWT_SCENARIOS}}
            suite = Suite("jwt", "bearer JWT", targets, JWT_SCENARIOS,
                          env={"BENCH_JWT_SECRET": JWT_SECRET})
            _run_suite(suite, section, Path(scratch), args.duration, args.connections, args)
        for name, (label, port) in DATABASES.items():
            if name in suites_wanted:
                url = f"sqlite:///{scratch}/todo.db" if name == "sqlite" else args.postgresql_url
                targets = [t for t in db_targets(port) if t.name in wanted]
                suite = Suite(name, label, targets, DB_SCENARIOS, url)
                report["databases"][name] = _run_database_suite(suite, Path(scratch), args)
    report["load_average_after"] = os.getloadavg()
    if "charter" in report["apps"]:
        report["inprocess"] = _inprocess()

    sections = [report, *([report["jwt"]] if "jwt" in report else []), *report["databases"].values()]
    for section in sections:
        _summarize(section)
    print()
    print(render_table(report) or "nothing was measured")
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    invalid = any(
        app["verification"] or len(app["median_rps"]) < len(section["scenarios"])
        for section in sections
        for app in section["apps"].values()
    )
    return 1 if invalid else 0


def _run_database_suite(suite: Suite, scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Prepare the suite's database and measure its apps; its section of the report.

    A database that cannot be reached leaves the suite out, with a note, not the run.
    """
    assert suite.database is not None
    url = _shown_url(suite.database)
    section: dict[str, Any] = {
        "label": suite.label,
        "database": url,
        "seeded_todos": SEEDED,
        "duration_s": args.db_duration,
        "connections": args.db_connections,
        "notes": [],
        "scenarios": {s.name: s.title for s in suite.scenarios},
        "requests": {s.name: f"{s.method} {unquote(s.path)}" for s in suite.scenarios},
        "apps": {},
    }
    database = BenchDatabase(suite.database)
    try:
        problem = database.reachable()
        if problem is not None:
            note = f"{suite.label} suite skipped: {url} cannot be reached ({problem})"
            print(note, file=sys.stderr)
            section["notes"].append(note)
            return section
        print(f"{suite.label}: migrating and seeding {SEEDED} todos...", flush=True)
        database.prepare()
        section["server_version"] = database.server_version()
        _run_suite(suite, section, scratch, args.db_duration, args.db_connections, args, database)
    finally:
        database.close()
    return section


def _run_suite(
    suite: Suite,
    section: dict[str, Any],
    scratch: Path,
    duration: int,
    connections: int,
    args: argparse.Namespace,
    database: BenchDatabase | None = None,
) -> None:
    """Start the suite's servers, check their answers, warm up, measure; stop them whatever happens.

    Runs are recorded in `section["apps"]`. With a database, it is reset before every wrk run,
    so that each one sees the seeded rows and no more.
    """
    if not suite.targets:
        return
    scripts = _write_lua_scripts(scratch / suite.name, suite.scenarios)
    reset = database.reset if database is not None else lambda: 0
    env = {"DATABASE_URL": suite.database} if suite.database else None
    if env is None and any(t.server == "charter" for t in suite.targets):
        # `charter serve` refuses a database behind the spec's entities: the in-memory apps get
        # an empty one, migrated, that their handlers never touch.
        env = {"DATABASE_URL": f"sqlite:///{scratch}/{suite.name}.db"}
        migrate(env["DATABASE_URL"])
    env = {**(env or {}), **(suite.env or {})} or None
    servers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for target in suite.targets:
            servers[target.name] = _start(target, RESULTS / f"{_log_name(suite, target)}.log", env)
        failures = {
            t.name: _wait_until_ready(t, servers[t.name], RESULTS / f"{_log_name(suite, t)}.log")
            for t in suite.targets
        }
        failures = {t.name: failures[t.name] or _verify(t, suite.scenarios) for t in suite.targets}
        for name, problems in failures.items():
            for problem in problems:
                print(f"{suite.name} {name}: {problem}", file=sys.stderr)
        measured = [t for t in suite.targets if not failures[t.name]]
        if database is not None:
            reset()
            for difference in _compare_answers(measured, suite.scenarios):
                print(f"{suite.name}: {difference}", file=sys.stderr)
                section.setdefault("notes", []).append(difference)
        pid = {name: process.pid for name, process in servers.items()}  # taskset execs
        for target in suite.targets:
            section["apps"][target.name] = {
                "label": target.label,
                "runs": {},
                "verification": failures[target.name],
            }
        print(f"{suite.label}: warming up ({args.warmup} s per app and scenario)...", flush=True)
        for target in measured:
            for scenario in suite.scenarios:
                reset()
                _wrk(target, pid[target.name], scenario, scripts, args.warmup, connections)
        for rep in range(1, args.repetitions + 1):
            for target in measured:
                for scenario in suite.scenarios:
                    reset()
                    run = _wrk(target, pid[target.name], scenario, scripts, duration, connections)
                    runs = section["apps"][target.name]["runs"].setdefault(scenario.name, [])
                    runs.append(run)
                    flag = "" if run["valid"] else f"  INVALID: {run['problem']}"
                    print(
                        f"[{rep}/{args.repetitions}] {suite.name:10} {target.label:10} "
                        f"{scenario.title:38} {run['rps']:8.0f} req/s "
                        f"{run['server_cpu_us_per_request'] or 0:8.1f} µs CPU/req{flag}",
                        flush=True,
                    )
        reset()
    finally:
        for name, process in servers.items():
            _stop(process, name)


def _log_name(suite: Suite, target: Target) -> str:
    return target.name if suite.name == "memory" else f"{suite.name}-{target.name}"


def _shown_url(url: str) -> str:
    return re.sub(r"//[^/@]*:[^/@]*@", "//***@", url)  # no password in the report


def _summarize(section: dict[str, Any]) -> None:
    """Medians of the valid runs, and requests per CPU-second, for each app of a section."""
    for app in section["apps"].values():
        valid = {name: runs for name, runs in app["runs"].items() if all(r["valid"] for r in runs)}
        app["median_rps"] = {name: statistics.median(r["rps"] for r in runs) for name, runs in valid.items()}
        app["median_cpu_us_per_request"] = {
            name: statistics.median(r["server_cpu_us_per_request"] for r in runs)
            for name, runs in valid.items()
        }
        app["requests_per_cpu_second"] = {
            name: 1e6 / us for name, us in app["median_cpu_us_per_request"].items() if us
        }


def render_table(report: dict[str, Any]) -> str:
    """The result tables of each suite, the database ratios, then Charter's in-process figures."""
    lines: list[str] = []
    if report["apps"]:
        lines += ["Requests/s (median of the repetitions):", ""]
        lines += _table(report, "median_rps")
        lines += ["", "Requests per second of server CPU time (1e6 / median server CPU µs per request):"]
        lines += ["", *_table(report, "requests_per_cpu_second")]
    for section in [*([report["jwt"]] if "jwt" in report else []), *report.get("databases", {}).values()]:
        if not section["apps"]:
            continue
        lines += [
            "",
            f"{section['label']}, requests/s (median of the repetitions):",
            "",
            *_table(section, "median_rps"),
            "",
            f"{section['label']}, requests per second of server CPU time:",
            "",
            *_table(section, "requests_per_cpu_second"),
        ]
    lines += _db_ratios(report)
    if report.get("inprocess"):
        lines += [
            "",
            "Charter in process, µs per call (best of 5 timeit repeats):",
            "",
            "| piece | µs |",
            "|---|---|",
        ]
        pieces = report["inprocess"].get("charter", {})
        lines += [f"| {label} | {_us(value)} |" for label, value in pieces.items()]
    return "\n".join(lines).strip("\n")


def _db_ratios(report: dict[str, Any]) -> list[str]:
    """Charter/FastAPI in requests per CPU-second: one row per scenario, one column per database."""
    sections = [s for s in report.get("databases", {}).values() if {"charter", "fastapi"} <= s["apps"].keys()]
    if not sections:
        return []
    lines = [
        "",
        "Database scenarios, Charter/FastAPI in requests per server CPU-second (above 1: Charter is ahead):",
        "",
        "| scenario | " + " | ".join(s["label"] for s in sections) + " |",
        "|" + "---|" * (len(sections) + 1),
    ]
    for scenario, title in sections[0]["scenarios"].items():
        row = [title]
        for section in sections:
            apps = section["apps"]
            mine = apps["charter"].get("requests_per_cpu_second", {}).get(scenario)
            theirs = apps["fastapi"].get("requests_per_cpu_second", {}).get(scenario)
            row.append(f"{mine / theirs:.2f}" if mine and theirs else "-")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _table(report: dict[str, Any], key: str) -> list[str]:
    """One row per scenario, one column per app, then Charter/other (above 1: Charter is ahead)."""
    apps = report["apps"]
    others = [name for name in ("fastapi", "connexion", "raw") if "charter" in apps and name in apps]
    header = ["scenario", *(app["label"] for app in apps.values())]
    header += [f"Charter/{apps[name]['label']}" for name in others]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario, title in report["scenarios"].items():
        values = {name: app.get(key, {}).get(scenario) for name, app in apps.items()}
        row = [title, *(_rps(value) for value in values.values())]
        for name in others:
            mine, theirs = values.get("charter"), values.get(name)
            row.append(f"{mine / theirs:.2f}" if mine and theirs else "-")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _rps(value: float | None) -> str:
    return "invalid" if value is None else f"{value:,.0f}"  # None: not measured, or bad status


def _us(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _write_lua_scripts(folder: Path, scenarios: list[Scenario]) -> dict[str, Path]:
    """One wrk script per scenario with a body; the body sits in a Lua long string."""
    folder.mkdir(parents=True, exist_ok=True)
    scripts = {}
    for scenario in scenarios:
        if scenario.body is None and not scenario.headers:
            continue
        lines = [f'wrk.method = "{scenario.method}"']
        if scenario.body is not None:
            body = json.dumps(scenario.body, separators=(",", ":"))
            lines += [f"wrk.body = [==[{body}]==]", 'wrk.headers["Content-Type"] = "application/json"']
        lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in (scenario.headers or {}).items()]
        path = folder / f"{scenario.name}.lua"
        path.write_text("\n".join(lines) + "\n")
        scripts[scenario.name] = path
    return scripts


def _start(target: Target, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    if _port_in_use(target.port):
        raise SystemExit(f"port {target.port} on {HOST} is taken; stop what uses it first")
    served = ["--host", HOST, "--port", str(target.port), "--workers", "1", "--no-access-log"]
    if target.server == "charter":  # uvloop, as uvicorn picks it when installed
        served = ["-m", "server", "serve", target.module, *served]
    else:
        served = ["-m", "uvicorn", target.module, *served,
                  "--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
    command = ["taskset", "-c", SERVER_CORE, PYTHON, *served]
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def _wait_until_ready(
    target: Target, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60
) -> list[str]:
    """Nothing once the server listens; else why not (the app is then left out, not the run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            return [f"exited with {process.returncode} at start-up:\n{log[-3000:]}"]
        if _port_in_use(target.port):
            return []
        time.sleep(0.2)
    return [f"did not listen on port {target.port} within {timeout} s"]


def _verify(target: Target, scenarios: list[Scenario]) -> list[str]:
    """Each scenario answered with its expected status (a created todo must have a numeric id)."""
    problems = []
    with httpx.Client(base_url=f"http://{HOST}:{target.port}", timeout=10) as client:
        for scenario in scenarios:
            response = client.request(scenario.method, scenario.path, json=scenario.body,
                                      headers=scenario.headers)
            if response.status_code != scenario.status:
                problems.append(
                    f"{scenario.title}: expected {scenario.status}, got "
                    f"{response.status_code}: {response.text[:300]}"
                )
                continue
            if scenario.name == "create" and not isinstance(response.json().get("id"), int | float):
                problems.append(f"{scenario.title}: no numeric id in {response.text[:300]}")
            if scenario.items is not None and len(response.json()) != scenario.items:
                problems.append(
                    f"{scenario.title}: expected {scenario.items} todos, got {response.text[:300]}"
                )
    return problems


def _compare_answers(targets: list[Target], scenarios: list[Scenario]) -> list[str]:
    """Where the apps' JSON answers to the GET scenarios differ (property order aside)."""
    answers: dict[str, dict[str, Any]] = {}
    for target in targets:
        with httpx.Client(base_url=f"http://{HOST}:{target.port}", timeout=10) as client:
            answers[target.label] = {
                s.title: client.get(s.path, headers=s.headers).json()
                for s in scenarios if s.method == "GET"
            }
    differences = []
    if len(answers) > 1:
        first, *others = answers
        for other in others:
            for title, answer in answers[other].items():
                if answer != answers[first][title]:
                    differences.append(f"{title}: {first} and {other} answer different JSON")
    return differences


def _wrk(
    target: Target,
    pid: int,
    scenario: Scenario,
    scripts: dict[str, Path],
    duration: int,
    connections: int,
) -> dict[str, Any]:
    command = [
        "taskset",
        "-c",
        LOAD_CORE,
        "wrk",
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if scenario.name in scripts:
        command += ["-s", str(scripts[scenario.name])]
    command.append(f"http://{HOST}:{target.port}{scenario.path}")
    cpu_before = _cpu_seconds(pid)
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    cpu = _cpu_seconds(pid) - cpu_before
    run = _parse_wrk(result.stdout + result.stderr, scenario)
    run["server_cpu_s"] = cpu
    run["server_cpu_us_per_request"] = cpu * 1e6 / run["requests"] if run["requests"] else None
    return run


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/<pid>/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parse_wrk(output: str, scenario: Scenario) -> dict[str, Any]:
    """Requests/s, latency percentiles and error counts from wrk's text report."""

    def number(pattern: str) -> float | None:
        found = re.search(pattern, output)
        return float(found.group(1)) if found else None

    requests = int(number(r"(\d+) requests in") or 0)
    non_2xx = int(number(r"Non-2xx or 3xx responses: (\d+)") or 0)
    socket_errors = (
        sum(
            int(n)
            for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output.split("Socket errors:")[-1])
        )
        if "Socket errors:" in output
        else 0
    )
    run = {
        "rps": number(r"Requests/sec:\s+([\d.]+)") or 0.0,
        "requests": requests,
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,
        "latency_ms": {p: _ms(output, p) for p in ("50%", "90%", "99%")},
        "valid": True,
        "problem": None,
    }
    expected_non_2xx = requests if scenario.status >= 300 else 0
    if requests == 0:
        run.update(valid=False, problem=f"no requests completed: {output.strip()[-300:]}")
    elif non_2xx != expected_non_2xx:
        run.update(valid=False, problem=f"{non_2xx} of {requests} responses were non-2xx")
    elif socket_errors:
        run.update(valid=False, problem=f"{socket_errors} socket errors")
    return run


def _ms(output: str, percentile: str) -> float | None:
    found = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    if not found:
        return None
    value, unit = float(found.group(1)), found.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _stop(process: subprocess.Popen[bytes], name: str) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it is still there after 10 s."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"{name} ignored SIGTERM; killing it", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _inprocess() -> dict[str, Any] | None:
    """bench/inprocess.py in a child pinned to the servers' core: Charter's pieces in µs."""
    print("timing Charter's pieces in process...", flush=True)
    command = [
        "taskset",
        "-c",
        SERVER_CORE,
        PYTHON,
        "-W",
        "ignore",
        "-m",
        "bench.inprocess",
        "--json",
    ]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        print("in-process timing took more than 10 minutes; skipped", file=sys.stderr)
        return None
    if result.returncode != 0:
        print(f"in-process timing failed:\n{result.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in (
        "fastapi",
        "pydantic",
        "starlette",
        "connexion",
        "uvicorn",
        "uvloop",
        "httptools",
        "orjson",
        "jsonschema-rs",
        "SQLAlchemy",
        "psycopg",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "sqlite": sqlite3.sqlite_version,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "wrk": (wrk.stdout + wrk.stderr).splitlines()[0] if wrk.stdout + wrk.stderr else "?",
        "packages": versions,
    }


if __name__ == "__main__":
    sys.exit(main())
