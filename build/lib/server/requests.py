"""The request as handlers see it: method, path, headers, cookies, raw body and request id."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from server.errors import HeadersTooLarge
from server.principals import Principal
from server.types import Scope


class Request:
    """A read-only view of one HTTP request, built once by the pipeline.

    Handlers that want it declare a constructor argument named `request`.

    >>> Request({"method": "GET", "path": "/", "headers": [(b"x-a", b"1")]}).headers
    {'x-a': '1'}
    """

    __slots__ = ("_cookies", "body", "headers", "principal", "request_id", "scope", "services")

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
        self.principal: Principal | None = None
        """Who made the request, once the operation's security authenticated them."""

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


def parse_headers(raw: Sequence[tuple[bytes, bytes]], max_count: int = sys.maxsize,
                  max_size: int = sys.maxsize) -> dict[str, str]:
    """ASGI headers as a dict with lower-case names; repeated headers are joined with ", ".

    More than `max_count` lines, or more than `max_size` bytes of names and values, is a 431
    (`HeadersTooLarge`), refused before anything is decoded. Linear in the headers' size,
    however many repeats: a repeated header is joined once, at the end.

    >>> parse_headers([(b"Accept", b"a"), (b"accept", b"b")])
    {'accept': 'a, b'}
    """
    if len(raw) > max_count:
        raise HeadersTooLarge(f"The request has {len(raw)} header lines, more than the limit of "
                              f"{max_count} (CHARTER_MAX_HEADERS).")
    size = 0
    for raw_key, raw_value in raw:
        size += len(raw_key) + len(raw_value)
    if size > max_size:
        raise HeadersTooLarge(f"The request's headers are larger than the limit of {max_size} "
                              f"bytes (CHARTER_MAX_HEADER_SIZE).")
    headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in raw}
    return headers if len(headers) == len(raw) else _join_repeats(raw)


def _join_repeats(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """The slow path of `parse_headers`, for a request that repeats a header: each name's values
    joined once (cookies with "; ", as HTTP/2 splits them; the rest with ", ")."""
    values: dict[str, list[str]] = {}
    for raw_key, raw_value in raw:
        values.setdefault(raw_key.decode("latin-1").lower(), []).append(raw_value.decode("latin-1"))
    return {key: ("; " if key == "cookie" else ", ").join(parts) for key, parts in values.items()}


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a Cookie header leniently, as browsers send it.

    A value whose percent escapes are not UTF-8 is kept as sent: the header carries every cookie
    of the site, most of them none of this request's business.

    >>> parse_cookies("a=1; b=hello%20world; c=%FF")
    {'a': '1', 'b': 'hello world', 'c': '%FF'}
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        value = value.strip().strip('"')
        if "%" in value:
            with contextlib.suppress(UnicodeDecodeError):
                value = unquote(value, errors="strict")
        cookies[key] = value
    return cookies
