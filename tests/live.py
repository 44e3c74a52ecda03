"""A real `charter serve` on a free port, for the tests that must go through a real HTTP server.

    with live_server(tmp_path) as server:          # the example, on a SQLite file of its own
        with Probe(server.url):                     # another client, timed meanwhile
            httpx.get(f"{server.url}/todos")
        server.rss()                                # the server process's resident memory

The server is always stopped, and a test that leaves it hanging fails instead of waiting.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.proxy import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
BIND_ATTEMPTS = 5
PROBE_LIMIT = 1.0
"""Seconds: the worst latency a probe may see while an attack runs."""


@dataclass
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    database: Path

    def rss(self) -> int:
        """The server process's resident memory, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the server process")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def live_server(folder: Path, env: Mapping[str, str] | None = None,
                args: tuple[str, ...] = (), cwd: Path = ROOT) -> Iterator[LiveServer]:
    """`python -m server serve` for the example on a free port, a new SQLite file in `folder`;
    run in `cwd`, where the spec and the handlers are found.

    A free port is free only until someone takes it: a server that finds its port taken
    (another test's, between `free_port` and its bind) is started again on another."""
    for _ in range(BIND_ATTEMPTS):
        server = _start(folder, env, args, cwd)
        try:
            if _wait_until_serving(server):
                yield server
                return
        finally:
            _stop(server)
    pytest.fail(f"no free port for the server after {BIND_ATTEMPTS} attempts")


def _start(folder: Path, env: Mapping[str, str] | None, args: tuple[str, ...],
           cwd: Path) -> LiveServer:
    port = free_port()
    database = folder / "app.db"
    environ = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "CHARTER_MIGRATE": "1",
               **(env or {})}
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port), *args],
            cwd=cwd, env=environ, stdout=out, stderr=subprocess.STDOUT,
        )
    return LiveServer(f"http://127.0.0.1:{port}", port, process, log, database)


def _stop(server: LiveServer) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def _wait_until_serving(server: LiveServer) -> bool:
    """True once the server answers; False if it exited because its port was taken."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "address already in use" in server.output():
                return False
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/openapi.json", timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not serving after {START_TIMEOUT}s:\n{server.output()}")


class Probe:
    """Times `GET /todos/count` every 20 ms until the block ends; then asserts that every answer
    was a 200 and none took `limit` seconds or more."""

    def __init__(self, url: str, limit: float = PROBE_LIMIT) -> None:
        self.url = url
        self.limit = limit
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.latencies and time.monotonic() < deadline:  # it answers before the attack
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.1)
        self._stop.set()
        self._thread.join(timeout=10)
        assert self.latencies, "the probe sent nothing"
        assert not self.failures, self.failures[:3]
        assert max(self.latencies) < self.limit, f"the probe waited {max(self.latencies):.2f} s"

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"{self.url}/todos/count").status_code
                    if status != 200:
                        self.failures.append(f"status {status}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.latencies.append(time.monotonic() - started)
                self._stop.wait(0.02)
