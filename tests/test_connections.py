"""The HTTP protocol `charter serve` runs: each request head bounded in size and in time, and
each body in time.

The protocol is driven directly, with bytes in and a transport that records bytes out, so that
chunk boundaries are exact (tests/test_hostile_http.py sends the same attacks to a live server).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from server.connections import ConnectionLimits, LimitedProtocol
from server.settings import Settings
from server.types import BODY_TIMED

LIMIT = 1000


class Transport(asyncio.Transport):
    """Records what the protocol writes and whether it closed the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def answer(scope: Any, receive: Any, send: Any) -> None:
    """A tiny ASGI app: reads the whole body, answers its length; `/slow` takes 0.5 s."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(0.5)
    body = json.dumps({"path": scope["path"], "size": size}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def serve(test: Callable[[LimitedProtocol, Transport], Awaitable[None]], *,
          timeout: float = 10.0, body_timeout: float = 30.0, max_size: int = LIMIT) -> None:
    async def run() -> None:
        config = Config(answer, timeout_keep_alive=60, log_level="warning")
        config.load()
        limits = ConnectionLimits.from_settings(Settings(max_header_size=max_size))
        limits = ConnectionLimits(max_size, timeout, body_timeout, limits.too_large,
                                  limits.too_slow, limits.malformed)
        protocol = LimitedProtocol(config, ServerState(), {}, limits=limits)
        transport = Transport()
        protocol.connection_made(transport)
        try:
            await test(protocol, transport)
        finally:
            protocol.connection_lost(None)

    asyncio.run(run())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def answered(transport: Transport, count: int = 1) -> None:
    for _ in range(500):
        if len(answers(transport)) >= count:
            return
        await asyncio.sleep(0.01)


def head(path: str = "/", extra: bytes = b"", body: bytes = b"") -> bytes:
    length = b"content-length: %d\r\n" % len(body) if body else b""
    return b"POST " + path.encode() + b" HTTP/1.1\r\nhost: x\r\n" + length + extra + b"\r\n" + body


def answers(transport: Transport) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", transport.written)]


def test_a_head_that_grows_past_the_limit_is_431_and_closed() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(b"GET / HTTP/1.1\r\nhost: x\r\nx-big: ")
        for _ in range(10):
            if transport.closed:
                break
            protocol.data_received(b"a" * 300)
        assert transport.closed
        status, _, rest = transport.written.partition(b"\r\n")
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
        assert b"connection: close\r\n" in rest and b"x-content-type-options: nosniff\r\n" in rest
        assert json.loads(rest.partition(b"\r\n\r\n")[2]) == {"error": {
            "statusCode": 431, "name": "RequestHeaderFieldsTooLargeError",
            "message": f"The request head is larger than the limit of {LIMIT} bytes "
                       "(CHARTER_MAX_HEADER_SIZE).",
            "code": "REQUEST_HEADERS_TOO_LARGE"}}

    serve(test)


def test_many_small_headers_past_the_limit_are_431() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(b"GET / HTTP/1.1\r\n")
        for _ in range(200):
            if transport.closed:
                break
            protocol.data_received(b"x-a: b\r\n")
        assert transport.closed
        assert answers(transport) == [431]

    serve(test)


def test_a_head_under_the_limit_in_many_chunks_is_served() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        data = head("/a", extra=b"x-a: " + b"b" * 800 + b"\r\n")
        for index in range(len(data)):
            protocol.data_received(data[index:index + 1])
        await settle()
        assert answers(transport) == [200]
        assert not transport.closed

    serve(test)


def test_bodies_and_pipelined_requests_do_not_count_as_head() -> None:
    # A large body arrives with its head, the next request's head begins in the same chunk and
    # ends in the next: no byte of the body may count towards that head.
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        first = head("/one", body=b"x" * 50_000)
        second = head("/two", body=b"y" * 10)
        protocol.data_received(first + second[:20])
        protocol.data_received(second[20:])
        await answered(transport, 2)
        assert answers(transport) == [200, 200]
        assert b'{"path": "/one", "size": 50000}' in transport.written
        assert b'{"path": "/two", "size": 10}' in transport.written

    serve(test)


def test_a_connection_that_sends_nothing_is_closed() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        await asyncio.sleep(0.3)
        assert transport.closed and transport.written == b""

    serve(test, timeout=0.1)


def test_an_unfinished_head_is_closed_however_it_trickles() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(b"GET / HTTP/1.1\r\n")
        for _ in range(20):
            if transport.closed:
                break
            protocol.data_received(b"x-a: b\r\n")  # a header every 30 ms does not reset it
            await asyncio.sleep(0.03)
        assert transport.closed and transport.written == b""

    serve(test, timeout=0.1)


def test_the_next_head_is_awaited_from_the_last_response() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        await asyncio.sleep(0.4)
        protocol.data_received(head("/a"))
        await answered(transport)
        await asyncio.sleep(0.4)  # 0.8 s since the connection opened: the clock restarted
        assert not transport.closed
        protocol.data_received(b"GET / HTTP/1.1\r\n")  # then a head that never ends
        await asyncio.sleep(0.8)
        assert transport.closed

    serve(test, timeout=0.6)


def test_a_slow_response_is_not_cut_short() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(head("/slow"))
        await answered(transport)  # the handler takes 0.5 s, five times the head timeout
        assert answers(transport) == [200]
        assert not transport.closed

    serve(test, timeout=0.1)


def test_the_limits_come_from_the_settings() -> None:
    limits = ConnectionLimits.from_settings(Settings(max_header_size=4096, header_timeout=7,
                                               error_format="problem"))
    assert (limits.max_size, limits.timeout, limits.body_timeout) == (4096, 7, 30)
    assert b"content-type: application/problem+json\r\n" in limits.too_large.head
    assert json.loads(limits.too_large.body)["status"] == 431
    assert json.loads(limits.too_slow.body)["status"] == 408


def test_a_trickled_body_is_408_and_closed() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(head("/a", body=b"x" * 100)[:-90])
        for _ in range(40):  # a byte every 25 ms: the deadline is the whole body's
            if transport.closed:
                break
            protocol.data_received(b"x")
            await asyncio.sleep(0.025)
        assert transport.closed
        status, _, rest = transport.written.partition(b"\r\n")
        assert status == b"HTTP/1.1 408 Request Timeout"
        assert b"connection: close\r\n" in rest and b"x-content-type-options: nosniff\r\n" in rest
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"] == {
            "statusCode": 408, "name": "RequestTimeoutError",
            "message": "The request body did not arrive within 30 seconds (CHARTER_BODY_TIMEOUT).",
            "code": "REQUEST_TIMEOUT"}

    serve(test, body_timeout=0.3)


def test_a_body_in_time_is_served_and_the_next_one_timed_afresh() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        data = head("/a", body=b"x" * 10)
        protocol.data_received(data[:-5])
        await asyncio.sleep(0.2)
        protocol.data_received(data[-5:])
        await answered(transport)
        await asyncio.sleep(0.3)  # longer than the body timeout, between requests
        protocol.data_received(head("/b", body=b"y" * 10))
        await answered(transport, 2)
        assert answers(transport) == [200, 200]
        assert not transport.closed

    serve(test, body_timeout=0.3)


def test_a_late_body_after_the_response_began_is_closed_without_an_answer() -> None:
    # The app answered without reading the body (as a 404 does): a 408 would interleave.
    async def early(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await asyncio.sleep(1)

    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.app = early
        protocol.data_received(head("/a", body=b"x" * 100)[:-50])
        await asyncio.sleep(0.6)
        assert transport.closed
        assert answers(transport) == [404]

    serve(test, body_timeout=0.2)


def test_every_request_says_that_the_server_times_its_body() -> None:
    seen: list[Any] = []

    async def record(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope.get(BODY_TIMED))
        await answer(scope, receive, send)

    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.app = record
        protocol.data_received(head("/a") + head("/b", body=b"z"))
        await answered(transport, 2)
        assert seen == [True, True]

    serve(test)


def body_of(transport: Transport) -> Any:
    return json.loads(transport.written.rpartition(b"\r\n\r\n")[2])


def test_a_request_the_parser_refuses_is_charters_400_and_closed() -> None:
    # Schemathesis found this one: an empty Content-Length got uvicorn's text/plain 400.
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(b"DELETE /a HTTP/1.1\r\nhost: x\r\ncontent-length: \r\n\r\n")
        assert transport.closed
        assert answers(transport) == [400]
        assert b"content-type: application/json\r\n" in transport.written
        assert body_of(transport) == {"error": {
            "statusCode": 400, "name": "BadRequestError",
            "message": "The request is not valid HTTP/1.1.", "code": "MALFORMED_REQUEST"}}

    serve(test)


def test_a_broken_chunk_before_the_app_answers_is_400_and_the_app_told() -> None:
    told: list[Any] = []

    async def reader(scope: Any, receive: Any, send: Any) -> None:
        while (message := await receive())["type"] == "http.request":
            if not message.get("more_body"):
                break
        told.append(message["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.app = reader
        protocol.data_received(b"POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
                               b"\r\n3\r\nabc\r\n")
        await settle()
        protocol.data_received(b"zz\r\nnot a chunk\r\n")
        await settle()
        assert transport.closed
        assert answers(transport) == [400]
        assert told == ["http.disconnect"]
        assert b"late" not in transport.written

    serve(test)


def test_garbage_after_a_request_whose_answer_is_on_its_way_only_closes() -> None:
    async def test(protocol: LimitedProtocol, transport: Transport) -> None:
        protocol.data_received(head("/slow") + b"\x00\x01 nonsense\r\n\r\n")
        await asyncio.sleep(0.7)
        assert transport.closed
        assert answers(transport) == []

    serve(test)
