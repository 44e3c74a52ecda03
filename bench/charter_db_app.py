"""The Charter app of the database scenarios: `spec/` and its derived CRUD, unextended.

`DATABASE_URL=... uvicorn bench.charter_db_app:app`, on a database that `charter migrate` brought
up to the spec and `bench/databases.py` seeded. `bench.db_handlers` binds the example's
hand-written operation but not its Todo controller or repository, so every `/todos` operation is
Charter's built-in one over the built-in repository.
"""

from __future__ import annotations

from pathlib import Path

from server.app import App
from server.settings import Settings

SPEC = Path(__file__).resolve().parents[1] / "spec"

# response_validation="off", as in bench/charter/app.py; the rest are the defaults (CORS on).
app = App(Settings.from_env(spec=SPEC, handlers="bench.db_handlers", response_validation="off"))
