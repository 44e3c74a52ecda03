"""`charter stubs` (`server/stubs.py`), through the real CLI: what is missing is written, typed as
the binding passes it, and nothing that exists changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from server.app import App
from server.settings import Settings
from tests.client import Client

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT.parent / "shared" / "specs" / "oai" / "v3.0" / "petstore-expanded.yaml"


def charter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in `cwd`, where only that folder's packages are found (not the example's)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def serve(spec: Path, folder: Path) -> App:
    """The app over `folder`'s handlers as they are now (a folder is imported once per
    process: what an earlier app of this test imported goes first)."""
    for name in [name for name in sys.modules if name.startswith("_charter_handlers_")]:
        del sys.modules[name]
    return App(Settings.from_env({}, spec=spec, handlers=str(folder / "handlers")))


@pytest.mark.skipif(not PETSTORE.is_file(), reason=f"the real-world corpus is not here ({PETSTORE})")
def test_petstore_expanded_stubs_pass_check_serve_and_fill_one_at_a_time(tmp_path: Path) -> None:
    stubbed = charter("stubs", "--spec", str(PETSTORE), "--handlers", "handlers", cwd=tmp_path)
    assert stubbed.returncode == 0, stubbed.stderr
    assert stubbed.stdout.splitlines() == [
        "charter: 4 handlers written:",
        "  handlers/__init__.py: find_pets  (GET /pets)",
        "  handlers/__init__.py: add_pet  (POST /pets)",
        "  handlers/__init__.py: find_pet_by_id  (GET /pets/{id})",
        "  handlers/__init__.py: delete_pet  (DELETE /pets/{id})"]
    written = (tmp_path / "handlers" / "__init__.py").read_text()
    assert "def find_pets(tags: list[str] | None = None, limit: int | None = None):" in written
    assert "def add_pet(body: dict[str, Any]):" in written
    assert "def find_pet_by_id(id_: int):" in written
    checked = charter("check", "--spec", str(PETSTORE), "--handlers", "handlers", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[-1] == "charter: 4 operations bound; the contract holds."
    with Client(serve(PETSTORE, tmp_path)) as client:
        assert client.get("/v2/pets").status_code == 501
    # Filling one changes that operation only; the stubs leave it, and the others, alone.
    start = written.index("def find_pets(")
    end = written.index("\n\n\n", start)
    filled = (written[:start] + "def find_pets(tags: list[str] | None = None, "
              "limit: int | None = None):\n    return [{'id': 1, 'name': 'Rex'}][:limit]"
              + written[end:])
    (tmp_path / "handlers" / "__init__.py").write_text(filled)
    again = charter("stubs", "--spec", str(PETSTORE), "--handlers", "handlers", cwd=tmp_path)
    assert again.stdout.splitlines() == ["charter: 0 handlers written; every operation has one."]
    assert (tmp_path / "handlers" / "__init__.py").read_text() == filled
    with Client(serve(PETSTORE, tmp_path)) as client:
        assert client.get("/v2/pets", params={"limit": 1}).json() == [{"id": 1, "name": "Rex"}]
        assert client.get("/v2/pets/1").status_code == 501


SPEC = {
    "openapi": "3.1.0", "info": {"title": "pets", "version": "1"},
    "paths": {
        "/pets": {
            "get": {"operationId": "PetController.find", "responses": {"200": {
                "description": "ok"}}},
            "post": {"operationId": "PetController.create", "summary": "Add a pet",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"type": "object"}}}},
                     "responses": {"200": {"description": "the pet", "content": {
                         "application/json": {"example": {"id": 7, "name": "Rex"}}}}}}},
        "/pets/{id}/photo": {"put": {
            "operationId": "PetController.setPhoto",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}},
                           {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                           {"name": "sizes", "in": "query", "required": True,
                            "schema": {"type": "array", "items": {"type": "number"}}}],
            "responses": {"204": {"description": "set"}}}},
        "/reports/daily": {"get": {"operationId": "reports.daily",
                                   "responses": {"200": {"description": "ok"}}}},
    },
}
PETS = '''"""Pets."""


class PetController:
    def find(self):
        return []

    def unused(self):
        return None
'''


def test_methods_go_into_their_class_and_new_modules_and_nothing_existing_changes(
        tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "__init__.py").write_text("")
    (tmp_path / "handlers" / "pets.py").write_text(PETS)
    args = ("stubs", "--spec", "spec.yaml", "--handlers", "handlers")
    dry = charter(*args, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "+++ b/handlers/pets.py" in dry.stdout and "+++ b/handlers/reports.py" in dry.stdout
    assert (tmp_path / "handlers" / "pets.py").read_text() == PETS  # a dry run writes nothing
    assert not (tmp_path / "handlers" / "reports.py").exists()
    assert "1 handler that no operation binds" in dry.stderr  # PetController.unused
    done = charter(*args, "--examples", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pets = (tmp_path / "handlers" / "pets.py").read_text()
    assert pets.startswith(PETS.split("\n\n\nclass")[0])
    assert "    def find(self):\n        return []\n" in pets  # untouched
    assert '    def create(self, body: dict[str, Any]):\n        """Add a pet"""\n' \
           "        return {'id': 7, 'name': 'Rex'}\n" in pets
    assert ("    def set_photo(self, id_: int, sizes: list[float], x_trace: str | None = None):"
            in pets)
    assert "from typing import Any\n" in pets
    reports = (tmp_path / "handlers" / "reports.py").read_text()
    assert "\ndef daily():\n" in reports and "raise NotImplementedYet(" in reports
    checked = charter("check", "--spec", "spec.yaml", "--handlers", "handlers", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    with Client(serve(tmp_path / "spec.yaml", tmp_path)) as client:
        assert client.post("/pets", json={}).json() == {"id": 7, "name": "Rex"}
        assert client.get("/reports/daily").status_code == 501


def test_a_broken_spec_is_reported_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: x, version: '1'}\n"
        "paths: {/a: {get: {operationId: a, responses: {'200': {$ref: '#/nowhere'}}}}}\n")
    done = charter("stubs", "--spec", "spec.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("charter: cannot start, 1 problem:")
    assert "#/nowhere" in done.stderr
    assert not (tmp_path / "handlers").exists()
