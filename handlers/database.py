"""The todo store: one SQLAlchemy engine, the table, and a session per unit of work."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from handlers.models import Base


class Database:
    """Opens the database at `url` and creates the tables the models need.

    >>> from handlers.models import Todo
    >>> db = Database("sqlite://")
    >>> with db.session() as session:
    ...     session.get(Todo, 1) is None
    True
    """

    def __init__(self, url: str) -> None:
        _create_sqlite_folder(url)
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        # Handlers turn rows into JSON after the commit; keep the loaded values for that.
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()


def _create_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder (`sqlite:///data/app.db` needs `data/`)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):  # a URI filename (`?uri=true`); leave it to SQLite
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
