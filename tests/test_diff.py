"""`charter diff OLD NEW` (`server/diff.py`), through the real CLI: the rule table on a changed
real-world spec, an entity's derived operations, what is not breaking, and a broken spec."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.diff import RULES

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT.parent / "shared" / "specs" / "oai" / "v3.0" / "petstore-expanded.yaml"


def diff(old: Path, new: Path) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "server", "diff", str(old), str(new)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
                          env=environ)


def rows(output: str) -> list[list[str]]:
    """The table's rows, each cut into level, rule, where and change."""
    lines = output.splitlines()[2:]
    return [[cell.strip() for cell in line.strip().split("  ") if cell.strip()] for line in lines]


@pytest.fixture
def petstore(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    if not PETSTORE.exists():
        pytest.skip(f"{PETSTORE} is not here (../shared/specs)")
    return tmp_path / "new.yaml", yaml.safe_load(PETSTORE.read_text())


def test_every_breaking_rule_is_found_on_a_changed_real_world_spec(
        petstore: tuple[Path, dict[str, Any]]) -> None:
    path, document = petstore
    paths, schemas = document["paths"], document["components"]["schemas"]
    del paths["/pets/{id}"]["delete"]
    paths["/pets"]["get"]["parameters"].append(
        {"name": "owner", "in": "query", "required": True, "schema": {"type": "string"}})
    paths["/pets"]["get"]["parameters"][1]["schema"]["maximum"] = 50
    paths["/pets/{id}"]["get"]["parameters"][0]["schema"]["format"] = "int32"
    paths["/pets/{id}"]["get"]["security"] = [{"key": []}]
    document["components"]["securitySchemes"] = {
        "key": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    schemas["NewPet"]["required"].append("tag")
    schemas["NewPet"]["properties"]["name"]["enum"] = ["Rex", "Tom"]
    paths["/pets"]["post"]["responses"]["201"] = paths["/pets"]["post"]["responses"].pop("200")
    path.write_text(yaml.safe_dump(document))
    result = diff(PETSTORE, path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == "charter diff: 8 breaking"
    assert rows(result.stdout) == [
        ["breaking", "operation-removed", "DELETE /pets/{id}", "clients calling it get 404 or 405"],
        ["breaking", "request-bound-narrowed", "GET /pets query limit /", "maximum none -> 50"],
        ["breaking", "parameter-required", "GET /pets query owner", "new, required"],
        ["breaking", "request-bound-narrowed", "GET /pets/{id} path id /", "format int64 -> int32"],
        ["breaking", "security-added", "GET /pets/{id} security", "key"],
        ["breaking", "request-enum-narrowed", "POST /pets body /name", "now only 'Rex', 'Tom'"],
        ["breaking", "request-property-required", "POST /pets body /tag", "was optional"],
        ["breaking", "success-status-changed", "POST /pets response", "200 -> 201"]]
    # Backwards, the same change set mostly widens: what it breaks is the responses'.
    back = diff(path, PETSTORE)
    assert back.returncode == 1
    assert [row[:2] for row in rows(back.stdout)] == [
        ["breaking", "response-property-removed"], ["breaking", "response-property-removed"],
        ["breaking", "success-status-changed"], ["warning", "response-enum-widened"],
        ["warning", "response-enum-widened"], ["info", "operation-added"]]


def test_what_clients_can_ignore_is_listed_and_passes(
        petstore: tuple[Path, dict[str, Any]]) -> None:
    path, document = petstore
    document["paths"]["/pets"]["get"]["parameters"].append(
        {"name": "sort", "in": "query", "schema": {"type": "string"}})
    document["paths"]["/pets/{petId}"] = document["paths"].pop("/pets/{id}")
    for operation in document["paths"]["/pets/{petId}"].values():
        operation["parameters"][0]["name"] = "petId"
    document["paths"]["/pets/{petId}/photo"] = {"get": {
        "parameters": [{"name": "petId", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"204": {"description": "none"}}}}
    path.write_text(yaml.safe_dump(document))
    result = diff(PETSTORE, path)
    assert result.returncode == 0, result.stdout
    assert rows(result.stdout) == [
        ["info", "parameter-added", "GET /pets query sort", "new"],
        ["info", "operation-added", "GET /pets/{petId}/photo"]]
    same = diff(PETSTORE, PETSTORE)
    assert (same.returncode, same.stdout) == (0, "charter diff: no changes that clients can see.\n")


def test_an_entitys_derived_operations_are_compared_too(tmp_path: Path) -> None:
    new = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", new)
    todo = yaml.safe_load((new / "schemas" / "todo.yaml").read_text())
    del todo["properties"]["desc"]
    todo["properties"]["due"] = {"type": "string", "format": "date"}
    todo["required"].append("due")
    (new / "schemas" / "todo.yaml").write_text(yaml.safe_dump(todo))
    result = diff(ROOT / "spec", new)
    assert result.returncode == 1, result.stderr
    found = rows(result.stdout)
    assert ["breaking", "request-property-required", "POST /todos body /due", "new"] in found
    assert ["breaking", "response-property-removed", "GET /todos/{id} response 200 /desc",
            "gone"] in found
    assert ["breaking", "request-property-removed", "PATCH /todos/{id} body /desc",
            "sent, it is refused"] in found


def test_a_broken_spec_is_named_and_nothing_is_compared(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n"
                      "    get:\n      responses:\n        '200': {$ref: '#/nowhere'}\n")
    result = diff(ROOT / "spec", broken)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("charter: cannot compare, 1 problem:\n  - NEW (")
    assert "#/nowhere" in result.stderr


def test_every_rule_has_a_level_and_a_meaning() -> None:
    assert all(level in ("breaking", "warning", "info") and meaning
               for level, meaning in RULES.values())
