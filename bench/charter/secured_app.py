"""Charter with a bearer JWT on `GET /todos/{id}`: `charter serve bench.charter.secured_app:app`,
with `BENCH_JWT_SECRET` set (bench/bearer.py)."""

from __future__ import annotations

from pathlib import Path

from server.app import App
from server.settings import Settings

SPEC = Path(__file__).resolve().parent / "secured"

app = App(Settings.from_env(spec=SPEC, handlers="bench.charter.handlers", response_validation="off"))
