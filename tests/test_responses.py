"""Responses: content encoding and the ASGI writer."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

from server.responses import Response, dump_json


def sent(response: Response, **options: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(response.send(send, **options))
    return messages


def test_json_by_default_with_headers() -> None:
    response = Response({"ok": True}, status=201, headers={"Location": "/x/1"})
    start, body = sent(response)
    assert start["status"] == 201
    assert start["headers"] == [(b"content-length", b"11"), (b"content-type", b"application/json"),
                                (b"location", b"/x/1"), (b"x-content-type-options", b"nosniff")]
    assert body["body"] == b'{"ok":true}'


def test_every_response_forbids_sniffing_once() -> None:
    for response in (Response({"a": 1}), Response.json(200, b"{}"), Response(None, status=204),
                     Response("<p>", media_type="text/html"), Response.raw(404, {}, b"")):
        start, _ = sent(response)
        assert start["headers"].count((b"x-content-type-options", b"nosniff")) == 1, response
    # A handler that sets its own value keeps it.
    own = Response("x", media_type="text/plain", headers={"X-Content-Type-Options": "other"})
    start, _ = sent(own)
    assert [v for k, v in start["headers"] if k == b"x-content-type-options"] == [b"other"]


def test_bytes_text_and_no_content() -> None:
    assert Response(b"\x00\x01").media_type == "application/octet-stream"
    text = Response("hi", media_type="text/plain")
    assert (text.body, text.media_type) == (b"hi", "text/plain")
    empty = Response(None, status=204)
    assert (empty.body, empty.media_type) == (b"", None)


def test_head_keeps_the_length_and_drops_the_body() -> None:
    start, body = sent(Response({"a": 1}), head=True, extra=[(b"x-request-id", b"r")])
    assert (b"content-length", b"7") in start["headers"]
    assert (b"x-request-id", b"r") in start["headers"]
    assert body["body"] == b""


def test_dump_json_handles_common_types() -> None:
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    ident = uuid.UUID(int=1)
    assert dump_json({"at": moment, "id": ident, "tags": {"a"}, 1: (1, 2)}) == (
        b'{"at":"2026-01-02T03:04:05+00:00","id":"00000000-0000-0000-0000-000000000001",'
        b'"tags":["a"],"1":[1,2]}')


def test_integers_of_any_size_are_written_exactly() -> None:
    reading = {"reading": 2**70, "readings": {2**64: -(2**63) - 1}}
    expected = b'{"reading":1180591620717411303424,"readings":{"18446744073709551616":-9223372036854775809}}'
    assert Response(reading).body == dump_json(reading) == expected
