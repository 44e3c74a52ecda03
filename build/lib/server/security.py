"""Security: the spec's `securitySchemes` and `security` requirements, enforced.

Each operation's requirements (its own `security`, else the document's; `security: []` opts out)
are an OR of ANDs: the first alternative whose schemes all authenticate, and grant the scopes it
lists, wins. Authentication runs after routing, before the body is read and before parameters are
parsed: a request without credentials learns nothing of validation (401, not 422). Its principal
reaches the handler (an argument named `principal`), the interceptors (`context.principal`),
`request.principal` and the access log.

Schemes, and what their verifier (`x-verifier: Class.method` in the handlers package, sync or
async, constructed with a handler's injection) is called with:

| scheme | credential | verifier called with |
|---|---|---|
| `apiKey` (header, query or cookie) | the key | `key` |
| `http` `basic` | `Authorization: Basic` | `username`, `password` |
| `http` `bearer`, `oauth2` | `Authorization: Bearer` | `token`; with `x-jwt`, `claims` (verified) |
| `openIdConnect` | `Authorization: Bearer`, a JWT | `claims` (verified) |

A verifier returns a `Principal` (or a dict of its keys), None to refuse the credential (401), or
raises `Forbidden` (403). With `x-jwt` (see `tokens.py`) and no verifier, the token's claims give
the principal. A scheme used with neither stops the start, except under `--allow-unbound` (work in
progress), where it accepts any credential that is present, granting what is asked.

Answers: no or refused credentials are 401 (`MISSING_CREDENTIALS`, `INVALID_CREDENTIALS`) with
one `WWW-Authenticate` challenge per `http`, `oauth2` and `openIdConnect` scheme of the operation;
valid credentials without the requirement's scopes are 403 (`INSUFFICIENT_SCOPE`), and a
verifier's refusal is 403 (`FORBIDDEN`). Where alternatives fail differently, the most specific
answer wins: 403 over a refused credential over a missing one. Nothing says which part of a
credential was wrong.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio.to_thread

from server.binding import Handlers, locate_injected
from server.errors import Forbidden, HttpError, InsufficientScope, InvalidCredentials, MissingCredentials
from server.principals import Principal, as_principal
from server.requests import Request
from server.spec import Spec

if TYPE_CHECKING:
    from server.tokens import Tokens

logger = logging.getLogger("charter")

JWT_KEY = "x-jwt"
VERIFIER_KEY = "x-verifier"
REALM_KEY = "x-realm"
EXTENSIONS = (JWT_KEY, VERIFIER_KEY)
"""A scheme's keys that configure the server, never published."""

_MISSING, _INVALID, _FORBIDDEN = 1, 2, 3
"""How specific a failure is: the most specific of an operation's alternatives is the answer."""


class _Refused:
    """A credential that is present but cannot be read (a Basic header that is not base64)."""


_UNREADABLE = _Refused()


@dataclass(frozen=True, eq=False)
class Scheme:
    """One security scheme, compiled: where its credential is, and how it is verified."""

    name: str
    kind: str
    """`apiKey`, `basic`, `bearer`, `oauth2` or `openIdConnect`."""
    location: str | None
    """An apiKey's place: `header`, `query` or `cookie`."""
    key_name: str | None
    """An apiKey's header (lower case), query parameter or cookie."""
    realm: str
    tokens: Tokens | None
    verifier: Callable[[Request], Callable[..., Any]] | None
    verifier_is_async: bool
    unbound: bool
    """Nothing verifies it yet (`--allow-unbound`): any credential present is accepted."""

    @property
    def uses_scopes(self) -> bool:
        """Whether its requirement's scopes are OAuth2 scopes; otherwise roles grant them too."""
        return self.kind in ("oauth2", "openIdConnect") or self.tokens is not None

    @property
    def challenge(self) -> str | None:
        """Its `WWW-Authenticate` challenge; None for an apiKey, which has none."""
        if self.kind == "apiKey":
            return None
        quoted = self.realm.replace("\\", "\\\\").replace('"', '\\"')
        return f'{"Basic" if self.kind == "basic" else "Bearer"} realm="{quoted}"'

    def credential(self, request: Request) -> Any:
        """The credential the request carries for this scheme; None when it carries none."""
        if self.kind == "apiKey":
            assert self.key_name is not None
            if self.location == "header":
                return request.headers.get(self.key_name) or None
            if self.location == "cookie":
                return request.cookies.get(self.key_name) or None
            for name, value in parse_qsl(request.query_string, keep_blank_values=True):
                if name == self.key_name:
                    return value or None
            return None
        scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
        value = value.strip()
        if self.kind == "basic":
            if scheme.lower() != "basic":
                return None
            try:
                username, colon, password = (base64.b64decode(value, validate=True)
                                             .decode("utf-8").partition(":"))
            except (binascii.Error, UnicodeDecodeError):
                return _UNREADABLE
            return (username, password) if colon else _UNREADABLE
        if scheme.lower() != "bearer":
            return None
        return value or _UNREADABLE

    async def verify(self, request: Request, credential: Any) -> Principal | None:
        """The principal the credential proves, or None when it is refused (raises `Forbidden`
        from the verifier)."""
        if credential is _UNREADABLE:
            return None
        if self.unbound:
            return Principal(scheme=self.name)
        arguments: dict[str, Any]
        if self.tokens is not None:
            claims = self.tokens.claims(credential)
            if claims is None:
                return None
            if self.verifier is None:
                return self.tokens.principal(claims, self.name)
            arguments = {"claims": claims}
        elif self.kind == "apiKey":
            arguments = {"key": credential}
        elif self.kind == "basic":
            arguments = {"username": credential[0], "password": credential[1]}
        else:
            arguments = {"token": credential}
        assert self.verifier is not None
        method = self.verifier(request)
        if self.verifier_is_async:
            result = await method(**arguments)
        else:
            result = await anyio.to_thread.run_sync(functools.partial(method, **arguments))
        return None if result is None else as_principal(result, self.name)


Alternative = tuple[tuple[Scheme, frozenset[str]], ...]


@dataclass(frozen=True)
class Guard:
    """One operation's security requirements: `authenticate` per request."""

    alternatives: tuple[Alternative, ...]
    optional: bool
    """An empty alternative (`- {}`): a request with no credentials passes, anonymous."""
    challenges: tuple[Scheme, ...]
    """The schemes a 401 names in `WWW-Authenticate`, in the spec's order."""

    def __str__(self) -> str:
        """The requirements in a line, as `charter check` prints them.

        `apiKey or bearerAuth+basic`, scopes in brackets (`oauth[read write]`), and `or
        anonymous` where an empty alternative lets anyone in.
        """
        alternatives = ["+".join(f"{scheme.name}[{' '.join(sorted(scopes))}]" if scopes
                                 else scheme.name for scheme, scopes in alternative)
                        for alternative in self.alternatives]
        return " or ".join([*alternatives, *(["anonymous"] if self.optional else [])])

    async def authenticate(self, request: Request) -> Principal | None:
        """The principal of the first alternative that passes (None: anonymous, where that is
        allowed); raises 401 or 403, the most specific failure of all the alternatives."""
        verified: dict[str, Principal | None] = {}
        refused: set[str] = set()  # schemes whose credential was sent and refused
        failure, failed = 0, None  # the most specific failure so far, and its error
        error: HttpError | None
        presented = False
        for alternative in self.alternatives:
            principal: Principal | None = None
            for scheme, scopes in alternative:
                credential = scheme.credential(request)
                if credential is None:
                    rank, error = _MISSING, None
                    break
                presented = True
                if scheme.name not in verified:
                    try:
                        verified[scheme.name] = await scheme.verify(request, credential)
                    except Forbidden as exc:
                        rank, error = _FORBIDDEN, exc
                        break
                found = verified[scheme.name]
                if found is None:
                    refused.add(scheme.name)
                    rank, error = _INVALID, None
                    break
                if scheme.unbound:
                    found = as_principal(found, scheme.name, scopes)
                elif scopes and not scopes <= (found.scopes if scheme.uses_scopes
                                               else found.scopes | found.roles):
                    rank, error = _FORBIDDEN, self._insufficient(scheme, scopes)
                    break
                principal = principal or found
            else:
                return principal
            if rank > failure:
                failure, failed = rank, error
        if self.optional and not presented:
            return None
        if failure == _FORBIDDEN:
            assert failed is not None
            raise failed
        error_type = InvalidCredentials if failure == _INVALID else MissingCredentials
        raise error_type(headers=self._challenge(refused))

    def _challenge(self, refused: set[str]) -> dict[str, str]:
        challenges: list[str] = []
        for scheme in self.challenges:
            challenge = scheme.challenge
            if challenge is None:
                continue
            if scheme.name in refused and scheme.kind != "basic":
                challenge += ', error="invalid_token"'
            if challenge not in challenges:
                challenges.append(challenge)
        return {"www-authenticate": ", ".join(challenges)} if challenges else {}

    @staticmethod
    def _insufficient(scheme: Scheme, scopes: frozenset[str]) -> Forbidden:
        if scheme.kind in ("bearer", "oauth2", "openIdConnect"):
            return InsufficientScope(headers={"www-authenticate": (
                f'Bearer error="insufficient_scope", scope="{" ".join(sorted(scopes))}"')})
        return InsufficientScope()


class Security:
    """The spec's security, compiled at start-up: `guard(operation)` for each operation."""

    def __init__(self, document: Mapping[str, Any], schemes: Mapping[str, Scheme]) -> None:
        self.default = document.get("security")
        self.schemes = schemes

    def guard(self, operation: Mapping[str, Any]) -> Guard | None:
        """The operation's guard; None for an operation anyone may call."""
        requirements = operation.get("security", self.default) or []
        alternatives: list[Alternative] = []
        optional = False
        for requirement in requirements:
            if not requirement:
                optional = True
            elif all(name in self.schemes for name in requirement):
                alternatives.append(tuple((self.schemes[name], frozenset(map(str, scopes or ())))
                                          for name, scopes in requirement.items()))
            # else a scheme that did not compile: a problem stops the start, and this
            # alternative could never pass (a guard with none left refuses every request)
        if not alternatives and (optional or not requirements):
            return None
        challenges = tuple(dict.fromkeys(scheme for alternative in alternatives
                                         for scheme, _ in alternative))
        return Guard(tuple(alternatives), optional, challenges)


def requirements_of(document: Mapping[str, Any], operation: Mapping[str, Any]) -> list[Any]:
    """An operation's security requirements: its own, else the document's."""
    found = operation.get("security", document.get("security"))
    return found if isinstance(found, list) else []


def compile_security(spec: Spec, handlers: Handlers | None, dependencies: Iterable[str], *,
                     allow_unbound: bool, environ: Mapping[str, str] | None = None
                     ) -> tuple[Security, list[str], list[str]]:
    """The spec's schemes that some operation uses, compiled: `(security, problems,
    warnings)`. Every problem stops the start; the warnings are for the log."""
    document = spec.document
    declared = (document.get("components") or {}).get("securitySchemes") or {}
    problems: list[str] = []
    used: dict[str, None] = {}
    for path, method, operation, _ in spec.operations():
        for requirement in requirements_of(document, operation):
            for name in requirement if isinstance(requirement, Mapping) else ():
                if name in declared:
                    used[name] = None
                else:
                    problems.append(f"{method.upper()} {path}: its security names the scheme "
                                    f"{name!r}, which components.securitySchemes does not "
                                    "define")
    title = str((document.get("info") or {}).get("title") or "api")
    schemes: dict[str, Scheme] = {}
    unverified: list[str] = []
    for name in used:
        raw = declared[name]
        scheme, more, unbound = _compile_scheme(name, raw, title, spec.source.parent, handlers,
                                                dependencies, allow_unbound, environ)
        problems += more
        if unbound:
            unverified.append(name)
        if scheme is not None:
            schemes[name] = scheme
    warnings: list[str] = []
    if unverified and allow_unbound:
        warnings.append(
            f"WARNING: nothing verifies the security scheme(s) {', '.join(map(repr, unverified))}"
            " yet: under --allow-unbound, a request without their credential gets 401, and one "
            "with any credential at all is let in, granted the scopes it needs.")
    elif unverified:
        problems.append(
            f"nothing verifies the security scheme(s) {', '.join(map(repr, unverified))}, which "
            "operations require: give each an `x-verifier: Class.method` of the handlers "
            "package (or, for bearer, oauth2 and openIdConnect tokens, an `x-jwt`); until then "
            "every credential would be refused, or, worse, accepted (README: Security)")
    return Security(document, schemes), problems, warnings


def _compile_scheme(name: str, raw: Mapping[str, Any], title: str, folder: Path,
                    handlers: Handlers | None, dependencies: Iterable[str], allow_unbound: bool,
                    environ: Mapping[str, str] | None) -> tuple[Scheme | None, list[str], bool]:
    """`(scheme, problems, unverified)`: `unverified` when it has neither a verifier nor x-jwt
    (served as unbound under `allow_unbound`)."""
    where = f"securitySchemes.{name}"
    kind = str(raw.get("type"))
    location = key_name = None
    if kind == "mutualTLS":
        return None, [f"{where} is mutualTLS: the ASGI server passes no client certificate to the "
                      "app, so Charter cannot check one. Terminate TLS at a proxy that verifies "
                      "the certificate and sets a header, and check that header with an apiKey "
                      "scheme and its x-verifier (README: Security)"], False
    if kind == "http":
        kind = str(raw.get("scheme", "")).lower()
        if kind not in ("basic", "bearer"):
            return None, [f"{where} is http {raw.get('scheme')!r}: Charter verifies the http "
                          "schemes basic and bearer"], False
    elif kind == "apiKey":
        location, key_name = raw.get("in"), str(raw.get("name", ""))
        if location not in ("header", "query", "cookie") or not key_name:
            return None, [f"{where}: an apiKey needs `in` (header, query or cookie) and "
                          "`name`"], False
        key_name = key_name.lower() if location == "header" else key_name
    elif kind not in ("oauth2", "openIdConnect"):
        return None, [f"{where} has the unknown type {raw.get('type')!r}"], False
    tokens: Tokens | None = None
    problems: list[str] = []
    if JWT_KEY in raw or kind == "openIdConnect":
        # PyJWT and cryptography load only for a spec whose tokens Charter verifies.
        from server.tokens import TokenConfigError, compile_tokens, discover

        if kind in ("apiKey", "basic"):
            return None, [f"{where}: x-jwt is for bearer, oauth2 and openIdConnect schemes, not "
                          f"{kind}"], False
        try:
            discovered = (discover(str(raw.get("openIdConnectUrl", "")), folder)
                          if kind == "openIdConnect" else None)
            tokens = compile_tokens(raw.get(JWT_KEY), folder, discovered, environ)
        except TokenConfigError as exc:
            problems.append(f"{where}: {exc}")
    verifier = None
    is_async = False
    named = raw.get(VERIFIER_KEY)
    if named is not None:
        located, found, unwritten = locate_injected(handlers, str(named), dependencies)
        if located is None:
            if not (unwritten and allow_unbound):
                problems += [f"{where}: x-verifier {named!r}: {problem}" for problem in found]
        else:
            verifier, is_async = located.call, inspect.iscoroutinefunction(located.function)
            problems += _check_verifier(where, str(named), located.function,
                                        _verifier_arguments(kind, tokens is not None))
    if problems:
        return None, problems, False
    unverified = verifier is None and tokens is None
    realm = str(raw.get(REALM_KEY) or title)
    return Scheme(name, kind, location, key_name, realm, tokens, verifier, is_async,
                  unbound=unverified), [], unverified


def _verifier_arguments(kind: str, with_tokens: bool) -> tuple[str, ...]:
    if with_tokens:
        return ("claims",)
    return {"apiKey": ("key",), "basic": ("username", "password")}.get(kind, ("token",))


def _check_verifier(where: str, named: str, function: Callable[..., Any],
                    arguments: tuple[str, ...]) -> list[str]:
    """A verifier must take the credential's arguments by name."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return []
    missing = [name for name in arguments if name not in parameters]
    extra = [name for name, p in parameters.items() if name != "self" and name not in arguments
             and p.default is p.empty and p.kind not in (p.VAR_POSITIONAL,)]
    if missing or extra:
        return [f"{where}: x-verifier {named!r} is called with {', '.join(arguments)}; it "
                f"takes ({', '.join(n for n in parameters if n != 'self')})"]
    return []
