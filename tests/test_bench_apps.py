"""The benchmarks' apps start on today's spec: a spec change that one of them cannot bind shows
here, not as an `invalid` column in the next `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ["bench.charter.app", "bench.charter_db_app"])
def test_the_benchmark_app_starts(module: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/bench.db",
           "CHARTER_MIGRATE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(len(m.app.operations))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) == 24
