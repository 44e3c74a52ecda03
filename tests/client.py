"""A synchronous test client over ASGI that runs the app as a server does: nothing listens on a
port, but the app's lifespan starts on `with` and shuts down at its end, and the requests in
between share one event loop."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import httpx

from server.lifecycle import Lifespan
from server.types import ASGIApp


class Client:
    """`with Client(app) as client: client.get("/todos")` returns an `httpx.Response`.

    Entering runs the app's start-up (`RuntimeError` if it fails); leaving runs its shutdown,
    which for an `App` closes its services.
    """

    def __init__(self, app: ASGIApp, base_url: str = "http://test") -> None:
        self.app = app
        self.base_url = base_url
        self._runner: asyncio.Runner | None = None
        self._lifespan = Lifespan(app)

    def __enter__(self) -> Client:
        runner = asyncio.Runner()
        try:
            runner.run(self._lifespan.start())
        except BaseException:
            runner.close()
            raise
        self._runner = runner
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                runner.run(self._lifespan.stop())
            finally:
                runner.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._runner is None:
            raise RuntimeError("a Client serves between the app's start-up and its shutdown: "
                               "use it as `with Client(app) as client:`")

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
                return await client.request(method, url, **kwargs)

        return self._runner.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)
