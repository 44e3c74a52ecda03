"""Type aliases shared across the runtime: ASGI callables, JSON values and error details."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, TypedDict

JSON = Any
"""A decoded JSON value: dict, list, str, int, float, bool or None."""

Schema = dict[str, Any]
"""A JSON Schema or OpenAPI Schema Object, as a plain dict."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Direction = Literal["request", "response"]
"""Which way data flows: readOnly applies to requests, writeOnly to responses."""


class ErrorDetail(TypedDict):
    """One validation failure, as AJV reports it for LoopBack: `{"path", "code", "message", "info"}`.

    `path` is a JSON pointer into the validated value ("" for the root, "/title", "/tags/0").
    """

    path: str
    code: str
    message: str
    info: dict[str, Any]


BODY_TIMED = "charter.body_timed"
"""A key of the ASGI scope: present when the server bounds the time the request's body takes
(`charter serve`'s protocol, server/connections.py), so that the app need not."""

PRINCIPAL = "charter.principal"
"""A key of the ASGI scope: set by the pipeline once a request authenticated, the principal's
id, which the access log adds to the request's line."""

OUTCOME = "charter.outcome"
"""A key of the ASGI scope: set by the pipeline on a 4xx answer, the error's code and message in
one line (`errors.outcome`), which the access log adds to the request's line."""
