"""Charter against itself across trees: server CPU µs per request, interleaved, on one machine.

    .venv/bin/python -m bench.ab before=/tmp/old:uvicorn now=.:serve now2=.:serve
    .venv/bin/python -m bench.ab --rounds 7 --scenarios post old=/tmp/old:uvicorn new=.:serve

`bench/run.py` compares apps of one tree; this compares trees (a commit checked out with
`git worktree add /tmp/old <commit>`), each served its own way: `uvicorn` (plain uvicorn,
httptools, uvloop), or `serve` (`charter serve`, which the tree must have with its `app`
argument). FastAPI is served beside them for the ratio. Every server is pinned to core 0 and
wrk to core 1; each round runs every server once per scenario, so a drift of the machine
touches them alike. A figure is the server's CPU time (from /proc) over the requests wrk made.

Name one tree twice to see the noise between two processes of the same code: on a shared
machine it can reach 10 µs per request, so a difference smaller than that between two
different trees means nothing without more rounds.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
UVICORN = ["--workers", "1", "--no-access-log", "--loop", "uvloop", "--http", "httptools",
           "--log-level", "warning"]
BODY = '{"title":"Buy milk","desc":"two litres","isComplete":false}'
SCENARIOS = {"post": "/todos", "get": "/todos/1"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", help="label=tree:uvicorn|serve")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server and scenario (5)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--scenarios", default="post,get", help="post, get or both (both)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="charter-ab-") as scratch:
        database = f"sqlite:///{scratch}/ab.db"  # `charter serve` wants the entities' tables
        subprocess.run([PYTHON, "-m", "server", "migrate", "--spec", "spec"], cwd=ROOT,
                       env={**os.environ, "DATABASE_URL": database}, check=True,
                       capture_output=True)
        script = Path(scratch) / "post.lua"
        script.write_text(f'wrk.method = "POST"\nwrk.body = [==[{BODY}]==]\n'
                          'wrk.headers["Content-Type"] = "application/json"\n')
        servers = {}
        try:
            for index, spec in enumerate([*args.servers, f"fastapi={ROOT}:fastapi"]):
                label, _, served = spec.partition("=")
                tree, _, kind = served.rpartition(":")
                servers[label] = _start(Path(tree).resolve(), kind, 8801 + index, database)
            medians = _measure(servers, args, script)
        finally:
            for process, _ in servers.values():
                os.killpg(process.pid, signal.SIGTERM)
    for scenario, by_label in medians.items():
        fastapi = by_label["fastapi"]
        print(f"\n{scenario}: median server CPU µs per request, and FastAPI's / this")
        for label, us in by_label.items():
            print(f"  {label:16} {us:7.1f} µs   {fastapi / us:5.2f}")
    return 0


def _start(tree: Path, kind: str, port: int,
           database: str) -> tuple[subprocess.Popen[bytes], int]:
    if kind == "serve":
        command = ["-m", "server", "serve", "bench.charter.app:app", "--port", str(port),
                   "--no-access-log"]
    elif kind in ("uvicorn", "fastapi"):
        app = "bench.fastapi_app:app" if kind == "fastapi" else "bench.charter.app:app"
        command = ["-m", "uvicorn", app, "--port", str(port), *UVICORN]
    else:
        raise SystemExit(f"{kind!r}: serve a tree with uvicorn or serve")
    process = subprocess.Popen(["taskset", "-c", "0", PYTHON, *command], cwd=tree,
                               env={**os.environ, "DATABASE_URL": database},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/todos/1")
            return process, port
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{tree} ({kind}) did not answer on port {port}")


def _measure(servers: dict[str, tuple[subprocess.Popen[bytes], int]],
             args: argparse.Namespace, script: Path) -> dict[str, dict[str, float]]:
    medians: dict[str, dict[str, float]] = {}
    for scenario in args.scenarios.split(","):
        extra = ["-s", str(script)] if scenario == "post" else []
        url = "http://127.0.0.1:{}" + SCENARIOS[scenario]
        for _, port in servers.values():  # warm-up
            _wrk(extra, url.format(port), 2)
        runs: dict[str, list[float]] = {label: [] for label in servers}
        for round_ in range(args.rounds):
            for label, (process, port) in servers.items():
                before = _cpu_seconds(process.pid)
                requests = _wrk(extra, url.format(port), args.duration)
                runs[label].append((_cpu_seconds(process.pid) - before) / requests * 1e6)
                print(f"{scenario} {round_ + 1}/{args.rounds} {label:16} "
                      f"{runs[label][-1]:7.1f} µs", flush=True)
        medians[scenario] = {label: statistics.median(values) for label, values in runs.items()}
    return medians


def _wrk(extra: list[str], url: str, seconds: int) -> int:
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{seconds}s", *extra,
                          url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise SystemExit(f"wrk said nothing of {url}:\n{out}")
    return int(found.group(1))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
