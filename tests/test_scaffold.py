"""`charter new NAME` (`server/scaffold.py`): a project that works at once. The fast tests check
what it writes and that its contract holds here; the slow one installs it in a virtual
environment of its own, with its two commands, and runs its tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from server.scaffold import create, requirement

ROOT = Path(__file__).resolve().parents[1]


def charter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, check=False, env=environ)


def test_new_writes_a_project_whose_contract_holds(tmp_path: Path) -> None:
    result = charter("new", "notes-api", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "notes-api"
    assert sorted(str(path.relative_to(project)) for path in project.rglob("*")
                  if path.is_file()) == [
        ".gitignore", "Makefile", "README.md", "handlers/__init__.py", "handlers/summaries.py",
        "pyproject.toml", "spec/openapi.yaml", "tests/test_contract.py"]
    assert "cd notes-api\n  make run" in result.stdout
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["name"] == "notes-api"
    assert metadata["dependencies"] == [requirement()]
    checked = charter("check", cwd=project)
    assert checked.returncode == 0, checked.stderr
    assert "Summaries.notes                  -> handlers.summaries.Summaries.notes" in checked.stdout
    assert "(derived) Note.create" in checked.stdout


def test_charter_is_required_as_it_is_installed_here() -> None:
    # Installed from this checkout (make install: pip install -e .), the folder is named.
    assert requirement() == f"charter[contract,mock] @ {ROOT.as_uri()}"


def test_new_refuses_a_folder_in_use_and_a_name_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = charter("new", "taken", cwd=tmp_path)
    assert result.returncode == 2
    assert "exists and is not an empty folder: nothing was written" in result.stderr
    assert sorted(path.name for path in (tmp_path / "taken").iterdir()) == ["notes.txt"]
    with pytest.raises(ValueError, match="is not a project name"):
        create(tmp_path / "x", "../x")


def test_the_hand_written_operation_answers_over_the_derived_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    create(tmp_path, "notes", "charter")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [name for name in sys.modules if name == "handlers" or
                 name.startswith("handlers.")]:
        monkeypatch.delitem(sys.modules, name)
    from server.app import App
    from server.settings import Settings
    from tests.client import Client

    app = App(Settings(spec=tmp_path / "spec", handlers="handlers",
                       database_url="sqlite://", migrate=True))
    with Client(app) as client:
        assert client.post("/notes", json={"title": "one", "done": True}).status_code == 200
        assert client.post("/notes", json={"title": "two"}).status_code == 200
        assert client.get("/notes/summary").json() == {"total": 2, "done": 1, "open": 1}


@pytest.mark.slow
def test_a_new_project_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    create(tmp_path / "fresh", "fresh")
    environ = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ["PATH"] = os.pathsep.join(part for part in environ.get("PATH", "").split(os.pathsep)
                                      if ".venv" not in part)
    result = subprocess.run(["make", "test"], cwd=tmp_path / "fresh", capture_output=True,
                            text=True, timeout=1200, check=False, env=environ)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "the contract holds" in result.stdout
    assert "1 passed" in result.stdout
