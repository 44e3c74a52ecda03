"""CORS: an ASGI middleware with LoopBack 4's defaults, its headers precomputed at start-up."""

from __future__ import annotations

from server.settings import Settings
from server.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]

ALLOW_METHODS = b"GET,HEAD,PUT,PATCH,POST,DELETE"
EXPOSE_HEADERS = b"etag, location, x-request-id"

# Response headers this middleware owns; an application's own values are replaced.
_OWNED = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-expose-headers",
    }
)


class CORSMiddleware:
    """Answers CORS preflights and adds CORS headers to cross-origin responses.

    The defaults are LoopBack 4's: any origin, methods `GET,HEAD,PUT,PATCH,POST,DELETE`,
    credentials allowed, preflights cached for a day and answered here with 204, never passed on.
    `settings.cors_origin` is `*` or a comma-separated list of allowed origins.

    Browsers refuse `Access-Control-Allow-Origin: *` on a request sent with credentials, so
    with `*` and credentials on (the default) the request's own Origin is echoed back, with
    `Vary: Origin` so that caches keep one copy per origin. This lets *any* site make
    credentialed requests and read the answers: set `cors_origin` to a list, or turn
    `cors_credentials` off, before relying on cookies for authentication.

    A request without an Origin header costs one scan of its headers and is otherwise untouched.

    >>> from server.settings import Settings
    >>> async def app(scope, receive, send): ...
    >>> middleware = CORSMiddleware(app, Settings(cors_origin="https://a.example"))
    >>> middleware.allow_origin(b"https://a.example"), middleware.allow_origin(b"https://b.example")
    (b'https://a.example', None)
    """

    __slots__ = (
        "_actual",
        "_allowed",
        "_enabled",
        "_preflight",
        "_preflight_vary",
        "_reflect",
        "app",
    )

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self._enabled = settings.cors_enabled
        origins = {o.strip().lower() for o in settings.cors_origin.split(",") if o.strip()}
        any_origin = "*" in origins
        # None allows every origin; an empty set (cors_origin="") allows none.
        self._allowed = None if any_origin else frozenset(o.encode("latin-1") for o in origins)
        # Echo the request's Origin unless a literal `*` is both allowed and accepted by browsers.
        self._reflect = not any_origin or settings.cors_credentials
        credentials: Headers = (
            [(b"access-control-allow-credentials", b"true")] if settings.cors_credentials else []
        )
        self._actual: Headers = [*credentials, (b"access-control-expose-headers", EXPOSE_HEADERS)]
        self._preflight: Headers = [
            *credentials,
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-max-age", str(settings.cors_max_age).encode()),
        ]
        self._preflight_vary = (
            b"Origin, Access-Control-Request-Headers"
            if self._reflect
            else b"Access-Control-Request-Headers"
        )

    def allow_origin(self, origin: bytes) -> bytes | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, None if refused.

        >>> async def app(scope, receive, send): ...
        >>> CORSMiddleware(app, Settings(cors_credentials=False)).allow_origin(b"https://a.example")
        b'*'
        """
        if not self._reflect:
            return b"*"
        if self._allowed is None or origin in self._allowed:
            return origin
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._enabled:
            await self.app(scope, receive, send)
            return
        origin = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
                break
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            is_preflight, requested = _preflight_request(scope["headers"])
            if is_preflight:
                await self._answer_preflight(send, origin, requested)
                return
        await self.app(scope, receive, self._cors_send(send, origin))

    async def _answer_preflight(self, send: Send, origin: bytes, requested: bytes | None) -> None:
        allow = self.allow_origin(origin)
        headers: Headers = []
        if allow is not None:
            headers.append((b"access-control-allow-origin", allow))
            headers.extend(self._preflight)
            if requested:
                headers.append((b"access-control-allow-headers", requested))
        headers.append((b"vary", self._preflight_vary))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _cors_send(self, send: Send, origin: bytes) -> Send:
        allow = self.allow_origin(origin)
        added: Headers = []
        if allow is not None:
            added = [(b"access-control-allow-origin", allow), *self._actual]
        reflect = self._reflect

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_cors(message.get("headers", ()), added, reflect)
            await send(message)

        return send_with_cors


def _preflight_request(headers: Headers) -> tuple[bool, bytes | None]:
    """Whether an OPTIONS request is a preflight, and the request headers it asks for."""
    is_preflight = False
    requested = None
    for name, value in headers:
        if name == b"access-control-request-method":
            is_preflight = True
        elif name == b"access-control-request-headers":
            requested = value if requested is None else requested + b", " + value
    return is_preflight, requested


def _with_cors(headers: Headers, added: Headers, vary_origin: bool) -> Headers:
    """`headers` without any CORS headers of their own, plus `added`, with Origin in Vary."""
    result: Headers = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _OWNED:
            continue
        if lowered == b"vary" and vary_origin:
            vary_origin = False
            if value.strip() != b"*" and b"origin" not in _tokens(value):
                value = value + b", Origin"
        result.append((name, value))
    result.extend(added)
    if vary_origin:
        result.append((b"vary", b"Origin"))
    return result


def _tokens(value: bytes) -> list[bytes]:
    return [token.strip().lower() for token in value.split(b",")]
