"""The request as handlers see it: method, path, headers, cookies, raw body and request id."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from server.types import Scope


class Request:
    """A read-only view of one HTTP request, built once by the pipeline.

    Handlers that want it declare a constructor argument named `request`.
    """

    __slots__ = ("__dict__", "body", "request_id", "scope", "services")

    def __init__(
        self,
        scope: Scope,
        body: bytes,
        request_id: str,
        services: Mapping[str, Any] | None = None,
    ) -> None:
        self.scope = scope
        self.body = body
        self.request_id = request_id
        self.services: Mapping[str, Any] = services if services is not None else {}

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def query_string(self) -> str:
        return bytes(self.scope.get("query_string", b"")).decode("latin-1")

    @cached_property
    def headers(self) -> dict[str, str]:
        """Header names in lower case; repeated headers are joined with ", "."""
        headers: dict[str, str] = {}
        for raw_key, raw_value in self.scope.get("headers", ()):
            key = raw_key.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    @cached_property
    def cookies(self) -> dict[str, str]:
        return parse_cookies(self.headers.get("cookie", ""))

    @property
    def client(self) -> Any:
        return self.scope.get("client")


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


