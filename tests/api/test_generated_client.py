"""The published example as input for a client generator: openapi-python-client builds a client
from `/openapi.json`, and a CRUD round trip through it reaches a live `charter serve`.

A generator reads the document its own way: it names models after titles (two alike, and one is
dropped) and ignores what it does not know, so a document valid for Charter may still give a
client that cannot reach the server.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.live import live_server

PACKAGE = "charter_example_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def imported(tmp_path: Path) -> Iterator[None]:
    """The generated package importable for one test, and forgotten after it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(tmp_path))
        yield
    for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
        del sys.modules[name]


def generate(spec: Path, folder: Path) -> None:
    config = folder / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run over the code: nothing to check
    output = folder / PACKAGE
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(spec), "--output-path", str(output),
         "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=120)
    # Anything it could not read is left out of the client with a warning: none is allowed.
    assert (result.returncode, result.stdout.strip(), result.stderr.strip()) == (
        0, f"Generating {output}", "")


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_creates_reads_updates_lists_and_deletes(
        tmp_path: Path, imported: None) -> None:
    with live_server(tmp_path) as server:
        spec = tmp_path / "openapi.json"
        spec.write_bytes(httpx.get(f"{server.url}/openapi.json").raise_for_status().content)
        generate(spec, tmp_path)
        with module("client").Client(base_url=server.url,
                                     raise_on_unexpected_status=True) as client:
            round_trip(client)


def round_trip(client: object) -> None:
    """Through the functions and models the generator wrote for `TodoController`."""
    models = module("models")
    create, find, find_by_id, update_by_id, delete_by_id = (
        module(f"api.todo_controller.todo_controller_{action}")
        for action in ("create", "find", "find_by_id", "update_by_id", "delete_by_id"))

    created = create.sync_detailed(client=client, body=models.NewTodo(
        title="buy milk", desc="two litres", is_complete=False))
    assert created.status_code == 200
    todo = created.parsed
    assert isinstance(todo, models.TodoWithRelations)
    assert (todo.title, todo.desc, todo.is_complete) == ("buy milk", "two litres", False)

    found = find_by_id.sync(todo.id, client=client)
    assert isinstance(found, models.TodoWithRelations)
    assert found.to_dict() == todo.to_dict()

    updated = update_by_id.sync_detailed(
        todo.id, client=client, body=models.TodoPartial(is_complete=True),
        if_match=created.headers["etag"])
    assert (updated.status_code, updated.content) == (204, b"")

    listed = find.sync(client=client)
    assert isinstance(listed, list)
    assert [(item.id, item.is_complete) for item in listed if item.id == todo.id] == [
        (todo.id, True)]

    assert delete_by_id.sync_detailed(todo.id, client=client).status_code == 204
    gone = find_by_id.sync_detailed(todo.id, client=client)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, models.CharterError)
    assert gone.parsed.error.code == "ENTITY_NOT_FOUND"
