"""Start and stop: LoopBack's life-cycle observers, run by the ASGI lifespan.

An observer is any object with a `start()` and/or a `stop()` method, sync or async: a client or
a pool that opens and closes with the server. They start in the order given and stop in the
reverse order. Mounted ASGI apps get the lifespan events too, after the observers start and
before they stop, each through the ASGI lifespan protocol.

A failing start stops the server from starting (`lifespan.startup.failed`, naming the
observer); the observers already started are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from server.types import ASGIApp, Message

logger = logging.getLogger("charter")


class Lifecycle:
    """The observers and the mounted ASGI apps of one App, started and stopped together."""

    def __init__(self, observers: Sequence[Any] = (), apps: Iterable[ASGIApp] = ()) -> None:
        for observer in observers:
            if not (callable(getattr(observer, "start", None))
                    or callable(getattr(observer, "stop", None))):
                raise ValueError(f"the observer {observer!r} has neither start() nor stop()")
        self.observers = list(observers)
        self._apps = [Lifespan(app) for app in apps]
        self._started: list[Any] = []

    async def start(self) -> None:
        """Start every observer, then every mounted app; raises `RuntimeError` naming the first
        that fails, once those started are stopped again."""
        for part in [*self.observers, *self._apps]:
            try:
                await _call(getattr(part, "start", None))
            except Exception as exc:
                await self.stop()
                raise RuntimeError(f"{_name(part)} failed to start: "
                                   f"{type(exc).__name__}: {exc}") from exc
            self._started.append(part)

    async def stop(self) -> None:
        """Stop what started, in reverse; a failure is logged, and the others still stop."""
        while self._started:
            part = self._started.pop()
            try:
                await _call(getattr(part, "stop", None))
            except Exception:
                logger.exception("%s failed to stop", _name(part))


async def _call(method: Callable[[], Any] | None) -> None:
    if method is None:
        return
    result = method()
    if inspect.isawaitable(result):
        await result


def _name(part: Any) -> str:
    if isinstance(part, Lifespan):
        return f"the mounted app {part.app!r}"
    return f"the observer {type(part).__name__}"


class Lifespan:
    """One ASGI app's lifespan, driven as a server drives it: `await start()`, then later
    `await stop()`, in one event loop. An app that does not speak lifespan has none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] == "lifespan.startup.failed":
            raise RuntimeError(answer.get("message", "startup failed"))

    async def stop(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        answer = await self._outbox.get()
        if answer["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(answer.get("message", "shutdown failed"))

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": {}}
        # An app that does not speak lifespan may raise (ASGI says so): then it has none.
        with contextlib.suppress(Exception):
            await self.app(scope, self._inbox.get, self._outbox.put)
        # Whatever it did not answer, it will not: a waiting start or stop goes on.
        await self._outbox.put({"type": "lifespan.startup.complete"})
        await self._outbox.put({"type": "lifespan.shutdown.complete"})
