"""The request sequence: find_route -> parse_params -> invoke -> send, and reject on any error."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from server.errors import (
    BadRequest,
    EndpointNotFound,
    HttpError,
    MethodNotAllowed,
    PayloadTooLarge,
    RequestTimeout,
    outcome,
    render_error,
)
from server.operations import Operation
from server.pages import Page
from server.parameters import RequestParts
from server.principals import set_current
from server.requests import Request, parse_headers
from server.responses import Response
from server.routing import Router
from server.settings import Settings
from server.types import BODY_TIMED, OUTCOME, PRINCIPAL, Receive, Scope, Send

_REQUEST_IDS = itertools.count(1)
_ID_PREFIX = os.urandom(4).hex()
_NO_COOKIES: Mapping[str, str] = MappingProxyType({})


def _new_request_id() -> str:
    return f"{_ID_PREFIX}-{next(_REQUEST_IDS)}"


class ClientDisconnected(Exception):
    """The client went away before the body was read; nothing is sent back."""


class _BodyDeadlines:
    """The deadlines of the body reads in progress, checked for all of them by one timer a second.

    A read costs two dict operations instead of a timer of its own (`asyncio.timeout` costs
    3 to 5 µs a request); a read ends up to a second after its deadline. A read past its
    deadline has its task cancelled, so the CancelledError lands where the read waits, and
    `expired` tells that cancellation from any other.
    """

    __slots__ = ("_expired", "_loop", "_reads", "_timer")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reads: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def start(self, seconds: float) -> asyncio.Task[Any] | None:
        """Watch the current task's read; None outside a task (nothing to cancel)."""
        task = asyncio.current_task()
        if task is None:
            return None
        loop = task.get_loop()
        if loop is not self._loop:  # a new event loop: tests run one per request
            self._loop, self._reads, self._expired, self._timer = loop, {}, set(), None
        self._reads[task] = loop.time() + seconds
        if self._timer is None:
            self._timer = loop.call_later(1.0, self._expire)
        return task

    def stop(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None:
            self._reads.pop(task, None)

    def expired(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether the read was cancelled for its deadline; if so, the cancellation is undone."""
        if task is None or task not in self._expired:
            return False
        self._expired.discard(task)
        task.uncancel()
        return True

    def _expire(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        for task, deadline in list(self._reads.items()):
            if deadline <= now:
                del self._reads[task]
                self._expired.add(task)
                task.cancel()
        self._timer = loop.call_later(1.0, self._expire) if self._reads else None


Fallback = Callable[[Scope, Receive, Send], Awaitable[bool]]


class Pipeline:
    """Serves requests for the compiled operations. Built once; `handle` runs per request."""

    def __init__(self, router: Router[Operation | Page], settings: Settings,
                 services: Mapping[str, Any],
                 fallback: Fallback | None = None) -> None:
        """`router` routes to the spec's operations and Charter's pages; `fallback` answers a
        GET or HEAD no route matched, if it can (static files): True when it sent a
        response."""
        self.router = router
        self.fallback = fallback
        self.settings = settings
        self.services = services
        self.max_body_size = settings.max_body_size
        self.body_timeout = settings.body_timeout
        self._deadlines = _BodyDeadlines()
        self.max_headers = settings.max_headers
        self.max_header_size = settings.max_header_size

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        request_id = ""
        operation: Operation | None = None
        try:
            headers = parse_headers(scope["headers"], self.max_headers, self.max_header_size)
            request_id = headers.get("x-request-id", "")[:128] or _new_request_id()
            request = Request(scope, b"", request_id, self.services, headers)
            raw_path = scope.get("raw_path")
            path = raw_path.decode("latin-1") if raw_path else scope["path"]
            try:
                target, path_params = self.router.find_route(method, path)
            except (EndpointNotFound, MethodNotAllowed):
                # Static files yield to every route.
                if (self.fallback is None or method not in ("GET", "HEAD")
                        or not await self.fallback(scope, receive, send)):
                    raise
                return
            if isinstance(target, Page):  # Charter's own: the published spec, the explorer
                await target.respond(scope).send(
                    send, head=method == "HEAD",
                    extra=[(b"x-request-id", request_id.encode("latin-1"))])
                return
            operation = target
            if operation.guard is not None:  # before the body is read or a parameter parsed
                request.principal = principal = await operation.guard.authenticate(request)
                if principal is not None:
                    scope[PRINCIPAL] = principal.id
            set_current(request.principal)  # what owned rows are scoped by
            if "content-length" in headers or "transfer-encoding" in headers:
                request.body = await (self.read_body(receive, headers) if BODY_TIMED in scope
                                      else self.read_body_in_time(receive, headers))
            parts = RequestParts(path_params, scope["query_string"].decode("latin-1"), headers,
                                 request.cookies if operation.reads_cookies else _NO_COOKIES)
            kwargs = operation.parse(parts, headers.get("content-type"), request.body)
            if operation.principal_keyword is not None:
                kwargs[operation.principal_keyword] = request.principal
            response = operation.render(await operation.invoke(request, kwargs))
        except ClientDisconnected:
            return
        except Exception as exc:
            request_id = request_id or _new_request_id()
            response = self.reject(exc, request_id, operation)
            if isinstance(exc, HttpError) and exc.status < 500:
                scope[OUTCOME] = outcome(exc)
        await response.send(send, head=method == "HEAD",
                            extra=[(b"x-request-id", request_id.encode("latin-1"))])

    def reject(self, exc: BaseException, request_id: str,
               operation: Operation | None = None) -> Response:
        """The error response, in the format the operation documents for its status, if any."""
        error_format: str = self.settings.error_format
        media_type: str | None = None
        if operation is not None and operation.error_formats:
            documented = operation.error_format(exc.status if isinstance(exc, HttpError) else 500)
            if documented is not None:
                error_format, media_type = documented
        status, headers, body = render_error(
            exc, error_format=error_format, debug=self.settings.debug, request_id=request_id,
            media_type=media_type)
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

    async def read_body_in_time(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        """`read_body`, refusing a body that takes longer than `body_timeout` seconds in all
        (408): one deadline for the whole body, so that sending it a byte at a time cannot
        stretch it. For servers that do not bound it themselves (see `BODY_TIMED`)."""
        reading = self._deadlines.start(self.body_timeout)
        try:
            return await self.read_body(receive, headers)
        except asyncio.CancelledError:
            if self._deadlines.expired(reading):
                raise RequestTimeout(self.body_timeout) from None
            raise
        finally:
            self._deadlines.stop(reading)
