"""The access log: one line per request on the `charter.access` logger.

    GET /todos/1 200 0.4ms 5f3a9c1e-17

Method, path (as sent, percent-encoded, without the query string: query strings can carry keys),
status, time to the end of the response, and the request id (`X-Request-Id`, as the error log
names it). `App` adds it only where that logger is on at start-up (`charter serve` turns it on,
unless `CHARTER_ACCESS_LOG` is off): elsewhere it costs nothing.
"""

from __future__ import annotations

import logging
import time

from server.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("charter.access")


class AccessLog:
    """ASGI middleware that logs each HTTP request once its response is sent, or abandoned."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def wanted() -> bool:
        """Whether the `charter.access` logger keeps INFO lines (e.g. `charter serve` set it up)."""
        return logger.isEnabledFor(logging.INFO)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, request_id = 0, "-"

        async def logged_send(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in reversed(message.get("headers", ())):
                    if name == b"x-request-id":
                        request_id = value.decode("ascii", "backslashreplace")
                        break
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            path = scope.get("raw_path") or scope["path"].encode("utf-8")
            logger.info("%s %s %d %.1fms %s", scope["method"],
                        path.decode("ascii", "backslashreplace"), status,
                        (time.perf_counter() - started) * 1000, request_id)
