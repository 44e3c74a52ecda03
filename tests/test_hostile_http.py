"""Hostile HTTP, one attack per test, each with the answer that must hold instead.

In process (the app under any ASGI server):

1. 400,000 repeated header lines (2 MB): joined by string concatenation, in quadratic time, they
   blocked the worker for 8.3 s. Now more than CHARTER_MAX_HEADERS (100) lines is a 431 before
   anything is decoded, and repeats are joined in linear time anyway.
2. A 10 MB Cookie header: parsed on every request (0.6 to 1.4 s). Now more than
   CHARTER_MAX_HEADER_SIZE (32 KiB) of headers is a 431, and the Cookie header is parsed only
   for operations that declare a cookie parameter.
3. A body trickled a byte at a time, or never sent after its headers: read for as long as the
   client liked. Now the whole body has one deadline, CHARTER_BODY_TIMEOUT (30 s): a 408, and
   the connection is closed.
4. `?filter=%FF`, `?name=%C3%28`, `/x/%FF`: escapes that are not UTF-8 silently became U+FFFD.
   Now a 400 naming the parameter.
5. Every response, errors and Charter's own pages included, says `X-Content-Type-Options:
   nosniff`; the explorer's page has a Content-Security-Policy (tests/test_explorer.py, and
   tests/api/test_explorer_browser.py in Chromium).

Against a live `charter serve` (uvicorn with `server.connections.LimitedProtocol`), while a
probe GET is timed:

6. The same 2 MB of repeated headers, a 10 MB cookie and a 100 MB header: uvicorn buffered them
   whole (the 100 MB one was accepted). Now a head past CHARTER_MAX_HEADER_SIZE is answered 431
   (or, the client still sending, its connection reset) after a few MB at most.
7. 60 connections that sent half a head (slowloris), or nothing: open for good, since uvicorn's
   keep-alive timeout runs only between requests. Now closed CHARTER_HEADER_TIMEOUT (10 s)
   after they became ready for a head.
8. 60 connections that sent headers only, and a trickled body: 408 in about body_timeout.
9. SIGTERM waited without limit for requests in progress. Now uvicorn stops listening at once
   (new connections are refused) and cancels what is left after CHARTER_GRACEFUL_TIMEOUT (20 s).
10. Connections beyond CHARTER_MAX_CONNECTIONS (1000 a worker) are answered 503 by uvicorn.
11. The server no longer announces itself (`server: uvicorn`).
"""

from __future__ import annotations

import asyncio
import json
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import server.requests
from server.app import App
from server.settings import Settings
from server.types import BODY_TIMED, Message
from tests.client import Client
from tests.live import LiveServer, Probe, live_server

FIXTURES = Path(__file__).parent / "fixtures"
TRACE = "0b7e2a3c-1f52-4c1e-9f0e-7d7a9c1b2e3f"
"""Seconds: the worst latency the probe may see during an attack."""

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


def make_app(spec: str = "pipeline", **overrides: Any) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / spec,
                                 handlers=f"{spec}_handlers", allow_unbound=True, **overrides))


def error(status: int, name: str, message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"statusCode": status, "name": name, "message": message, "code": code,
                      **extra}}


async def call(app: App, scope: dict[str, Any], chunks: list[tuple[float, bytes]] | None = None,
               ) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request straight through the ASGI app; `chunks` are (delay, bytes) of the body, the
    last one sent with more_body=False, then the client waits without sending anything."""
    pending = list(chunks if chunks is not None else [(0.0, b"")])
    sent: list[Message] = []

    async def receive() -> Message:
        if not pending:
            await asyncio.sleep(3600)
        delay, chunk = pending.pop(0)
        await asyncio.sleep(delay)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    base = {"type": "http", "method": "GET", "path": "/", "raw_path": None, "query_string": b"",
            "headers": [], "scheme": "http", "server": ("test", 80), "client": ("10.0.0.9", 1),
            "root_path": ""}
    await app({**base, **scope}, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


# 1, 2: headers -------------------------------------------------------------------------------


def test_400k_repeated_headers_are_431_at_once() -> None:
    app = make_app()
    headers = [(b"host", b"test")] + [(b"x-a", b"b")] * 400_000
    started = time.perf_counter()
    status, sent, body = asyncio.run(call(app, {"path": "/items", "headers": headers}))
    assert time.perf_counter() - started < 0.5
    assert status == 431
    assert json.loads(body) == error(
        431, "RequestHeaderFieldsTooLargeError",
        "The request has 400001 header lines, more than the limit of 100 (CHARTER_MAX_HEADERS).",
        "REQUEST_HEADERS_TOO_LARGE")
    assert sent[b"x-request-id"]  # generated: the request's own was never read


def test_a_10mb_cookie_is_431() -> None:
    with Client(make_app()) as client:
        started = time.perf_counter()
        response = client.get("/items", headers={"cookie": "session=" + "a" * 10_000_000})
        assert time.perf_counter() - started < 2.0
        assert response.status_code == 431
        assert response.json() == error(
            431, "RequestHeaderFieldsTooLargeError",
            "The request's headers are larger than the limit of 32768 bytes "
            "(CHARTER_MAX_HEADER_SIZE).", "REQUEST_HEADERS_TOO_LARGE")


def test_the_header_limits_are_settings() -> None:
    with Client(make_app(max_headers=3, max_header_size=100)) as client:
        # httpx adds host, accept, accept-encoding, connection and user-agent: 5 lines.
        assert client.get("/items").json()["error"]["message"] == (
            "The request has 5 header lines, more than the limit of 3 (CHARTER_MAX_HEADERS).")
    with Client(make_app(max_headers=10, max_header_size=100_000)) as roomy:
        assert roomy.get("/items", headers={"x-big": "a" * 60_000}).status_code == 200


def test_cookies_are_parsed_only_for_operations_that_declare_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = server.requests.parse_cookies

    def spy(header: str) -> dict[str, str]:
        parsed.append(header)
        return real(header)

    monkeypatch.setattr(server.requests, "parse_cookies", spy)
    with Client(make_app()) as client:
        assert client.get("/items", headers={"cookie": "a=1"}).status_code == 200
    assert parsed == []
    with Client(make_app("kitchen")) as kitchen:
        response = kitchen.get("/echo/.7/;x=1;y=2/a", headers={"x-trace-id": TRACE,
                                                               "cookie": "session=s1"})
        assert response.json()["session"] == "s1"
        assert parsed == ["session=s1"]


# 3: bodies -----------------------------------------------------------------------------------


def test_a_trickled_body_is_408_within_the_body_timeout() -> None:
    app = make_app(body_timeout=1)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    trickle = [(0.1, b" ")] * 100  # a byte every 0.1 s: each one well within any per-read limit
    started = time.perf_counter()
    status, sent, body = asyncio.run(call(app, {"method": "POST", "path": "/items",
                                                "headers": headers}, trickle))
    assert 1.0 <= time.perf_counter() - started < 3.0
    assert status == 408
    assert sent[b"connection"] == b"close"
    assert json.loads(body) == error(
        408, "RequestTimeoutError",
        "The request body did not arrive within 1 seconds (CHARTER_BODY_TIMEOUT).",
        "REQUEST_TIMEOUT")


def test_a_body_that_never_comes_is_408() -> None:
    app = make_app(body_timeout=1)
    headers = [(b"content-length", b"10")]
    started = time.perf_counter()
    status, _, _ = asyncio.run(call(app, {"method": "POST", "path": "/items",
                                          "headers": headers}, []))
    assert 1.0 <= time.perf_counter() - started < 3.0
    assert status == 408


def test_a_body_in_time_is_read_whole() -> None:
    app = make_app(body_timeout=1)
    chunks = [(0.2, b'{"na'), (0.2, b'me": '), (0.2, b'"slow"}')]
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    status, _, body = asyncio.run(call(app, {"method": "POST", "path": "/items",
                                             "headers": headers}, chunks))
    assert (status, json.loads(body)["name"]) == (201, "slow")


def test_a_body_the_server_times_is_left_to_it() -> None:
    # Under `charter serve` the protocol answers 408 itself (test_connections.py); the app sets
    # no deadline of its own, and waits until the server ends the request.
    app = make_app(body_timeout=1)

    async def wait() -> None:
        request = call(app, {"method": "POST", "path": "/items", BODY_TIMED: True,
                             "headers": [(b"content-length", b"10")]}, [])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(request, 2.5)

    asyncio.run(wait())


def test_a_cancelled_body_read_stays_cancelled() -> None:
    # The deadline tells its own cancellation from any other (a server shutting down).
    app = make_app(body_timeout=60)

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(call(app, {"method": "POST", "path": "/items",
                                                "headers": [(b"content-length", b"10")]}, []))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())


# 4: percent escapes --------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "parameter", "raw"), [
    ("limit=%FF", "limit", "%FF"),
    ("limit=%C3%28", "limit", "%C3%28"),
    ("li%FFmit=1", "li%FFmit", "li%FFmit"),
    ("other=%ED%A0%80", "other", "%ED%A0%80"),  # a UTF-16 surrogate, as UTF-8
])
def test_query_escapes_that_are_not_utf8_are_400(query: str, parameter: str, raw: str) -> None:
    with Client(make_app()) as client:
        response = client.get(f"/items?{query}")
    assert response.status_code == 400
    assert response.json() == error(
        400, "BadRequestError", f'Invalid data "{raw}" for parameter "{parameter}".',
        "INVALID_PARAMETER_VALUE",
        details={"encodingError": f"'{raw}' is not UTF-8 once percent-decoded"})


def test_utf8_in_the_query_is_decoded_escaped_or_not() -> None:
    app = make_app("kitchen")
    base = {"path": "/echo/.7/;x=1;y=2/a", "headers": [(b"x-trace-id", TRACE.encode())]}
    for query in (b"when=%C3%A9", "when=é".encode()):
        status, _, body = asyncio.run(call(app, {**base, "query_string": query}))
        assert status == 400
        assert json.loads(body)["error"]["message"] == 'Invalid data "é" for parameter "when".'


def test_path_escapes_that_are_not_utf8_are_400() -> None:
    with Client(make_app("kitchen")) as client:
        response = client.get("/echo/.7/;x=1;y=2/%FF", headers={"x-trace-id": TRACE})
        assert response.status_code == 400
        assert response.json() == error(400, "BadRequestError",
                                        'Invalid data "%FF" for parameter "tags".',
                                        "INVALID_PARAMETER_VALUE")
        assert client.get("/echo/.7/;x=1;y=2/%C3%A9", headers={"x-trace-id": TRACE}).json()[
            "tags"] == ["é"]


def test_cookie_escapes_that_are_not_utf8_are_kept_as_sent() -> None:
    # The Cookie header carries other applications' cookies too: leniency, not a 400.
    with Client(make_app("kitchen")) as client:
        response = client.get("/echo/.7/;x=1;y=2/a",
                              headers={"x-trace-id": TRACE, "cookie": "session=%FF; x=%C3%28"})
    assert response.json()["session"] == "%FF"


# 5: nosniff ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/items", {}, 200),
    ("POST", "/items", {"json": {"name": "a"}}, 201),
    ("DELETE", "/items/1", {}, 204),
    ("GET", "/custom", {}, 202),
    ("GET", "/items?limit=0", {}, 400),
    ("GET", "/nope", {}, 404),
    ("PUT", "/items", {}, 405),
    ("POST", "/items", {"content": b"x" * 2_000_000}, 413),
    ("POST", "/items", {"content": b"<a>", "headers": {"content-type": "text/html"}}, 415),
    ("POST", "/items", {"json": {}}, 422),
    ("GET", "/items", {"headers": {"x-big": "a" * 40_000}}, 431),
    ("GET", "/crash", {}, 500),
    ("GET", "/later", {}, 501),
    ("GET", "/openapi.json", {}, 200),
    ("GET", "/openapi.yaml", {}, 200),
    ("GET", "/explorer", {}, 301),
    ("GET", "/explorer/", {}, 200),
    ("GET", "/explorer/swagger-ui-bundle.js", {}, 200),
    ("HEAD", "/explorer/", {}, 200),
    ("HEAD", "/items", {}, 200),
])
def test_every_response_forbids_content_sniffing(method: str, path: str, kwargs: dict[str, Any],
                                                 status: int) -> None:
    with Client(make_app()) as client:
        response = client.request(method, path, **kwargs)
    assert response.status_code == status
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


# 6 to 11: a live `charter serve` ---------------------------------------------------------------


LIVE_SETTINGS = {"CHARTER_HEADER_TIMEOUT": "2", "CHARTER_BODY_TIMEOUT": "2"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("hostile_http"), env=LIVE_SETTINGS) as served:
        yield served


def connect(served: LiveServer) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    return connection


def send_all(connection: socket.socket, data: bytes) -> int:
    """Sends what the server takes; the count sent before it stopped reading or reset."""
    sent = 0
    view = memoryview(data)
    try:
        while sent < len(data):
            sent += connection.send(view[sent:sent + 1_000_000])
    except OSError:
        pass
    return sent


def read_answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes; a reset ends it too."""
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


# Built when the test runs, not when it is collected: 100 MB is not kept for the session.
OVERSIZED_HEADS = {
    "400k-repeated-headers": lambda: b"x-a: b\r\n" * 400_000,
    "10MB-cookie": lambda: b"cookie: a=" + b"b" * 10_000_000 + b"\r\n",
    "100MB-header": lambda: b"x-big: " + b"a" * 100_000_000 + b"\r\n",
}


@pytest.mark.parametrize("attack", OVERSIZED_HEADS)
def test_an_oversized_head_is_refused_by_the_server(live: LiveServer, attack: str) -> None:
    head = b"GET /todos/count HTTP/1.1\r\nhost: x\r\n" + OVERSIZED_HEADS[attack]() + b"\r\n"
    with Probe(live.url):
        started = time.monotonic()
        with connect(live) as connection:
            sent = send_all(connection, head)
            answer = read_answer(connection)
        elapsed = time.monotonic() - started
    assert elapsed < 10.0
    # Refused by the server before the app: a 431 naming the setting, or, when the client is
    # still sending as the connection closes, a reset that loses it.
    if answer:
        assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:100]
        assert b"(CHARTER_MAX_HEADER_SIZE)" in answer
    if len(head) > 50_000_000:
        assert sent < 50_000_000, "the server kept reading the head"


def test_slow_and_idle_heads_are_closed_after_the_header_timeout(live: LiveServer) -> None:
    with Probe(live.url):
        idle = [connect(live) for _ in range(30)]
        slow = [connect(live) for _ in range(30)]
        started = time.monotonic()
        for connection in slow:
            connection.sendall(b"GET /todos/count HTTP/1.1\r\nhost: x\r\n")
        closed: dict[socket.socket, tuple[float, bytes]] = {}
        while len(closed) < 60 and time.monotonic() - started < 10:
            readable, _, _ = select.select([c for c in idle + slow if c not in closed], [], [], 0.25)
            for connection in readable:
                closed[connection] = (time.monotonic() - started, read_answer(connection))
            for connection in slow:  # a header every quarter second keeps nothing alive
                if connection not in closed:
                    send_all(connection, b"x-slow: 1\r\n")
        for connection in idle + slow:
            connection.close()
    assert len(closed) == 60
    assert {answer for _, answer in closed.values()} == {b""}  # closed, without an answer
    times = [at for at, _ in closed.values()]
    assert min(times) >= 2 - 0.5 and max(times) < 2 + 2  # CHARTER_HEADER_TIMEOUT


def test_headers_only_and_trickled_bodies_are_408(live: LiveServer) -> None:
    head = (b"POST /todos HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n")
    with Probe(live.url):
        waiting = [connect(live) for _ in range(60)]
        for connection in waiting:
            connection.sendall(head)
        trickling = connect(live)
        trickling.sendall(head)
        started = time.monotonic()
        for _ in range(8):
            send_all(trickling, b" ")
            time.sleep(0.25)
        answers = [read_answer(connection) for connection in [*waiting, trickling]]
        elapsed = time.monotonic() - started
        for connection in [*waiting, trickling]:
            connection.close()
    assert 2 <= elapsed < 2 + 3  # CHARTER_BODY_TIMEOUT, checked once a second
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:100]
        assert b"\r\nconnection: close\r\n" in answer
        assert answer.endswith(b'"code":"REQUEST_TIMEOUT"}}')


@pytest.mark.parametrize("request_", [
    b"DELETE /todos/1 HTTP/1.1\r\nhost: x\r\ncontent-length: \r\nif-match: \r\n\r\n",
    b"GET /todos/count HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
    b"POST /todos HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # TLS on the plain port
], ids=["empty-content-length", "two-content-lengths", "broken-chunk", "tls-hello"])
def test_a_request_the_parser_refuses_is_a_json_400(live: LiveServer, request_: bytes) -> None:
    with Probe(live.url), connect(live) as connection:
        connection.sendall(request_)
        answer = read_answer(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:100]
    assert b"\r\ncontent-type: application/json\r\n" in head
    assert json.loads(body)["error"]["code"] == "MALFORMED_REQUEST"


def test_the_server_does_not_name_itself(live: LiveServer) -> None:
    response = httpx.get(f"{live.url}/todos/count")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_drain_refuses_new_connections_and_is_bounded(tmp_path: Path) -> None:
    settings = {"CHARTER_BODY_TIMEOUT": "60", "CHARTER_GRACEFUL_TIMEOUT": "2"}
    with live_server(tmp_path, env=settings) as served:
        held = connect(served)  # a request in progress for as long as the client likes
        held.sendall(b"POST /todos HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        time.sleep(0.3)
        signalled = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        refused_after = None
        while time.monotonic() - signalled < 1.5:
            try:
                socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
            except ConnectionRefusedError:
                refused_after = time.monotonic() - signalled
                break
            time.sleep(0.05)
        served.process.wait(timeout=15)
        exited_after = time.monotonic() - signalled
        held.close()
    assert refused_after is not None and refused_after < 1.0, "new connections were accepted"
    assert 2.0 <= exited_after < 2.0 + 3.0  # CHARTER_GRACEFUL_TIMEOUT, then the lifespan's end
    assert "timeout graceful shutdown exceeded" in served.output()


def test_connections_beyond_the_limit_are_503(tmp_path: Path) -> None:
    with live_server(tmp_path, env={"CHARTER_MAX_CONNECTIONS": "4"}) as served:
        held = [connect(served) for _ in range(4)]
        time.sleep(0.2)
        response = httpx.get(f"{served.url}/todos/count", timeout=10)
        for connection in held:
            connection.close()
        assert response.status_code == 503
        time.sleep(0.2)
        assert httpx.get(f"{served.url}/todos/count", timeout=10).status_code == 200
