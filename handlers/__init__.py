"""The example application: LoopBack 4's todo example, as handlers for `spec/`.

The server finds `TodoController` here by the spec's operationIds (`TodoController.create`, ...)
and injects the services below into its constructor by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.database import Database

if TYPE_CHECKING:
    from server.settings import Settings


def services(settings: Settings) -> dict[str, object]:
    """What handler constructors may ask for by name; the server closes them at shutdown."""
    return {"db": Database(settings.database_url)}
