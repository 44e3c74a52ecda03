"""Other apps at path prefixes, and a folder of static files (LoopBack's `mountExpressRouter` and
`app.static()`).

A mounted app owns its prefix: `/legacy` and everything under it go to it, before the spec's
routes are consulted. An ASGI app gets the scope with `root_path` extended by the prefix (its
`path` stays whole, as the ASGI spec says); a WSGI app is served through a2wsgi. Mounted ASGI
apps get the lifespan events too (`lifecycle.Lifecycle`).

Static files are consulted only when no route of the spec matched a GET or HEAD (LoopBack's rule,
so that they cost a spec request nothing): Starlette's `StaticFiles` serves them, with `HEAD`,
`ETag`/`If-None-Match`, `Last-Modified` and ranges. A file that is not there is the usual 404,
in the configured error format.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.types import ASGIApp, Receive, Scope, Send


class Mounts:
    """The mounted apps, by prefix, the longest prefix first.

    >>> def wsgi(environ, start_response): ...
    >>> Mounts({"/legacy/": wsgi}).prefixes
    ['/legacy']
    """

    def __init__(self, mounts: Mapping[str, Any]) -> None:
        entries: list[tuple[str, ASGIApp, bool]] = []
        for prefix, app in mounts.items():
            normal = "/" + prefix.strip("/")
            if normal == "/":
                raise ValueError(f"a mount needs a path prefix, not {prefix!r}: the spec's "
                                 "routes are at the root")
            if not callable(app):
                raise ValueError(f"the app mounted at {prefix!r} is not an ASGI or WSGI app")
            asgi = is_asgi(app)
            entries.append((normal, app if asgi else _wsgi(app), asgi))
        self._entries = sorted(entries, key=lambda entry: -len(entry[0]))
        self.prefixes = [prefix for prefix, _, _ in self._entries]

    @property
    def asgi_apps(self) -> list[ASGIApp]:
        """The mounted ASGI apps (not the WSGI ones): those that take lifespan events."""
        return [app for _, app, asgi in self._entries if asgi]

    def find(self, scope: Scope) -> tuple[str, ASGIApp] | None:
        path: str = scope["path"]
        for prefix, app, _ in self._entries:
            if path == prefix or path.startswith(prefix + "/"):
                return prefix, app
        return None

    async def dispatch(self, prefix: str, app: ASGIApp, scope: Scope, receive: Receive,
                       send: Send) -> None:
        scope = {**scope, "root_path": scope.get("root_path", "") + prefix}
        await app(scope, receive, send)


def is_asgi(app: Any) -> bool:
    """An ASGI app is a coroutine function, or an object whose `__call__` is one; a WSGI app's
    is a plain function."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else app.__call__
    return inspect.iscoroutinefunction(call)


def _wsgi(app: Any) -> ASGIApp:
    from a2wsgi import WSGIMiddleware

    adapted: ASGIApp = WSGIMiddleware(app)  # type: ignore[assignment]  # a2wsgi's own ASGI types
    return adapted


class StaticFolder:
    """A folder's files, at the root: `index.html` for a folder (`/` too)."""

    def __init__(self, folder: Path | str) -> None:
        from starlette.staticfiles import StaticFiles

        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"the static folder {str(folder)!r} is not a folder")
        self.folder = folder
        self._files = StaticFiles(directory=folder, html=True)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Send the file the path names, if there is one; False (nothing sent) otherwise."""
        from starlette.exceptions import HTTPException

        try:
            response = await self._files.get_response(self._files.get_path(scope), scope)
        except HTTPException:
            return False
        if response.status_code == 404:  # `html=True` found no file, nor a 404.html
            return False
        await response(scope, receive, send)
        return True
