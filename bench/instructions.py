"""Instructions per request, counted by callgrind: the same figure on every run of the same code.

    .venv/bin/python -m bench.instructions before=/tmp/old:uvicorn now=.:serve
    .venv/bin/python -m bench.instructions --requests 500 now=.:serve

CPU time per request on a shared machine moves by 10% or more between two processes of the
same code (`bench/ab.py` shows it), too much to see a change of a few µs. The instructions a
server runs per request do not move: each tree's server (`uvicorn`, plain uvicorn with
httptools and uvloop, or `serve`, `charter serve`, which the tree must have with its `app`
argument) runs under valgrind's callgrind, warms up, has its counters zeroed, answers
`--requests` POSTs and then GETs over one keep-alive connection, and each phase's count is
dumped. Two runs of one tree agree within 1%. Instructions are not time (a cache miss costs
more than an add), but a difference in them is a difference in work.

The dumps stay in the scratch folder named at the end (`callgrind_annotate --auto=no FILE`
lists the C functions, CPython's and the extensions', that the instructions went to; Python
functions show only as the interpreter's own).

Needs valgrind (`apt-get install -y valgrind`). Several trees run at once: counts do not
depend on the machine's load.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BODY = b'{"title":"Buy milk","desc":"two litres","isComplete":false}'
WARM_UP = 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", help="label=tree:uvicorn|serve")
    parser.add_argument("--requests", type=int, default=300, help="per phase (300)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="charter-instructions-"))
    database = f"sqlite:///{scratch}/bench.db"  # `charter serve` wants the entities' tables
    subprocess.run([PYTHON, "-m", "server", "migrate", "--spec", "spec"], cwd=ROOT,
                   env={**os.environ, "DATABASE_URL": database}, check=True,
                   capture_output=True)
    jobs = []
    for index, spec in enumerate(args.servers):
        label, _, served = spec.partition("=")
        tree, _, kind = served.rpartition(":")
        jobs.append((label, Path(tree).resolve(), kind, 8951 + index))
    with ThreadPoolExecutor(len(jobs)) as pool:
        counts = list(pool.map(lambda job: _count(*job, database, scratch, args.requests),
                               jobs))
    print("instructions per request (thousands)")
    print(f"  {'':16} {'POST':>8} {'GET':>8}")
    for (label, *_), (post, get) in zip(jobs, counts, strict=True):
        print(f"  {label:16} {post / 1000:8.1f} {get / 1000:8.1f}")
    print(f"callgrind's dumps: {scratch}")
    return 0


def _count(label: str, tree: Path, kind: str, port: int, database: str, scratch: Path,
           requests: int) -> tuple[float, float]:
    if kind == "serve":
        served = ["-m", "server", "serve", "bench.charter.app:app", "--port", str(port),
                  "--no-access-log"]
    elif kind == "uvicorn":
        served = ["-m", "uvicorn", "bench.charter.app:app", "--port", str(port), "--workers",
                  "1", "--no-access-log", "--loop", "uvloop", "--http", "httptools",
                  "--log-level", "warning"]
    else:
        raise SystemExit(f"{kind!r}: serve a tree with uvicorn or serve")
    out = scratch / label
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", "--dump-instr=no",
         PYTHON, *served], cwd=tree, env={**os.environ, "DATABASE_URL": database},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process)
        with httpx.Client(base_url=url, timeout=60) as client:
            def post() -> int:
                return client.post("/todos", content=BODY,
                                   headers={"content-type": "application/json"}).status_code

            def get() -> int:
                return client.get("/todos/1").status_code

            counts = []
            for call in (post, get):
                for _ in range(WARM_UP):
                    call()
                _control("-z", process.pid)
                statuses = {call() for _ in range(requests)}
                if statuses != {200}:
                    raise SystemExit(f"{label}: answered {sorted(statuses)}")
                counts.append(_dumped(out, process.pid) / requests)
            return counts[0], counts[1]
    finally:
        process.terminate()
        process.wait(60)


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600  # imports under callgrind take a while
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server under callgrind exited with {process.returncode}")
        try:
            httpx.get(f"{url}/todos/1", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer under callgrind within 10 minutes")


def _control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def _dumped(out: Path, pid: int) -> int:
    """Dump the counters since the last zeroing; the instructions in the dump."""
    before = set(glob.glob(f"{out}.{pid}.*"))
    _control("-d", pid)
    for _ in range(100):
        new = set(glob.glob(f"{out}.{pid}.*")) - before
        if new:
            time.sleep(0.2)  # the file is written whole before callgrind_control returns
            for line in Path(new.pop()).read_text().splitlines():
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
        time.sleep(0.1)
    raise SystemExit(f"callgrind wrote no dump for {pid}")


if __name__ == "__main__":
    sys.exit(main())
