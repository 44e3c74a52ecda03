"""`charter contract` (`server/contract.py`): the configuration that carries Charter's knowledge
to schemathesis, and the command run end to end, passing and failing. The long runs (the
examples, the real-world specs with `--mock`) are `make test-all`'s (`tests/contract_runs.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from server.app import App
from server.contract import plan
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def operations_of(config: str) -> dict[str, dict[str, Any]]:
    return {entry["include-name"]: entry["checks"]
            for entry in tomllib.loads(config)["operations"]}


def test_documented_errors_are_expected_of_valid_requests_but_refusals_are_not() -> None:
    app = App(Settings(spec=ROOT / "spec", handlers="handlers", database_url="sqlite://",
                       migrate=True))
    try:
        planned = plan(app)
    finally:
        app.close()
    config = tomllib.loads(planned.config)
    assert config["hooks"] == "server.contract_hooks"
    checks = operations_of(planned.config)
    expected = checks["PATCH /todos/{id}"]["positive_data_acceptance"]["expected-statuses"]
    assert "412" in expected and "409" in expected  # a stale If-Match, a broken reference
    assert not {"400", "405", "415", "422"} & set(expected)
    assert "ignored_auth" not in checks["PATCH /todos/{id}"]
    assert planned.notes == ()


def test_ignored_auth_is_left_to_schemes_something_verifies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))
    app = App(Settings(spec=FIXTURES / "specs" / "mock", handlers="mock_handlers", mock=True))
    try:
        planned = plan(app)
    finally:
        app.close()
    checks = operations_of(planned.config)
    assert checks["POST /orders"]["ignored_auth"] == {"enabled": False}
    assert "ignored_auth" not in checks["GET /stats"]
    assert planned.notes == (
        "ignored_auth is not run on 1 operation(s) whose security scheme nothing verifies "
        "yet, which lets any credential in: POST /orders",)


def contract(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "contract", *args], capture_output=True, text=True,
        timeout=240, cwd=cwd, check=False,
        env={**os.environ, "NO_COLOR": "1", **(env or {})})


def test_a_mocked_contract_holds_and_the_run_writes_junit(tmp_path: Path) -> None:
    junit = tmp_path / "contract.xml"
    result = contract("--mock", "--spec", str(FIXTURES / "specs" / "mock"), "--handlers",
                      "mock_handlers", "--max-examples", "3", "--max-time", "25",
                      "--phases", "examples,coverage,fuzzing", "--junit", str(junit),
                      env={"PYTHONPATH": str(FIXTURES / "handlers")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "every check, every phase (phases examples,coverage,fuzzing)" in result.stdout
    assert "ignored_auth is not run on 1 operation(s)" in result.stdout
    assert "<testsuite" in junit.read_text()


def test_a_broken_contract_fails_the_run_and_shows_the_server_log(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("""
openapi: 3.0.3
info: {title: broken, version: "1"}
paths:
  /count:
    get:
      operationId: Counts.get
      responses:
        "200":
          description: A count
          content:
            application/json:
              schema: {type: object, required: [count], properties: {count: {type: integer}}}
""")
    (tmp_path / "broken_handlers.py").write_text(
        "class Counts:\n    def get(self):\n        return {'count': 'many'}\n")
    result = contract("--spec", str(tmp_path / "openapi.yaml"), "--handlers", "broken_handlers",
                      "--max-examples", "2", "--max-time", "30", "--phases", "examples,fuzzing",
                      cwd=tmp_path, env={"PYTHONPATH": str(tmp_path),
                                         "CHARTER_RESPONSE_VALIDATION": "off"})
    assert result.returncode == 1, result.stdout[-3000:]
    assert "Response violates schema" in result.stdout
    assert "--- the server's log, its last lines" in result.stdout
    assert "GET /count 200" in result.stdout


def test_a_spec_without_operations_has_nothing_to_test(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: none, version: '1'}\ncomponents: {}\n")
    result = contract("--spec", str(tmp_path / "openapi.yaml"), "--handlers", "none",
                      "--allow-unbound", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "the spec has no operations: nothing to test" in result.stdout
