"""The `charter` command: check, spec, and the report of a broken contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/app.db")


def test_check_reports_the_binding(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "charter: spec/openapi.yaml (OpenAPI 3.0.3) with handlers 'handlers'" in out
    assert ("GET     /todos/{id}                    TodoController.findById          -> "
            "handlers.todos.TodoController.findById") in out
    assert out.rstrip().endswith("charter: 8 operations bound; the contract holds.")


def test_spec_prints_the_merged_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["servers"] == [{"url": "http://127.0.0.1:8000"}]
    assert "422" in document["paths"]["/todos"]["post"]["responses"]
    assert main(["spec", "--yaml"]) == 0
    assert capsys.readouterr().out.startswith("openapi: 3.0.3\n")


def test_a_broken_contract_exits_non_zero_without_a_traceback() -> None:
    spec = ROOT / "tests" / "fixtures" / "specs" / "broken_ref"
    result = subprocess.run(
        [sys.executable, "-m", "server", "check", "--spec", str(spec)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "charter: cannot start, 2 problems:",
        "  - tests/fixtures/specs/broken_ref/openapi.yaml: /paths/~1a: $ref './paths/missing.yaml'"
        " cannot be loaded: No such file or directory",
        "  - tests/fixtures/specs/broken_ref/openapi.yaml: /paths/~1b/get/responses/200/content/"
        "application~1json/schema: $ref './schemas.yaml#/Nope' points nowhere (no /Nope in "
        "schemas.yaml)",
    ]


def test_unbound_operations_are_refused_or_allowed(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures" / "handlers"))
    spec = str(ROOT / "tests" / "fixtures" / "specs" / "pipeline")
    assert main(["check", "--spec", spec, "--handlers", "pipeline_handlers"]) == 1
    assert "class 'ItemController' has no method 'later'" in capsys.readouterr().err
    assert main(["check", "--spec", spec, "--handlers", "pipeline_handlers",
                 "--allow-unbound"]) == 0
    assert "7 operations bound, 1 unbound (501)" in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out
