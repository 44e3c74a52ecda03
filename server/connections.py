"""Connections: uvicorn's HTTP protocol, with each request head bounded in size and in time.

uvicorn's httptools protocol buffers a request head without limit, and waits for one without
limit: a 100 MB header is read whole before the app can refuse it, and a connection that never
finishes its head (slowloris), or never starts one, stays open for good (its keep-alive timeout
runs only between requests). `charter serve` serves with `HeadLimitedProtocol` instead, which
adds two bounds for a few attribute writes per request (1 to 3% of its CPU, bench runner):

- size: a head still unfinished after more than `max_header_size` bytes is answered 431 and its
  connection closed. Counted per chunk read, not per header, once the head's first chunk is in;
  so the parser holds at most that limit plus one read.
- time: from the moment a connection is ready for a request head (it was accepted, or its last
  response was sent) the head must be complete within `header_timeout` seconds, or the
  connection is closed. One sweep a second closes the late ones for every connection (a timer
  per request would cost a microsecond each). Bodies have their own deadline in the pipeline
  (`body_timeout`, 408).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from server.errors import HeadersTooLarge, render_error
from server.settings import Settings


@dataclass(frozen=True)
class HeadLimits:
    """The bounds on a request head, with the 431 answer rendered once (picklable, for workers)."""

    max_size: int
    timeout: float
    refusal_head: bytes
    """The 431's status line and headers, each ending in CRLF, but for the server's own (Date),
    which are added as it is sent."""
    refusal_body: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> HeadLimits:
        """The limits `charter serve` applies: `max_header_size` and `header_timeout`.

        >>> HeadLimits.from_settings(Settings(max_header_size=100)).refusal_body  # doctest: +ELLIPSIS
        b'{"error":{"statusCode":431,...,"code":"REQUEST_HEADERS_TOO_LARGE"}}'
        """
        error = HeadersTooLarge(f"The request head is larger than the limit of "
                                f"{settings.max_header_size} bytes (CHARTER_MAX_HEADER_SIZE).")
        _, headers, body = render_error(error, error_format=settings.error_format)
        lines = [b"HTTP/1.1 431 Request Header Fields Too Large"]
        lines += [f"{name}: {value}".encode("latin-1") for name, value in headers.items()]
        lines += [b"content-length: %d" % len(body), b"x-content-type-options: nosniff",
                  b"connection: close"]
        return cls(settings.max_header_size, settings.header_timeout,
                   b"".join(line + b"\r\n" for line in lines), body)


class HeadLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded (see the module docstring).

    Give it to uvicorn with its limits: `http=functools.partial(HeadLimitedProtocol,
    limits=HeadLimits.from_settings(settings))`.
    """

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *, limits: HeadLimits) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.head_bytes: int | None = None
        """Bytes of the unfinished head read after its first chunk; None between heads."""
        self.heads_begun = 0
        self.awaiting_head_since: float | None = None
        """When the connection became ready for a request head; None once the head is in."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.awaiting_head_since = self.loop.time()
        _HeadSweep.of(self).start()

    def data_received(self, data: bytes) -> None:
        before, begun = self.head_bytes, self.heads_begun
        super().data_received(data)
        # The same head was unfinished before this chunk and still is: all of it is that head's
        # (unless the parser refused it: uvicorn has answered 400 and is closing).
        if (before is not None and self.head_bytes is not None and self.heads_begun == begun
                and not self.transport.is_closing()):
            self.head_bytes = before + len(data)
            if self.head_bytes > self.limits.max_size:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.heads_begun += 1

    def on_headers_complete(self) -> None:
        self.head_bytes = self.awaiting_head_since = None
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

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse_head(self) -> None:
        self.head_bytes = self.awaiting_head_since = None
        if not self._responding():  # else closing is all there is to do: the 431 would interleave
            own = b"".join(b"%s: %s\r\n" % header for header in self.server_state.default_headers)
            self.transport.write(self.limits.refusal_head + own + b"\r\n" + self.limits.refusal_body)
        self.transport.close()


class _HeadSweep:
    """Closes the connections of one server whose request head is overdue, every `interval`
    seconds while it has connections: one timer for all of them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: Set[Any],
                 timeout: float) -> None:
        self.loop = loop
        self.connections = connections
        self.timeout = timeout
        self.interval = min(1.0, timeout / 4)
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, protocol: HeadLimitedProtocol) -> _HeadSweep:
        sweep = _SWEEPS.get(protocol.server_state)
        if sweep is None:
            sweep = _SWEEPS[protocol.server_state] = cls(
                protocol.loop, protocol.server_state.connections, protocol.limits.timeout)
        return sweep

    def start(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_later(self.interval, self._sweep)

    def _sweep(self) -> None:
        self.timer = None
        since = self.loop.time() - self.timeout
        for connection in list(self.connections):
            if isinstance(connection, HeadLimitedProtocol) and connection.head_overdue(since):
                connection.transport.close()
        if self.connections:
            self.start()


_SWEEPS: weakref.WeakKeyDictionary[ServerState, _HeadSweep] = weakref.WeakKeyDictionary()
