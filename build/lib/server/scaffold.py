"""`charter new NAME`: a project that works at once, in a new folder.

It holds a spec with one entity (derived CRUD) and one hand-written operation and its handler,
a contract test that runs `charter contract`, a `pyproject.toml` that depends on Charter as it
is installed here (the folder it was installed from, for a Charter installed from source, else
its version), a README, and the two-command set-up: `make run`, `make test`.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def requirement() -> str:
    """Charter as a dependency of the new project, with the extras its tests use: a direct
    reference to the folder Charter was installed from, else its version."""
    extras = "charter[contract,mock]"
    found = list(importlib.metadata.distributions(name="charter"))
    # A source checkout may also hold its own `charter.egg-info`: the installed one says where
    # it was installed from.
    for distribution in found:
        url = json.loads(distribution.read_text("direct_url.json") or "{}").get("url", "")
        if url.startswith("file://"):
            return f"{extras} @ {url}"
    return f"{extras}=={found[0].version}" if found else extras


def files(name: str, charter: str) -> dict[str, str]:
    """The new project's files, by path relative to its folder."""
    module = re.sub(r"\W", "_", name.lower())
    return {
        "README.md": _README.format(name=name),
        "Makefile": _MAKEFILE,
        "pyproject.toml": _PYPROJECT.format(name=module.replace("_", "-"), charter=charter),
        ".gitignore": ".venv/\ndata/\n__pycache__/\n*.egg-info/\n",
        "spec/openapi.yaml": _SPEC.format(name=name),
        "handlers/__init__.py": '"""The handlers: an operationId `Class.method` names a method."""\n',
        "handlers/summaries.py": _HANDLER,
        "tests/test_contract.py": _CONTRACT_TEST,
    }


def create(folder: Path, name: str, charter: str | None = None) -> list[Path]:
    """Write the project into `folder`, which must not exist or be empty; returns the files."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a project name: a letter, then letters, digits, "
                         "'-' or '_' (64 at most)")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} exists and is not an empty folder: nothing was written")
    written = []
    for relative, text in files(name, charter or requirement()).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


_README = """# {name}

An API served by [Charter](https://pypi.org/project/charter/) from its OpenAPI spec.

    make run     # creates .venv, installs, serves on http://127.0.0.1:8000 (explorer: /explorer)
    make test    # checks the contract, then runs the tests (charter contract, every check)

- `spec/openapi.yaml` is the source of truth. The `Note` schema is an entity: its table and its
  CRUD endpoints (`/notes`, LoopBack's filters) come from it. `GET /notes/summary` is written by
  hand, in `handlers/summaries.py`.
- Add an operation to the spec, then `.venv/bin/charter stubs` writes its handler's stub;
  `.venv/bin/charter serve --mock` answers it from the spec before you write it.
- `tests/test_contract.py` runs `charter contract`: schemathesis, every check and phase.
"""

_MAKEFILE = """PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install

$(STAMP): pyproject.toml
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/pip install --quiet --upgrade pip
\t$(BIN)/pip install --quiet -e '.[dev]'
\ttouch $(STAMP)

install: $(STAMP)

run: $(STAMP)
\t$(BIN)/charter migrate
\t$(BIN)/charter serve

test: $(STAMP)
\t$(BIN)/charter check
\t$(BIN)/python -m pytest
"""

_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
    "{charter}",
]

[project.optional-dependencies]
dev = ["pytest"]

[tool.setuptools]
packages = []  # an app: the spec and the handlers are served from this folder

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

_SPEC = """openapi: 3.1.0
info:
  title: {name}
  version: 0.1.0
paths:
  /notes/summary:
    get:
      operationId: Summaries.notes
      summary: How many notes there are, done and open
      responses:
        "200":
          description: The counts
          content:
            application/json:
              schema:
                type: object
                required: [total, done, open]
                additionalProperties: false
                properties:
                  total: {{type: integer, minimum: 0}}
                  done: {{type: integer, minimum: 0}}
                  open: {{type: integer, minimum: 0}}
components:
  schemas:
    # An entity: Charter derives its table and LoopBack's CRUD endpoints at /notes.
    Note:
      type: object
      x-entity: {{}}
      x-crud: {{path: /notes}}
      required: [title]
      additionalProperties: false
      properties:
        id: {{type: integer, format: int64}}
        title: {{type: string, minLength: 1, maxLength: 200}}
        done: {{type: boolean}}
      examples:
        - {{id: 1, title: Write the spec, done: true}}
"""

_HANDLER = '''"""`GET /notes/summary`: a hand-written operation, over the derived repository."""

from __future__ import annotations

from server import Repository


class Summaries:
    """Constructed per request; the repository is injected by its name."""

    def __init__(self, note_repository: Repository) -> None:
        self.repository = note_repository

    def notes(self) -> dict[str, int]:
        """How many notes there are, done and open."""
        total = self.repository.count()
        done = self.repository.count({"done": True})
        return {"total": total, "done": done, "open": total - done}
'''

_CONTRACT_TEST = '''"""The contract, judged from outside: `charter contract` serves the app on a free port and
runs schemathesis against it, every check and every phase."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_contract_holds() -> None:
    charter = Path(sys.executable).parent / "charter"
    result = subprocess.run([str(charter), "contract", "--max-examples", "10",
                             "--max-time", "60"], cwd=ROOT, check=False, timeout=600)
    assert result.returncode == 0
'''
