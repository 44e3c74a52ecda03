"""The benchmarks' apps start on today's spec: a spec change that one of them cannot bind shows
here, not as an `invalid` column in the next `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("module", "operations"), [
    ("bench.charter.app", 24), ("bench.charter_db_app", 24), ("bench.charter.secured_app", 1),
    ("bench.fastapi_jwt_app", None)])
def test_the_benchmark_app_starts(module: str, operations: int | None, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/bench.db",
           "CHARTER_MIGRATE": "1", "BENCH_JWT_SECRET": "bench-secret-of-at-least-32-bytes!!"}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(len(getattr(m.app, 'operations', ())))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    if operations is not None:
        assert int(done.stdout.strip().splitlines()[-1]) == operations
