"""Tests for the CORS middleware: preflights, actual requests, origin reflection, pass-through,
and the settings refused because they would let any site act as a visitor."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from server.cors import CORSMiddleware, cors_problems
from server.settings import Settings
from server.types import Message, Receive, Scope, Send

ORIGIN = "https://app.example"


@dataclass
class Inner:
    """A tiny ASGI app that records what it saw and answers with `headers`."""

    headers: list[tuple[bytes, bytes]] = field(
        default_factory=lambda: [(b"content-type", b"text/plain")]
    )
    scopes: list[Scope] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": b"hello"})


def call(
    middleware: CORSMiddleware, method: str, headers: dict[str, str] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Send one request straight through the ASGI interface; return status, headers, body."""
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": "/todos",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    asyncio.run(middleware(scope, receive, send))
    start, body = messages
    return start["status"], list(start["headers"]), body["body"]


def cors(inner: Inner | None = None, /, **settings: Any) -> CORSMiddleware:
    return CORSMiddleware(inner or Inner(), Settings(**settings))


def preflight(request_headers: str | None = "content-type, x-api-key") -> dict[str, str]:
    headers = {"origin": ORIGIN, "access-control-request-method": "PUT"}
    if request_headers is not None:
        headers["access-control-request-headers"] = request_headers
    return headers


STAR_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,HEAD,PUT,PATCH,POST,DELETE"),
    (b"access-control-max-age", b"86400"),
    (b"access-control-allow-headers", b"content-type, x-api-key"),
    (b"vary", b"Access-Control-Request-Headers"),
]
STAR_ACTUAL = [
    (b"content-type", b"text/plain"),
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"etag, location, x-request-id"),
]
CREDENTIALED = {"cors_origin": ORIGIN, "cors_credentials": True}


def test_by_default_any_origin_reads_without_credentials() -> None:
    """Where we depart from LoopBack, which echoes any Origin with credentials allowed."""
    inner = Inner()
    status, headers, body = call(cors(inner), "OPTIONS", preflight())
    assert (status, body) == (204, b"")
    assert headers == STAR_PREFLIGHT
    assert inner.scopes == [], "a preflight is never passed on"
    status, headers, body = call(cors(inner), "GET", {"origin": ORIGIN})
    assert (status, body) == (200, b"hello")
    assert headers == STAR_ACTUAL
    assert len(inner.scopes) == 1


def test_credentials_are_allowed_for_listed_origins_only() -> None:
    inner = Inner()
    status, headers, body = call(cors(inner, **CREDENTIALED), "OPTIONS", preflight())
    assert (status, body) == (204, b"")
    assert headers == [
        (b"access-control-allow-origin", ORIGIN.encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-allow-methods", b"GET,HEAD,PUT,PATCH,POST,DELETE"),
        (b"access-control-max-age", b"86400"),
        (b"access-control-allow-headers", b"content-type, x-api-key"),
        (b"vary", b"Origin, Access-Control-Request-Headers"),
    ]
    status, headers, body = call(cors(inner, **CREDENTIALED), "GET", {"origin": ORIGIN})
    assert (status, body) == (200, b"hello")
    assert headers == [
        (b"content-type", b"text/plain"),
        (b"access-control-allow-origin", ORIGIN.encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"etag, location, x-request-id"),
        (b"vary", b"Origin"),
    ]
    for origin in ("https://evil.example", "null"):
        _, headers, _ = call(cors(inner, **CREDENTIALED), "GET", {"origin": origin})
        assert headers == [(b"content-type", b"text/plain"), (b"vary", b"Origin")]


def test_credentials_with_any_origin_are_refused() -> None:
    message = (
        "CHARTER_CORS_CREDENTIALS is on with CHARTER_CORS_ORIGIN '*': every site could make "
        "credentialed requests as its visitors. List the origins that may send credentials "
        "(CHARTER_CORS_ORIGIN=https://app.example,https://admin.example), or turn "
        "CHARTER_CORS_CREDENTIALS off.")
    for origins in ("*", f"{ORIGIN}, *"):
        settings = Settings(cors_origin=origins, cors_credentials=True)
        assert cors_problems(settings) == [message]
        with pytest.raises(ValueError) as caught:
            CORSMiddleware(Inner(), settings)
        assert str(caught.value) == message
    assert cors_problems(Settings()) == []
    assert cors_problems(Settings(**CREDENTIALED)) == []
    # Off, CORS adds nothing, so nothing to refuse.
    assert cors_problems(Settings(cors_enabled=False, cors_credentials=True)) == []


def test_the_null_origin_is_never_echoed_nor_listed() -> None:
    """Sandboxed iframes, file:// pages and redirects send `Origin: null`: any site can."""
    listed = {"cors_origin": "https://a.example"}
    for settings in (listed, {**listed, "cors_credentials": True}):
        _, headers, _ = call(cors(**settings), "GET", {"origin": "null"})
        assert headers == [(b"content-type", b"text/plain"), (b"vary", b"Origin")]
        status, headers, _ = call(cors(**settings), "OPTIONS",
                                  {"origin": "null", "access-control-request-method": "PUT"})
        assert (status, headers) == (204, [(b"vary", b"Origin, Access-Control-Request-Headers")])
    # `*` is a literal `*`, the same answer for every page and never with credentials.
    _, headers, _ = call(cors(), "GET", {"origin": "null"})
    assert headers == STAR_ACTUAL
    message = ("CHARTER_CORS_ORIGIN lists 'null', which Charter never allows: sandboxed "
               "iframes, file:// pages and redirects send it, so any site can claim it.")
    for origins in ("null", "https://a.example, NULL"):
        assert cors_problems(Settings(cors_origin=origins)) == [message]
    assert cors_problems(Settings(cors_origin="null,*", cors_credentials=True)) == [
        "CHARTER_CORS_CREDENTIALS is on with CHARTER_CORS_ORIGIN '*': every site could make "
        "credentialed requests as its visitors. List the origins that may send credentials "
        "(CHARTER_CORS_ORIGIN=https://app.example,https://admin.example), or turn "
        "CHARTER_CORS_CREDENTIALS off.", message]


def test_preflight_without_requested_headers_allows_none() -> None:
    _, headers, _ = call(cors(), "OPTIONS", preflight(None))
    assert b"access-control-allow-headers" not in dict(headers)


def test_preflight_uses_configured_max_age() -> None:
    _, headers, _ = call(cors(cors_max_age=600), "OPTIONS", preflight())
    assert dict(headers)[b"access-control-max-age"] == b"600"


def test_options_without_request_method_is_passed_on() -> None:
    inner = Inner()
    status, headers, body = call(cors(inner), "OPTIONS", {"origin": ORIGIN})
    assert (status, body) == (200, b"hello")
    assert len(inner.scopes) == 1
    assert headers == STAR_ACTUAL


def test_origin_is_added_to_an_existing_vary() -> None:
    inner = Inner(headers=[(b"vary", b"Accept-Encoding")])
    _, headers, _ = call(cors(inner, cors_origin=ORIGIN), "GET", {"origin": ORIGIN})
    assert [v for k, v in headers if k == b"vary"] == [b"Accept-Encoding, Origin"]
    # A literal `*` is the same for every origin: the app's Vary stays as it is.
    _, headers, _ = call(cors(inner), "GET", {"origin": ORIGIN})
    assert [v for k, v in headers if k == b"vary"] == [b"Accept-Encoding"]


def test_vary_already_naming_origin_or_star_is_kept() -> None:
    for vary in (b"origin", b"Accept, Origin", b"*"):
        inner = Inner(headers=[(b"vary", vary)])
        _, headers, _ = call(cors(inner, cors_origin=ORIGIN), "GET", {"origin": ORIGIN})
        assert [v for k, v in headers if k == b"vary"] == [vary]


def test_the_apps_own_cors_headers_are_replaced() -> None:
    inner = Inner(headers=[(b"Access-Control-Allow-Origin", b"https://evil.example"),
                           (b"Access-Control-Allow-Credentials", b"true")])
    _, headers, _ = call(cors(inner), "GET", {"origin": ORIGIN})
    assert headers == STAR_ACTUAL[1:]
    _, headers, _ = call(cors(inner, **CREDENTIALED), "GET", {"origin": ORIGIN})
    allow = [v for k, v in headers if k.lower() == b"access-control-allow-origin"]
    assert allow == [ORIGIN.encode()]


def test_listed_origins_are_reflected_and_others_refused() -> None:
    listed = {"cors_origin": "https://a.example, https://B.example"}
    for origin in ("https://a.example", "https://b.example"):
        _, headers, _ = call(cors(**listed), "GET", {"origin": origin})
        assert dict(headers)[b"access-control-allow-origin"] == origin.encode()

    status, headers, body = call(cors(**listed), "GET", {"origin": "https://c.example"})
    assert (status, body) == (200, b"hello")
    assert headers == [(b"content-type", b"text/plain"), (b"vary", b"Origin")]

    status, headers, _ = call(
        cors(**listed),
        "OPTIONS",
        {"origin": "https://c.example", "access-control-request-method": "GET"},
    )
    assert status == 204
    assert headers == [(b"vary", b"Origin, Access-Control-Request-Headers")]


def test_listed_origins_are_reflected_even_without_credentials() -> None:
    middleware = cors(cors_origin="https://a.example", cors_credentials=False)
    _, headers, _ = call(middleware, "GET", {"origin": "https://a.example"})
    assert headers == [
        (b"content-type", b"text/plain"),
        (b"access-control-allow-origin", b"https://a.example"),
        (b"access-control-expose-headers", b"etag, location, x-request-id"),
        (b"vary", b"Origin"),
    ]


def test_empty_origin_list_allows_no_one() -> None:
    _, headers, _ = call(cors(cors_origin=""), "GET", {"origin": ORIGIN})
    assert b"access-control-allow-origin" not in dict(headers)


def test_disabled_passes_everything_on_untouched() -> None:
    inner = Inner()
    middleware = cors(inner, cors_enabled=False)
    status, headers, _ = call(middleware, "OPTIONS", preflight())
    assert status == 200
    assert headers == [(b"content-type", b"text/plain")]
    status, headers, _ = call(middleware, "GET", {"origin": ORIGIN})
    assert headers == [(b"content-type", b"text/plain")]
    assert len(inner.scopes) == 2


def test_request_without_origin_is_passed_on_untouched() -> None:
    seen: list[Send] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(send)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Message) -> None:
        pass

    async def receive() -> Message:
        return {"type": "http.request"}

    middleware = CORSMiddleware(inner, Settings())
    scope: Scope = {"type": "http", "method": "GET", "headers": [(b"accept", b"*/*")]}
    asyncio.run(middleware(scope, receive, send))
    assert seen == [send], "the app gets the server's own send, not a wrapper"

    _, headers, _ = call(cors(), "OPTIONS", {"access-control-request-method": "GET"})
    assert headers == [(b"content-type", b"text/plain")]


def test_non_http_scopes_are_passed_on() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    middleware = CORSMiddleware(inner, Settings())
    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    asyncio.run(middleware({"type": "websocket", "headers": [(b"origin", b"x")]}, receive, send))
    assert seen == ["lifespan", "websocket"]


def test_through_an_http_client() -> None:
    async def main() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=cors())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            pre = await client.options(
                "/todos",
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "Content-Type",
                },
            )
            actual = await client.post("/todos", headers={"Origin": ORIGIN}, content=b"{}")
            return pre, actual

    pre, actual = asyncio.run(main())
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-headers"] == "Content-Type"
    assert pre.headers["access-control-allow-origin"] == "*"
    assert actual.status_code == 200
    assert actual.text == "hello"
    assert actual.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in actual.headers
    assert actual.headers["access-control-expose-headers"] == "etag, location, x-request-id"
