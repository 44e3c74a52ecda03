"""Responses: the object handlers return for full control, and the ASGI writer for all results."""

from __future__ import annotations

from typing import Any

from server import jsontext
from server.types import Send


class Response:
    """A complete HTTP response. Return one from a handler to choose status, headers and media type.

    >>> Response({"ok": True}, status=201, headers={"location": "/todos/1"}).body
    b'{"ok":true}'
    """

    __slots__ = ("_encoded", "body", "headers", "media_type", "status")

    def __init__(
        self,
        content: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self._encoded: list[tuple[bytes, bytes]] | None = None
        self.media_type: str | None
        if isinstance(content, bytes | bytearray | memoryview):
            self.body = bytes(content)
            self.media_type = media_type or "application/octet-stream"
        elif isinstance(content, str) and media_type is not None and "json" not in media_type:
            self.body = content.encode()
            self.media_type = media_type
        elif content is None and status == 204:
            self.body = b""
            self.media_type = media_type
        else:
            self.body = dump_json(content)
            self.media_type = media_type or "application/json"

    @classmethod
    def raw(cls, status: int, headers: dict[str, str], body: bytes) -> Response:
        """Build from parts already encoded, e.g. the output of `render_error`."""
        response = cls.__new__(cls)
        response.status = status
        response.headers = headers
        response.media_type = headers.get("content-type")
        response.body = body
        response._encoded = None
        return response

    @classmethod
    def json(cls, status: int, body: bytes) -> Response:
        """A JSON body already serialized: the pipeline's fast path for handler results."""
        response = cls.raw(status, _JSON_HEADERS, body)
        response._encoded = _JSON_ENCODED
        return response

    async def send(self, send: Send, *, head: bool = False,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
        """Write the response to ASGI `send`; `head` drops the body but keeps its length."""
        encoded = self._encoded
        if encoded is None:
            encoded = self._encoded = self._encode_headers()
        headers = [(b"content-length", b"%d" % len(self.body)), *encoded]
        if extra:
            headers.extend(extra)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else self.body})

    def _encode_headers(self) -> list[tuple[bytes, bytes]]:
        encoded = [(key.encode(), value.encode("latin-1")) for key, value in self.headers.items()]
        if self.media_type and "content-type" not in self.headers:
            encoded.insert(0, (b"content-type", self.media_type.encode()))
        if "x-content-type-options" not in self.headers:
            encoded.append(_NOSNIFF)
        return encoded


# Every response says its media type is the truth: a browser must not run a JSON error that
# echoes input, or a text body, as HTML or script because it looks like one.
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_JSON_HEADERS = {"content-type": "application/json"}
_JSON_ENCODED = [(b"content-type", b"application/json"), _NOSNIFF]


def dump_json(content: Any) -> bytes:
    """Serialize a handler result: dataclasses, datetimes and UUIDs as orjson does, sets as lists,
    integers of any size exactly (`jsontext.dump_json`)."""
    return jsontext.dump_json(content, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "_asdict"):
        return value._asdict()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
