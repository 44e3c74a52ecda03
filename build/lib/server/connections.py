"""Connections: uvicorn's HTTP protocol, with each request head bounded in size and in time,
and each request body in time.

uvicorn's httptools protocol buffers a request head without limit, and waits for one without
limit: a 100 MB header is read whole before the app can refuse it, and a connection that never
finishes its head (slowloris), or never starts one, stays open for good (its keep-alive timeout
runs only between requests). Nor does it bound the time a body takes. `charter serve` serves
with `LimitedProtocol` instead, which adds three bounds for a few attribute writes per request
(1 to 3% of its CPU, bench runner):

- size: a head still unfinished after more than `max_header_size` bytes is answered 431 and its
  connection closed. Counted per chunk read, not per header, once the head's first chunk is in;
  so the parser holds at most that limit plus one read.
- time: from the moment a connection is ready for a request head (it was accepted, or its last
  response was sent) the head must be complete within `header_timeout` seconds, or the
  connection is closed. One sweep a second closes the late ones for every connection (a timer
  per request would cost a microsecond each).
- body time: a request's body must be complete within `body_timeout` seconds of its head. The
  same sweep answers a late one 408 and closes its connection; the app, waiting for the rest of
  the body, is told the client went away. Every request in the scope carries `BODY_TIMED`, so
  that Charter's pipeline leaves the body to the server here, and times it itself under any
  other server.

A request the parser cannot read (a malformed head, an empty or doubled `Content-Length`, a
broken chunk) is answered 400 `MALFORMED_REQUEST` in the configured error format, where uvicorn
writes a plain-text 400: every answer the server gives is one the contract documents.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Set
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from server.errors import HeadersTooLarge, HttpError, MalformedRequest, RequestTimeout, render_error
from server.settings import Settings
from server.types import BODY_TIMED


@dataclass(frozen=True)
class Refusal:
    """An error answer the protocol sends itself, rendered once: the status line and headers,
    each ending in CRLF, but for the server's own (Date), which are added as it is sent; and
    the body. The connection is closed after it."""

    head: bytes
    body: bytes

    @classmethod
    def render(cls, error: HttpError, settings: Settings) -> Refusal:
        _, headers, body = render_error(error, error_format=settings.error_format)
        headers.pop("connection", None)
        lines = [b"HTTP/1.1 %d %s" % (error.status, HTTPStatus(error.status).phrase.encode())]
        lines += [f"{name}: {value}".encode("latin-1") for name, value in headers.items()]
        lines += [b"content-length: %d" % len(body), b"x-content-type-options: nosniff",
                  b"connection: close"]
        return cls(b"".join(line + b"\r\n" for line in lines), body)


@dataclass(frozen=True)
class ConnectionLimits:
    """The bounds on a request head and body, with their answers rendered once (picklable, for
    workers)."""

    max_size: int
    timeout: float
    """Seconds for a request head, from the connection being ready for one."""
    body_timeout: float
    """Seconds for a request body, from its head being complete."""
    too_large: Refusal
    too_slow: Refusal
    malformed: Refusal

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        """The limits `charter serve` applies: `max_header_size`, `header_timeout` and
        `body_timeout`.

        >>> ConnectionLimits.from_settings(Settings(max_header_size=100)).too_large.body  # doctest: +ELLIPSIS
        b'{"error":{"statusCode":431,...,"code":"REQUEST_HEADERS_TOO_LARGE"}}'
        >>> ConnectionLimits.from_settings(Settings()).too_slow.head.splitlines()[0]
        b'HTTP/1.1 408 Request Timeout'
        >>> ConnectionLimits.from_settings(Settings()).malformed.head.splitlines()[0]
        b'HTTP/1.1 400 Bad Request'
        """
        too_large = HeadersTooLarge(f"The request head is larger than the limit of "
                                    f"{settings.max_header_size} bytes (CHARTER_MAX_HEADER_SIZE).")
        return cls(settings.max_header_size, settings.header_timeout, settings.body_timeout,
                   Refusal.render(too_large, settings),
                   Refusal.render(RequestTimeout(settings.body_timeout), settings),
                   Refusal.render(MalformedRequest("The request is not valid HTTP/1.1."),
                                  settings))


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head and body bounded (see the module
    docstring).

    Give it to uvicorn with its limits: `http=functools.partial(LimitedProtocol,
    limits=ConnectionLimits.from_settings(settings))`.
    """

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *,
                 limits: ConnectionLimits) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.head_bytes: int | None = None
        """Bytes of the unfinished head read after its first chunk; None between heads."""
        self.heads_begun = 0
        self.awaiting_head_since: float | None = None
        """When the connection became ready for a request head; None once the head is in."""
        self.awaiting_body_since: float | None = None
        """When the last request head was complete; its body is awaited while the cycle says
        `more_body`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.awaiting_head_since = self.loop.time()
        _Sweep.of(self).start()

    def data_received(self, data: bytes) -> None:
        before, begun = self.head_bytes, self.heads_begun
        super().data_received(data)
        # The same head was unfinished before this chunk and still is: all of it is that head's
        # (unless the parser refused it: uvicorn has answered 400 and is closing).
        if (before is not None and self.head_bytes is not None and self.heads_begun == begun
                and not self.transport.is_closing()):
            self.head_bytes = before + len(data)
            if self.head_bytes > self.limits.max_size:
                self.head_bytes = self.awaiting_head_since = None
                self._refuse(self.limits.too_large)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[BODY_TIMED] = True  # type: ignore[literal-required]
        self.head_bytes = 0
        self.heads_begun += 1

    def on_headers_complete(self) -> None:
        self.head_bytes = self.awaiting_head_since = None
        self.awaiting_body_since = self.loop.time()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Unless a pipelined request has just started, the connection now waits for a head.
        if self.cycle.response_complete and not self.transport.is_closing():
            self.awaiting_head_since = self.loop.time()

    def head_overdue(self, since: float) -> bool:
        """Whether the connection has waited for a head since before `since`; a response in
        progress is never cut short (a pipelined head is awaited once it is sent)."""
        return (self.awaiting_head_since is not None and self.awaiting_head_since <= since
                and not self._responding())

    def body_overdue(self, since: float) -> bool:
        """Whether a request's body has been awaited since before `since` (uvicorn's cycle
        says whether all of it is in: no override per request needed)."""
        return (self.awaiting_body_since is not None and self.awaiting_body_since <= since
                and self.cycle is not None and self.cycle.more_body)

    def refuse_late_body(self) -> None:
        """408 and close."""
        self.awaiting_body_since = None
        self._refuse(self.limits.too_slow)

    def send_400_response(self, msg: str) -> None:
        """The parser refused the request (uvicorn has logged why): Charter's 400 and close,
        where uvicorn writes plain text."""
        self.head_bytes = self.awaiting_head_since = self.awaiting_body_since = None
        self._refuse(self.limits.malformed)

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _answerable(self) -> bool:
        """Whether an answer written now would be the only one to the request it concerns: the
        request whose body is being read, else the next one, whose head is. Otherwise a
        response is on its way (or a pipelined request waits its turn), and an answer would
        interleave with it."""
        cycle = self.cycle
        if cycle is None:
            return True
        if cycle.more_body:
            return not (cycle.response_started or self.pipeline)
        return cycle.response_complete

    def _refuse(self, refusal: Refusal) -> None:
        """Answer with `refusal` where that is the only answer, and close the connection: the
        request's app, if it runs, is told the client went away, and whatever it sends is
        dropped."""
        if self._answerable():
            own = b"".join(b"%s: %s\r\n" % header for header in self.server_state.default_headers)
            self.transport.write(refusal.head + own + b"\r\n" + refusal.body)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


class _Sweep:
    """Closes the connections of one server whose request head or body is overdue, every
    `interval` seconds while it has connections: one timer for all of them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: Set[Any],
                 limits: ConnectionLimits) -> None:
        self.loop = loop
        self.connections = connections
        self.timeout = limits.timeout
        self.body_timeout = limits.body_timeout
        self.interval = min(1.0, limits.timeout / 4, limits.body_timeout / 4)
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, protocol: LimitedProtocol) -> _Sweep:
        sweep = _SWEEPS.get(protocol.server_state)
        if sweep is None:
            sweep = _SWEEPS[protocol.server_state] = cls(
                protocol.loop, protocol.server_state.connections, protocol.limits)
        return sweep

    def start(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_later(self.interval, self._sweep)

    def _sweep(self) -> None:
        self.timer = None
        now = self.loop.time()
        head_since, body_since = now - self.timeout, now - self.body_timeout
        for connection in list(self.connections):
            if not isinstance(connection, LimitedProtocol):
                continue
            if connection.head_overdue(head_since):
                connection.transport.close()
            elif connection.body_overdue(body_since):
                connection.refuse_late_body()
        if self.connections:
            self.start()


_SWEEPS: weakref.WeakKeyDictionary[ServerState, _Sweep] = weakref.WeakKeyDictionary()
