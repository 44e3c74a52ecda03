"""The ASGI middleware stack: one visible, ordered list, folded once at start-up.

Charter's own entries come first: the access log (when on), then CORS (when on). The user's
pure-ASGI middleware follow, in the order given, the first outermost: each is a callable that
takes the app it wraps and returns an ASGI app (a middleware class, or `functools.partial` of
one with its options). Everything Charter answers, errors included, passes through all of them;
so do the mounted apps.

>>> class Tagged:                                                # a pure-ASGI middleware
...     def __init__(self, app):
...         self.app = app
...     async def __call__(self, scope, receive, send):
...         await self.app(scope, receive, send)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from server.types import ASGIApp

Middleware = Callable[[ASGIApp], ASGIApp]


@dataclass(frozen=True)
class Entry:
    """One layer of the stack: its name (for `App.middleware` and `charter check`), and what
    wraps the app inside it."""

    name: str
    wrap: Middleware


def entry(middleware: Any) -> Entry:
    """A user's middleware as a stack entry, named after its class or function."""
    if not callable(middleware):
        raise ValueError(f"middleware {middleware!r} is not callable: it takes the app it wraps")
    target = getattr(middleware, "func", middleware)  # functools.partial
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    return Entry(name, middleware)


def fold(app: ASGIApp, entries: Sequence[Entry]) -> ASGIApp:
    """`app` wrapped by every entry, the first outermost."""
    for layer in reversed(entries):
        app = layer.wrap(app)
    return app
