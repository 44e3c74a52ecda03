"""The library's fixtures (`tests/data/library.py`): a module that defines its own `database`
(most do, for their own tables) uses that one instead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.data.database import Database
from server.data.repository import Repositories
from tests.data.library import ENTITIES, METADATA
from tests.databases import DIALECTS, database_with, empty


@pytest.fixture(scope="module", params=DIALECTS)
def database(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database_with(request.param, tmp_path_factory.mktemp("relations"), METADATA) as db:
        yield db


@pytest.fixture
def repositories(database: Database) -> Repositories:
    empty(database, METADATA)
    return Repositories(ENTITIES, METADATA.tables, database)
