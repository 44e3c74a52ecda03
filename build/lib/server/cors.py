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

    LoopBack 4's defaults, except where they fail open: methods `GET,HEAD,PUT,PATCH,POST,DELETE`,
    preflights cached for a day and answered here with 204, never passed on.
    `settings.cors_origin` is `*` or a comma-separated list of allowed origins.

    `*` is answered as a literal `Access-Control-Allow-Origin: *`: any page may read responses
    sent without credentials, as any script outside a browser can. Credentials
    (`cors_credentials`) need a list of origins, which are echoed back with `Vary: Origin`; `*`
    with credentials is refused at start-up (see `cors_problems`), since echoing any Origin with
    credentials, LoopBack's default, lets every site act as its visitors. The `null` origin, sent
    by sandboxed iframes, `file://` pages and some redirects (so any site can send it), is never
    echoed: listing it is refused at start-up too.

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
        "app",
    )

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        problems = cors_problems(settings)
        if problems:
            raise ValueError("; ".join(problems))
        self.app = app
        self._enabled = settings.cors_enabled
        origins = _origins(settings)
        # None: a literal `*` for everyone; otherwise the listed origins are echoed (an empty set,
        # from cors_origin="", allows none).
        self._allowed = None if "*" in origins else frozenset(o.encode("latin-1") for o in origins)
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
            b"Access-Control-Request-Headers"
            if self._allowed is None
            else b"Origin, Access-Control-Request-Headers"
        )

    def allow_origin(self, origin: bytes) -> bytes | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, None if refused.

        >>> async def app(scope, receive, send): ...
        >>> CORSMiddleware(app, Settings()).allow_origin(b"https://a.example")
        b'*'
        """
        if self._allowed is None:
            return b"*"
        return origin if origin in self._allowed else None

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
        reflect = self._allowed is not None

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_cors(message.get("headers", ()), added, reflect)
            await send(message)

        return send_with_cors


def cors_problems(settings: Settings) -> list[str]:
    """What in the CORS settings would let other sites act as a visitor; [] when nothing.

    >>> cors_problems(Settings(cors_origin="*", cors_credentials=True))  # doctest: +ELLIPSIS
    ["CHARTER_CORS_CREDENTIALS is on with CHARTER_CORS_ORIGIN '*': ..."]
    """
    if not settings.cors_enabled:
        return []
    origins = _origins(settings)
    problems = []
    if "*" in origins and settings.cors_credentials:
        problems.append(
            "CHARTER_CORS_CREDENTIALS is on with CHARTER_CORS_ORIGIN '*': every site could make "
            "credentialed requests as its visitors. List the origins that may send credentials "
            "(CHARTER_CORS_ORIGIN=https://app.example,https://admin.example), or turn "
            "CHARTER_CORS_CREDENTIALS off.")
    if "null" in origins:
        problems.append(
            "CHARTER_CORS_ORIGIN lists 'null', which Charter never allows: sandboxed iframes, "
            "file:// pages and redirects send it, so any site can claim it.")
    return problems


def _origins(settings: Settings) -> set[str]:
    return {o.strip().lower() for o in settings.cors_origin.split(",") if o.strip()}


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
