"""The Charter app under test: `uvicorn bench.charter.app:app`, run from the repository root."""

from __future__ import annotations

from pathlib import Path

from server.app import App
from server.settings import Settings

SPEC = Path(__file__).resolve().parents[2] / "spec"

app = App(Settings.from_env(spec=SPEC, handlers="bench.charter.handlers", response_validation="off"))
