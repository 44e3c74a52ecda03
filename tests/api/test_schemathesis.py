"""The contract, tested from outside: schemathesis generates requests from the published spec.

Every default check runs, including `positive_data_acceptance` (a request the spec allows is
not refused) and `negative_data_rejection` (a request it forbids is). The app runs in-process
over ASGI, on a SQLite file of its own.

One rule of the contract is beyond JSON Schema: a `regexp` operand must lie in the portable
subset of regular expressions (`server/data/patterns.py`; the published schema says
`format: regex`). Generated filters outside it are left out, through a hook that asks the
server's own check, rather than weakening `positive_data_acceptance`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server.app import App
from server.data.patterns import Unportable, portable_regexp
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DATABASE_DIR = Path(tempfile.mkdtemp(prefix="charter-schemathesis-"))

app = App(Settings.from_env(
    {}, spec=ROOT / "spec", handlers="handlers", database_url=f"sqlite:///{DATABASE_DIR}/app.db",
    migrate=True,
))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """Keep the queries whose `regexp` operands are all in the portable subset."""
    return all(_portable(value) for value in (query or {}).values())


def _portable(value: Any) -> bool:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return True
    if isinstance(value, dict):
        return all(_portable(v) and (k != "regexp" or _portable_pattern(v))
                   for k, v in value.items())
    if isinstance(value, list):
        return all(_portable(item) for item in value)
    return True


def _portable_pattern(operand: Any) -> bool:
    if not isinstance(operand, str):
        return True
    delimited = re.fullmatch(r"/(.*)/([A-Za-z]*)", operand, re.DOTALL)
    pattern, flags = delimited.groups() if delimited else (operand, "")
    try:
        portable_regexp(pattern, fold="i" in flags)
    except Unportable:
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    app.close()
    shutil.rmtree(DATABASE_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()
