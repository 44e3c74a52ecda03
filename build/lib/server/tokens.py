"""JWT verification for bearer, oauth2 and openIdConnect security schemes, on PyJWT.

A scheme configures it with `x-jwt`:

    bearerAuth:
      type: http
      scheme: bearer
      x-jwt:
        algorithms: [HS256]          # required; `none` is refused
        secret: {env: JWT_SECRET}    # HS*: from the environment, at least 32 bytes
        # jwks: keys.json            # RS*/ES*/EdDSA: a JWK Set, a file or a URL;
        # public_key: key.pem        #   or one public key (PEM)
        issuer: https://issuer.example
        audience: todo-api           # a string or a list
        leeway: 30                   # seconds of clock skew allowed on exp and nbf
        roles_claim: roles           # where the principal's roles are (default `roles`)

An `openIdConnect` scheme discovers its issuer and `jwks_uri` from `openIdConnectUrl` (a URL, or
a file for offline tests) at start-up; its `x-jwt` may add an audience and the rest. Files are
found relative to the spec's root document. Keys are read once, at start-up.

Every token must carry `exp`; `exp` and `nbf` are always checked. Only the configured algorithms
are accepted, with keys of their own kind, so that no token can choose how it is checked (an
HS256 token signed with an RSA public key is refused).
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from server.principals import Principal

MIN_SECRET_BYTES = 32
"""An HS* secret shorter than this stops the start (RFC 7518 §3.2: at least the hash's size)."""
FETCH_TIMEOUT = 10.0
"""Seconds a discovery document or key set may take to fetch, at start-up."""
VERIFIED_TOKENS = 1024
"""Tokens whose verification a scheme remembers (a few hundred bytes each), the oldest
forgotten first: a client sends its token with every request, and PyJWT takes tens of µs to
verify one again. Only tokens that passed are kept, with their `exp` and `nbf` checked again
at each use, so a forged token always costs a full verification, and never a place here."""
_KEYS = frozenset({"algorithms", "secret", "jwks", "public_key", "issuer", "audience", "leeway",
                   "roles_claim"})
_SYMMETRIC = frozenset({"HS256", "HS384", "HS512"})
_ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K",
                         "ES384", "ES512", "EdDSA"})


class TokenConfigError(Exception):
    """An `x-jwt` (or discovery) that cannot verify anything: the start is refused."""


@dataclass(frozen=True, eq=False)
class Tokens:
    """Verifies one scheme's JWTs: `claims(token)` returns the verified claims, or None."""

    algorithms: tuple[str, ...]
    secret: bytes | None
    keys: Mapping[str | None, Any]
    """Public keys by `kid` (None: the one key to use when a token names none)."""
    issuer: str | None
    audience: str | tuple[str, ...] | None
    leeway: float
    roles_claim: str
    verified: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """Tokens that passed, by their text (signature included): `VERIFIED_TOKENS` at most."""

    def claims(self, token: str) -> dict[str, Any] | None:
        """The token's claims once its signature, `exp`, `nbf`, issuer and audience check out;
        None for any token that does not. A token seen before is not verified again, but its
        `exp` and `nbf` are checked against the time now."""
        known = self.verified.get(token)
        if known is not None:
            now = time.time()
            if known["exp"] + self.leeway < now or known.get("nbf", now) - self.leeway > now:
                self.verified.pop(token, None)
                return None
            return dict(known)
        try:
            key = self.secret if self.secret is not None else self._key(token)
            if key is None:
                return None
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=list(self.algorithms), issuer=self.issuer,
                audience=self.audience, leeway=self.leeway,
                options={"require": ["exp"], "verify_aud": self.audience is not None})
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        if isinstance(claims.get("exp"), int | float) and isinstance(claims.get("nbf", 0),
                                                                      int | float):
            while len(self.verified) >= VERIFIED_TOKENS:
                self.verified.pop(next(iter(self.verified)))
            self.verified[token] = claims
        return dict(claims)

    def _key(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        return self.keys.get(kid) if kid is not None else self.keys.get(None)

    def principal(self, claims: Mapping[str, Any], scheme: str) -> Principal:
        """The principal a verified token names: `sub`, its scopes (`scope`, space-separated,
        or `scp`) and its roles (`roles_claim`)."""
        scopes = claims.get("scope", claims.get("scp"))
        return Principal(id=claims.get("sub"), scopes=_strings(scopes),
                         roles=_strings(claims.get(self.roles_claim)), claims=dict(claims),
                         scheme=scheme)


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(item) for item in value)
    return frozenset()


def compile_tokens(config: Any, folder: Path, discovered: Mapping[str, Any] | None = None,
                   environ: Mapping[str, str] | None = None) -> Tokens:
    """A scheme's `x-jwt` (and, for openIdConnect, what discovery found) compiled; raises
    `TokenConfigError` naming what is wrong."""
    environ = os.environ if environ is None else environ
    config = {} if config is None and discovered is not None else config
    if not isinstance(config, Mapping):
        raise TokenConfigError("x-jwt must be an object")
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise TokenConfigError(f"x-jwt has no {', '.join(map(repr, unknown))} (it takes "
                               f"{', '.join(sorted(_KEYS))})")
    algorithms = config.get("algorithms")
    if algorithms is None and discovered is not None:
        offered = discovered.get("id_token_signing_alg_values_supported")
        algorithms = [a for a in offered if a in _ASYMMETRIC] if isinstance(offered, list) else []
        algorithms = algorithms or ["RS256"]
    if not isinstance(algorithms, list) or not algorithms:
        raise TokenConfigError("x-jwt needs `algorithms`, a list such as [HS256] or [RS256]: "
                               "a token never chooses how it is checked")
    names = [str(a) for a in algorithms]
    if any(name.lower() == "none" for name in names):
        raise TokenConfigError("x-jwt lists the algorithm `none`, which accepts unsigned "
                               "tokens: remove it")
    unknown = [name for name in names if name not in _SYMMETRIC | _ASYMMETRIC]
    if unknown:
        raise TokenConfigError(f"x-jwt lists unknown algorithms {unknown}; known: "
                               f"{', '.join(sorted(_SYMMETRIC | _ASYMMETRIC))}")
    symmetric = [name for name in names if name in _SYMMETRIC]
    if symmetric and len(symmetric) != len(names):
        raise TokenConfigError("x-jwt mixes HS* with public-key algorithms: a token could then "
                               "be checked with a public key as its HMAC secret; use one kind")
    secret: bytes | None = None
    keys: dict[str | None, Any] = {}
    if symmetric:
        if "jwks" in config or "public_key" in config:
            raise TokenConfigError("x-jwt for HS* takes `secret`, not `jwks` or `public_key`")
        secret = _secret(config.get("secret"), environ)
    else:
        if "secret" in config:
            raise TokenConfigError(f"x-jwt for {names[0]} takes `jwks` or `public_key`, not "
                                   "`secret`")
        keys = _public_keys(config, folder, discovered, names)
    issuer = config.get("issuer", discovered.get("issuer") if discovered else None)
    if issuer is not None and not isinstance(issuer, str):
        raise TokenConfigError("x-jwt `issuer` must be a string")
    audience = config.get("audience")
    if isinstance(audience, list) and audience and all(isinstance(a, str) for a in audience):
        audience = tuple(audience)
    elif audience is not None and not isinstance(audience, str):
        raise TokenConfigError("x-jwt `audience` must be a string or a list of strings")
    leeway = config.get("leeway", 0)
    if isinstance(leeway, bool) or not isinstance(leeway, int | float) or leeway < 0:
        raise TokenConfigError("x-jwt `leeway` must be a number of seconds, 0 or more")
    roles_claim = config.get("roles_claim", "roles")
    if not isinstance(roles_claim, str):
        raise TokenConfigError("x-jwt `roles_claim` must be a string")
    return Tokens(tuple(names), secret, keys, issuer, audience, float(leeway), roles_claim)


def _secret(value: Any, environ: Mapping[str, str]) -> bytes:
    if isinstance(value, str):
        raise TokenConfigError("x-jwt `secret` is written into the spec: name an environment "
                               "variable instead, as `secret: {env: JWT_SECRET}`")
    if not (isinstance(value, Mapping) and set(value) == {"env"} and isinstance(value["env"], str)):
        raise TokenConfigError("x-jwt for HS* needs `secret: {env: NAME}`, the environment "
                               "variable that holds the secret")
    name = value["env"]
    found = environ.get(name)
    if not found:
        raise TokenConfigError(f"x-jwt `secret`: the environment variable {name} is not set")
    secret = found.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise TokenConfigError(f"x-jwt `secret`: {name} holds {len(secret)} bytes, fewer than "
                               f"{MIN_SECRET_BYTES}: a short HMAC secret can be guessed offline "
                               "from any one token")
    return secret


def _public_keys(config: Mapping[str, Any], folder: Path, discovered: Mapping[str, Any] | None,
                 algorithms: list[str]) -> dict[str | None, Any]:
    if "public_key" in config:
        if "jwks" in config:
            raise TokenConfigError("x-jwt takes `jwks` or `public_key`, not both")
        pem = _read(config["public_key"], folder, "public_key")
        try:
            # The key's object, not its PEM: no HMAC algorithm would take it as a secret.
            key = jwt.get_algorithm_by_name(algorithms[0]).prepare_key(pem)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenConfigError(f"x-jwt `public_key` is not a public key for "
                                   f"{algorithms[0]}: {exc}") from exc
        if hasattr(key, "public_key"):  # cryptography's private keys have one; public ones not
            raise TokenConfigError("x-jwt `public_key` is a private key: give the public one, "
                                   "and keep the private key out of the server")
        return {None: key}
    source = config.get("jwks")
    if source is None and discovered is not None:
        source = discovered.get("jwks_uri")
    if source is None:
        raise TokenConfigError(f"x-jwt for {algorithms[0]} needs `jwks` (a JWK Set's file or URL) "
                               "or `public_key` (a PEM file)")
    try:
        key_set = jwt.PyJWKSet.from_json(_read(source, folder, "jwks"))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenConfigError(f"x-jwt `jwks` {source!r} is not a JWK Set: {exc}") from exc
    keys: dict[str | None, Any] = {key.key_id: key.key for key in key_set.keys
                                   if key.public_key_use in (None, "sig")}
    if len(keys) == 1:
        keys[None] = next(iter(keys.values()))  # a token without `kid` uses the only key
    return keys


def discover(url: str, folder: Path) -> dict[str, Any]:
    """An OpenID Connect discovery document (`openIdConnectUrl`): its issuer and `jwks_uri`."""
    try:
        document = json.loads(_read(url, folder, "openIdConnectUrl"))
    except ValueError as exc:
        raise TokenConfigError(f"openIdConnectUrl {url!r} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
        raise TokenConfigError(f"openIdConnectUrl {url!r} is no discovery document: it has no "
                               "jwks_uri")
    if isinstance(document.get("issuer"), str) and not url.startswith(("http://", "https://")):
        jwks = document["jwks_uri"]
        if not jwks.startswith(("http://", "https://", "file:")):
            # A file's jwks_uri is relative to the discovery file
            document["jwks_uri"] = str((folder / url).parent / jwks)
    return document


def _read(source: Any, folder: Path, what: str) -> str:
    """A file relative to `folder`, a `file:` URL, or an http(s) URL fetched now (start-up)."""
    if not isinstance(source, str) or not source:
        raise TokenConfigError(f"x-jwt `{what}` must be a file path or a URL")
    parsed = urllib.parse.urlsplit(source)
    try:
        if parsed.scheme in ("http", "https"):
            with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT) as response:
                return str(response.read().decode())
        path = Path(urllib.parse.unquote(parsed.path)) if parsed.scheme == "file" else Path(source)
        return (path if path.is_absolute() else folder / path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenConfigError(f"{what} {source!r} could not be read: {exc}") from exc
