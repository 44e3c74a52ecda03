"""Fixtures for the end-to-end tests: the example app (`spec/`, `handlers/`) on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import App
from server.settings import Settings
from tests.client import Client

ROOT = Path(__file__).resolve().parents[2]


def example_app(database: Path) -> App:
    """The example application over a SQLite file; the environment is ignored, for repeatability."""
    settings = Settings.from_env(
        {}, spec=ROOT / "spec", handlers="handlers", database_url=f"sqlite:///{database}",
        migrate=True,
    )
    return App(settings)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = example_app(tmp_path / "app.db")
    yield app
    app.close()


@pytest.fixture
def client(app: App) -> Client:
    return Client(app)
