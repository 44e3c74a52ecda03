"""The request as handlers see it: method, path, headers, cookies, raw body and request id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from server.types import Scope


class Request:
    """A read-only view of one HTTP request, built once by the pipeline.

    Handlers that want it declare a constructor argument named `request`.

    >>> Request({"method": "GET", "path": "/", "headers": [(b"x-a", b"1")]}).headers
    {'x-a': '1'}
    """

    __slots__ = ("_cookies", "body", "headers", "request_id", "scope", "services")

    def __init__(
        self,
        scope: Scope,
        body: bytes = b"",
        request_id: str = "",
        services: Mapping[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.scope = scope
        self.body = body
        self.request_id = request_id
        self.services: Mapping[str, Any] = services if services is not None else {}
        self.headers: dict[str, str] = (
            headers if headers is not None else parse_headers(scope.get("headers", ())))
        self._cookies: dict[str, str] | None = None

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def query_string(self) -> str:
        return bytes(self.scope.get("query_string", b"")).decode("latin-1")

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            self._cookies = parse_cookies(self.headers.get("cookie", ""))
        return self._cookies

    @property
    def client(self) -> Any:
        return self.scope.get("client")


def parse_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI headers as a dict with lower-case names; repeated headers are joined with ", ".

    >>> parse_headers([(b"Accept", b"a"), (b"accept", b"b")])
    {'accept': 'a, b'}
    """
    headers: dict[str, str] = {}
    for raw_key, raw_value in raw:
        key = raw_key.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a Cookie header leniently, as browsers send it.

    >>> parse_cookies("a=1; b=hello%20world")
    {'a': '1', 'b': 'hello world'}
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        cookies[key] = unquote(value.strip().strip('"'))
    return cookies
