"""The contract, tested from outside: schemathesis generates requests from the published spec.

Every default check runs, including `positive_data_acceptance` (a request the spec allows is
not refused) and `negative_data_rejection` (a request it forbids is). The app runs in-process
over ASGI, on a SQLite file of its own.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server.app import App
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DATABASE_DIR = Path(tempfile.mkdtemp(prefix="charter-schemathesis-"))

app = App(Settings.from_env(
    {}, spec=ROOT / "spec", handlers="handlers", database_url=f"sqlite:///{DATABASE_DIR}/app.db"
))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    app.close()
    shutil.rmtree(DATABASE_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()
