"""redocly's lint (npm `@redocly/cli`, its recommended rules) on the published example: no error,
and no warning but those we accept, each for the reason given here.

It runs on Node.js through `npx`, which fetches the pinned version from the npm registry once;
without `npx` (Debian: `apt-get install npm`, as `.ci/run` does) the test skips, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.client import Client

REDOCLY = "@redocly/cli@2.77.0"
NPX = shutil.which("npx")
ACCEPTED = {
    "info-license": "the example is LoopBack's todo-list app: a licence is its owner's to state, "
                    "and the example invents none",
    "no-unused-components": "every entity's variants are published, those of an entity without "
                            "x-crud (TodoListImage) too, for hand-written operations to use",
}
"""The rules whose findings we accept on the published example, and why (also in the README)."""


def redocly(*args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    assert NPX is not None
    environ = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
               "NO_UPDATE_NOTIFIER": "1", "npm_config_update_notifier": "false"}
    return subprocess.run([NPX, "--yes", REDOCLY, *args], capture_output=True, text=True,
                          cwd=folder, env=environ, timeout=300)


@pytest.mark.skipif(NPX is None, reason="npx is not installed (Debian: apt-get install npm): "
                                        "redocly's lint runs on Node.js")
def test_redocly_finds_no_error_in_the_published_example(client: Client, tmp_path: Path) -> None:
    if redocly("--version", folder=tmp_path).returncode != 0:
        pytest.skip(f"npx could not fetch {REDOCLY} from the npm registry")
    spec = tmp_path / "openapi.json"
    spec.write_bytes(client.get("/openapi.json").content)
    result = redocly("lint", str(spec), "--format=json", folder=tmp_path)
    report = json.loads(result.stdout)
    found = {(problem["ruleId"], problem["severity"]) for problem in report["problems"]}
    assert sorted(rule for rule, severity in found if severity == "error") == []
    assert {rule for rule, _ in found} <= set(ACCEPTED)
    assert report["totals"]["errors"] == 0 and result.returncode == 0
