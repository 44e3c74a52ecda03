"""The contract, tested from outside: schemathesis generates requests from the published spec.

Every default check runs, including `positive_data_acceptance` (a request the spec allows is
not refused) and `negative_data_rejection` (a request it forbids is), as `schemathesis.toml`
configures them (it also drives `make test-all`, the CLI run with every check and phase). The
app runs in-process over ASGI, on a SQLite file of its own.

One rule of the contract is beyond JSON Schema: a `regexp` operand must lie in the portable
subset of regular expressions. `server/contract_hooks.py` leaves generated filters
outside it out, for this test and the CLI alike.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import server.contract_hooks  # noqa: F401  (registers the hooks)
from server.app import App
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DATABASE_DIR = Path(tempfile.mkdtemp(prefix="charter-schemathesis-"))

app = App(Settings.from_env(
    {}, spec=ROOT / "spec", handlers="handlers", database_url=f"sqlite:///{DATABASE_DIR}/app.db",
    migrate=True,
))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


# About eight minutes, most of `make test`'s thirteen (2026-12-01): in the slow set, beside the
# CLI run of every phase, which `make test-all` makes after it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    app.close()
    shutil.rmtree(DATABASE_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()
