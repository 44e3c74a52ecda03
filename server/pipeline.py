"""The request sequence: find_route -> parse_params -> invoke -> send, and reject on any error."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from typing import Any

from server.errors import (
    BadRequest,
    EndpointNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    render_error,
)
from server.operations import Operation
from server.parameters import RequestParts
from server.requests import Request, parse_headers
from server.responses import Response
from server.routing import Router
from server.settings import Settings
from server.types import Receive, Scope, Send

_REQUEST_IDS = itertools.count(1)
_ID_PREFIX = os.urandom(4).hex()


class ClientDisconnected(Exception):
    """The client went away before the body was read; nothing is sent back."""


class Pipeline:
    """Serves requests for the compiled operations. Built once; `handle` runs per request."""

    def __init__(self, router: Router[Operation], settings: Settings,
                 services: Mapping[str, Any],
                 pages: Callable[[Scope], Response | None] = lambda scope: None) -> None:
        self.router = router
        self.pages = pages
        self.settings = settings
        self.services = services
        self.max_body_size = settings.max_body_size

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        headers = parse_headers(scope["headers"])
        request_id = (headers.get("x-request-id", "")[:128]
                      or f"{_ID_PREFIX}-{next(_REQUEST_IDS)}")
        request = Request(scope, b"", request_id, self.services, headers)
        try:
            try:
                operation, path_params = self.router.find_route(method, path)
            except (EndpointNotFound, MethodNotAllowed):
                # Charter's own pages (the published spec, the explorer) yield to the spec's.
                page = self.pages(scope) if method in ("GET", "HEAD") else None
                if page is None:
                    raise
                await page.send(send, head=method == "HEAD")
                return
            if "content-length" in headers or "transfer-encoding" in headers:
                request.body = await self.read_body(receive, headers)
            parts = RequestParts(path_params, scope["query_string"].decode("latin-1"), headers,
                                 request.cookies if "cookie" in headers else {})
            kwargs = operation.parse(parts, headers.get("content-type"), request.body)
            response = operation.render(await operation.invoke(request, kwargs))
        except ClientDisconnected:
            return
        except Exception as exc:
            response = self.reject(exc, request_id)
        await response.send(send, head=method == "HEAD",
                            extra=[(b"x-request-id", request_id.encode("latin-1"))])

    def reject(self, exc: BaseException, request_id: str) -> Response:
        status, headers, body = render_error(
            exc, error_format=self.settings.error_format, debug=self.settings.debug,
            request_id=request_id)
        headers.pop("x-request-id", None)  # `handle` adds it to every response
        return Response.raw(status, headers, body)

    async def read_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        """Read the whole body, refusing more than the configured limit (413) as it arrives."""
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise BadRequest(f"Invalid Content-Length header: {length!r}.")
            if int(length) > self.max_body_size:
                raise PayloadTooLarge(self.max_body_size)
            if length == "0":
                return b""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                raise PayloadTooLarge(self.max_body_size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
