"""`make test-all`'s contract runs: `charter contract` as users run it, every check and phase.

- `example`: the example (`spec/`, `handlers/`), served for the run on a fresh SQLite file.
- `todo-jwt`: examples/todo-jwt, with a signed-up user's token on every request. The server is
  started here (`--url`), so that the user can sign up and log in first; negative cases (no
  token, a bad one) must get the published 401.
- `corpus`: with `--mock`, every real-world spec under `../shared/specs` that has operations
  (the OAI examples and museum): every answer the mock gives must satisfy the contract. Skipped,
  saying so, where the folder is absent.

    .venv/bin/python -m tests.contract_runs [example] [todo-jwt] [corpus]

Budgets, in the environment: CONTRACT_SECONDS (the example), CONTRACT_JWT_SECONDS,
CONTRACT_MOCK_SECONDS (each mocked spec), CONTRACT_EXAMPLES (cases per operation and phase).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.live import ROOT, live_server

EXAMPLE = ROOT / "examples" / "todo-jwt"
SECRET = "contract-test-secret-of-at-least-32-bytes"
CORPUS = ROOT.parent / "shared" / "specs"
MOCKED = ["oai/v3.0/api-with-examples.yaml", "oai/v3.0/callback-example.yaml",
          "oai/v3.0/link-example.yaml", "oai/v3.0/petstore-expanded.yaml",
          "oai/v3.0/petstore.yaml", "oai/v3.0/uspto.yaml", "oai/v3.1/non-oauth-scopes.yaml",
          "oai/v3.1/webhook-example.yaml", "museum/openapi.yaml"]


def budget(name: str, default: int) -> str:
    return str(int(os.environ.get(name, default)))


def contract(*args: str, env: dict[str, str] | None = None, seconds: str = "60") -> int:
    command = [sys.executable, "-m", "server", "contract", *args,
               "--max-examples", budget("CONTRACT_EXAMPLES", 25), "--max-time", seconds]
    shown = [arg.split(":", 1)[0] + ": [Filtered]" if arg.lower().startswith("authorization:")
             else arg for arg in args]
    print("$ charter contract " + " ".join(shown), flush=True)
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})},
                          timeout=int(seconds) + 300, check=False).returncode


def example() -> int:
    return contract(seconds=budget("CONTRACT_SECONDS", 300))


def todo_jwt() -> int:
    args = ("--spec", str(EXAMPLE / "spec"), "--handlers", str(EXAMPLE / "handlers"))
    env = {"JWT_SECRET": SECRET}
    with tempfile.TemporaryDirectory() as folder, \
            live_server(Path(folder), env=env, args=args) as server:
        user = {"email": "contract@example.com", "password": "contract password"}
        httpx.post(f"{server.url}/signup", json=user).raise_for_status()
        login = httpx.post(f"{server.url}/users/login", json=user)
        login.raise_for_status()
        status = contract(*args, "--url", server.url, "--header",
                          f"Authorization: Bearer {login.json()['token']}", env=env,
                          seconds=budget("CONTRACT_JWT_SECONDS", 150))
        if status:
            print("--- server log", *server.output().splitlines()[-30:], sep="\n")
        return status


def corpus() -> int:
    if not CORPUS.is_dir():
        print(f"corpus: skipped, {CORPUS} is not here (see the guide: ../shared/specs/)")
        return 0
    failed = 0
    for name in MOCKED:
        failed |= contract("--mock", "--spec", str(CORPUS / name), "--handlers",
                           "no_handlers_at_all", seconds=budget("CONTRACT_MOCK_SECONDS", 20))
    return failed


RUNS = {"example": example, "todo-jwt": todo_jwt, "corpus": corpus}


def main(argv: list[str]) -> int:
    outcomes = []
    for name in argv or list(RUNS):
        started = time.monotonic()
        status = RUNS[name]()
        outcomes.append((name, status, time.monotonic() - started))
    print("\ncontract runs:")
    for name, status, seconds in outcomes:
        print(f"  {name:10} {'passed' if status == 0 else f'FAILED ({status})':12} {seconds:.0f} s")
    return 1 if any(status for _, status, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
