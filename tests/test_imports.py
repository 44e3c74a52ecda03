"""The import graph: the request core (operations, pipeline, publish) knows nothing of the
data layer; the application composes them; and no module needs itself, even for types."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[1] / "server"


def _module_file(name: str) -> Path | None:
    path = SERVER.parent.joinpath(*name.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def imports(name: str) -> set[str]:
    """The `server` modules `name` imports anywhere in its file (inside functions too), but
    what only type checking reads."""
    path = _module_file(name)
    assert path is not None, name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    checking_only = {id(node) for branch in ast.walk(tree) if isinstance(branch, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(branch.test)
                     for statement in branch.body for node in ast.walk(statement)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from server import jsontext` imports a submodule; `from server.x import y`, x
            candidates = [f"{node.module}.{alias.name}"
                          if _module_file(f"{node.module}.{alias.name}") else node.module
                          for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c.startswith("server") and _module_file(c)}
    return found - {name}


def closure(name: str) -> set[str]:
    seen: set[str] = set()
    pending = [name]
    while pending:
        for found in imports(pending.pop()):
            if found not in seen:
                seen.add(found)
                pending.append(found)
    return seen


@pytest.mark.parametrize("core", ["server.operations", "server.pipeline", "server.publish"])
def test_the_request_core_does_not_import_the_data_layer(core: str) -> None:
    reached = closure(core)
    assert "server.spec" in reached or core == "server.pipeline"  # the walk does follow imports
    assert sorted(m for m in reached if m.startswith("server.data")) == []


def test_the_walk_finds_what_app_imports_when_entities_are_declared() -> None:
    assert {"server.data.model", "server.data.controllers"} <= closure("server.app")


def module_level_imports(name: str) -> set[str]:
    """The `server` modules `name` imports at its top level, type checking's included: what
    loading it, or checking its types, needs first."""
    path = _module_file(name)
    assert path is not None, name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    statements = [node for statement in tree.body for node in
                  (statement.body if isinstance(statement, ast.If) else [statement])]
    found: set[str] = set()
    for node in statements:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}"
                      if _module_file(f"{node.module}.{alias.name}") else node.module
                      for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {module for module in found if module.startswith("server") and _module_file(module)}


def test_no_module_imports_itself_round_a_cycle() -> None:
    modules = [".".join(path.relative_to(SERVER.parent).with_suffix("").parts)
               for path in SERVER.rglob("*.py") if path.name != "__init__.py"]
    graph = {module: module_level_imports(module) - {"server"} for module in modules}
    cycles = []
    for start in modules:
        pending, seen = list(graph[start]), set()
        while pending:
            module = pending.pop()
            if module == start:
                cycles.append(start)
                break
            if module not in seen and module in graph:
                seen.add(module)
                pending.extend(graph[module])
    assert cycles == []
