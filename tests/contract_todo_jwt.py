"""`make test-all`: schemathesis's CLI, every check and phase, against the todo-jwt example under
`charter serve` (a fresh SQLite file, a free port), with a signed-up user's token on every
request; its negative cases (no token, a bad one) must get the published 401.

    .venv/bin/python -m tests.contract_todo_jwt [SECONDS] [EXAMPLES]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.live import ROOT, live_server

EXAMPLE = ROOT / "examples" / "todo-jwt"
SECRET = "contract-test-secret-of-at-least-32-bytes"


def main(argv: list[str]) -> int:
    seconds, examples = (argv + ["300", "25"][len(argv):])[:2]
    args = ("--spec", str(EXAMPLE / "spec"), "--handlers", str(EXAMPLE / "handlers"))
    with tempfile.TemporaryDirectory() as folder, \
            live_server(Path(folder), env={"JWT_SECRET": SECRET}, args=args) as server:
        user = {"email": "contract@example.com", "password": "contract password"}
        httpx.post(f"{server.url}/signup", json=user).raise_for_status()
        login = httpx.post(f"{server.url}/users/login", json=user)
        login.raise_for_status()
        command = [str(Path(sys.executable).parent / "st"),
                   "--config-file", str(EXAMPLE / "schemathesis.toml"), "run",
                   f"{server.url}/openapi.json", "--checks", "all", "--max-time", seconds,
                   "--max-examples", examples, "--workers", "1", "--no-color",
                   "--header", f"Authorization: Bearer {login.json()['token']}"]
        status = subprocess.run(command, cwd=ROOT, timeout=int(seconds) + 300,
                                check=False).returncode
        if status:
            print("--- server log", *server.output().splitlines()[-30:], sep="\n")
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
