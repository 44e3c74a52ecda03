"""What the composition tests share: an app over the pipeline fixture, a pure-ASGI middleware
that marks responses, an ASGI app with a lifespan of its own, and a WSGI app
(`test_middleware.py`, `test_lifecycle.py`, `test_mounts.py`, and the handlers package's parts
in `test_app.py`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import App
from server.settings import Settings
from server.types import ASGIApp, Message, Receive, Scope, Send

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(**parts: Any) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", allow_unbound=True), **parts)


def handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


class Layer:
    """A pure-ASGI middleware that appends its name to `x-layers` on the way out."""

    def __init__(self, app: ASGIApp, name: str = "layer") -> None:
        self.app, self.name = app, name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k != b"x-layers"]
                seen = dict(message["headers"]).get(b"x-layers", b"")
                value = (seen + b"," if seen else b"") + self.name.encode()
                message["headers"] = [*headers, (b"x-layers", value)]
            await send(message)
        await self.app(scope, receive, tagged)


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]


class LifespanApp:
    """A mounted ASGI app with a lifespan of its own."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.log.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body",
                    "body": f"{scope['root_path']} {scope['path']}".encode()})
