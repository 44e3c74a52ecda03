"""Security (`server/security.py`): every scheme type, OR and AND, 401 versus 403 with their
exact challenges, forged tokens, authentication before validation, the principal everywhere,
and the start refusing what cannot be verified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server.app import App
from server.errors import ContractError
from server.settings import Settings
from tests.client import Client

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "s" * 40
ISSUER, AUDIENCE = "https://issuer.test", "items"
TITLE = 'Items "secured"'


def _whoami(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """`GET` answered by `Items.whoami` (each operation its own operationId)."""
    _whoami.count += 1  # type: ignore[attr-defined]
    return {"get": {"operationId": f"whoami{_whoami.count}",  # type: ignore[attr-defined]
                    "x-controller-name": "Items", "x-operation-name": "whoami",
                    "security": security, "responses": {"200": {"description": "who called"}}}}


_whoami.count = 0  # type: ignore[attr-defined]


def write_spec(folder: Path, schemes: dict[str, Any] | None = None,
               paths: dict[str, Any] | None = None) -> Path:
    document = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": "1"},
        "x-interceptors": ["Audit.record"],
        "paths": paths if paths is not None else {
            "/public": _whoami([]),
            "/whoami/key": _whoami([{"apiKey": []}]),
            "/whoami/query": _whoami([{"queryKey": []}]),
            "/whoami/cookie": _whoami([{"cookieKey": []}]),
            "/whoami/basic": _whoami([{"basic": []}]),
            "/whoami/jwt": _whoami([{"jwt": []}]),
            "/whoami/rsa": _whoami([{"rsa": []}]),
            "/whoami/opaque": _whoami([{"opaque": ["items:write"]}]),
            "/whoami/oauth": _whoami([{"oauth": ["items:read"]}]),
            "/whoami/oidc": _whoami([{"oidc": []}]),
            "/whoami/either": _whoami([{"apiKey": []}, {"jwt": []}]),
            "/whoami/both": _whoami([{"apiKey": [], "basic": []}]),
            "/whoami/optional": _whoami([{}, {"apiKey": []}]),
            "/whoami/admin": _whoami([{"basic": ["admin"]}, {"jwt": ["items:admin"]}]),
            "/items": {"post": {
                "operationId": "Items.create", "security": [{"apiKey": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "maxLength": 5}}}}}},
                "responses": {"200": {"description": "created"}}}},
            "/items/count": {"get": {
                "operationId": "Items.count", "security": [{"apiKey": []}],
                "parameters": [{"name": "limit", "in": "query", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "counted"}}}},
        },
        "components": {"securitySchemes": schemes if schemes is not None else SCHEMES},
    }
    (folder / "openapi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder / "openapi.yaml"


JWT = {"algorithms": ["HS256"], "secret": {"env": "TEST_JWT_SECRET"}, "issuer": ISSUER,
       "audience": AUDIENCE}
SCHEMES: dict[str, Any] = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "x-verifier": "Verifiers.api_key"},
    "queryKey": {"type": "apiKey", "in": "query", "name": "api_key",
                 "x-verifier": "Verifiers.api_key"},
    "cookieKey": {"type": "apiKey", "in": "cookie", "name": "session",
                  "x-verifier": "Verifiers.api_key"},
    "basic": {"type": "http", "scheme": "basic", "x-verifier": "Verifiers.basic"},
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "x-jwt": JWT},
    "rsa": {"type": "http", "scheme": "bearer", "x-realm": "keys",
            "x-jwt": {"algorithms": ["RS256"], "public_key": "public.pem"}},
    "opaque": {"type": "http", "scheme": "bearer", "x-verifier": "Verifiers.opaque"},
    "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
        "tokenUrl": "https://issuer.test/token", "scopes": {"items:read": "read"}}},
        "x-jwt": JWT, "x-verifier": "Verifiers.refine"},
    "oidc": {"type": "openIdConnect", "openIdConnectUrl": "discovery.json",
             "x-jwt": {"audience": AUDIENCE}},
}


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for name in ("rsa", "oidc")}


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def write_keys(folder: Path, keys: dict[str, Any]) -> None:
    (folder / "public.pem").write_bytes(public_pem(keys["rsa"]))
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(keys["oidc"].public_key()))
    (folder / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig",
                                                            "alg": "RS256"}]}))
    (folder / "discovery.json").write_text(json.dumps({
        "issuer": "https://idp.test", "jwks_uri": "jwks.json",
        "id_token_signing_alg_values_supported": ["RS256"]}))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Any]) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("secured")
    write_keys(folder, keys)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES / "handlers"))
        patch.setenv("TEST_JWT_SECRET", SECRET)
        app = App(Settings.from_env({}, spec=write_spec(folder), handlers="security_handlers",
                                    access_log=True))
    assert app.access_log is not None
    app.access_log.stream = io.StringIO()
    yield app
    app.close()


@pytest.fixture(scope="module")
def client(app: App) -> Iterator[Client]:
    with Client(app) as client:
        yield client


def token(key: Any = SECRET, algorithm: str = "HS256", headers: dict[str, Any] | None = None,
          **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "ann", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60,
               **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key,
                      algorithm=algorithm, headers=headers)


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {pair}"}


def error(status: int, code: str) -> dict[str, Any]:
    name, message = {
        "MISSING_CREDENTIALS": ("UnauthorizedError",
                                "The request has no credentials that this operation accepts."),
        "INVALID_CREDENTIALS": ("UnauthorizedError", "The request's credentials were refused."),
        "INSUFFICIENT_SCOPE": ("ForbiddenError", "The request's credentials do not grant the "
                                                 "scopes this operation requires."),
        "FORBIDDEN": ("ForbiddenError", "This key is suspended."),
    }[code]
    return {"error": {"statusCode": status, "name": name, "message": message, "code": code}}


def who(client: Client, path: str, **kwargs: Any) -> Any:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["id"]


# -- each scheme ------------------------------------------------------------------------------

def test_api_keys_in_a_header_a_query_and_a_cookie(client: Client) -> None:
    assert who(client, "/whoami/key", headers={"x-api-key": "k-ann"}) == "ann"
    assert who(client, "/whoami/query", params={"api_key": "k-bob"}) == "bob"
    assert who(client, "/whoami/cookie", headers={"cookie": "session=k-ann"}) == "ann"
    missing = client.get("/whoami/key")
    assert (missing.status_code, missing.json()) == (401, error(401, "MISSING_CREDENTIALS"))
    assert "www-authenticate" not in missing.headers  # an apiKey has no challenge
    wrong = client.get("/whoami/query", params={"api_key": "k-eve"})
    assert (wrong.status_code, wrong.json()) == (401, error(401, "INVALID_CREDENTIALS"))
    suspended = client.get("/whoami/key", headers={"x-api-key": "k-banned"})
    assert (suspended.status_code, suspended.json()) == (403, error(403, "FORBIDDEN"))


def test_basic(client: Client) -> None:
    assert who(client, "/whoami/basic", headers=basic("ann", "ann-secret")) == "ann"
    for headers in (basic("ann", "wrong"), basic("nobody", ""),
                    {"authorization": "Basic !!!"}, {"authorization": "Basic YW5u"}):
        refused = client.get("/whoami/basic", headers=headers)
        assert (refused.status_code, refused.json()) == (401, error(401, "INVALID_CREDENTIALS"))
        assert refused.headers["www-authenticate"] == 'Basic realm="Items \\"secured\\""'
    missing = client.get("/whoami/basic", headers=bearer("t-ann"))  # not a Basic credential
    assert missing.json() == error(401, "MISSING_CREDENTIALS")
    assert missing.headers["www-authenticate"] == 'Basic realm="Items \\"secured\\""'


def test_bearer_jwt_verified_by_charter(client: Client) -> None:
    found = client.get("/whoami/jwt", headers=bearer(token(scope="a b"))).json()
    assert found == {"id": "ann", "scheme": "jwt", "scopes": ["a", "b"], "same": True}
    missing = client.get("/whoami/jwt")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="Items \\"secured\\""'


def _unsigned(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    now = int(time.time())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'ann', 'exp': now + 60, **claims})}."


def _hs256_with(key: bytes, **claims: Any) -> str:
    """An HS256 token whose HMAC key is `key`, crafted by hand (PyJWT refuses to sign with a
    public key as a secret): algorithm confusion."""
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()
    now = int(time.time())
    signing = (part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "."
               + part(json.dumps({"sub": "ann", "exp": now + 60, **claims}).encode()))
    return f"{signing}.{part(hmac.new(key, signing.encode(), hashlib.sha256).digest())}"


def test_forged_and_stale_tokens_are_401_invalid_token(client: Client,
                                                       keys: dict[str, Any]) -> None:
    now = int(time.time())
    forged = {
        "expired": token(exp=now - 5),
        "not yet valid": token(nbf=now + 300),
        "without exp": token(exp=None),
        "wrong issuer": token(iss="https://evil.test"),
        "wrong audience": token(aud="other"),
        "wrong secret": token(key="t" * 40),
        "alg none": _unsigned(iss=ISSUER, aud=AUDIENCE),
        "garbage": "not.a.token",
        "RS256 to an HS256 scheme": token(keys["rsa"], "RS256"),
    }
    for name, value in forged.items():
        refused = client.get("/whoami/jwt", headers=bearer(value))
        assert (refused.status_code, refused.json()) == (
            401, error(401, "INVALID_CREDENTIALS")), name
        assert refused.headers["www-authenticate"] == (
            'Bearer realm="Items \\"secured\\"", error="invalid_token"'), name
    assert who(client, "/whoami/rsa", headers=bearer(token(keys["rsa"], "RS256"))) == "ann"
    confused = _hs256_with(public_pem(keys["rsa"]))  # the public key as an HMAC secret
    for value in (confused, _unsigned(), token(keys["oidc"], "RS256")):
        refused = client.get("/whoami/rsa", headers=bearer(value))
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="keys", error="invalid_token"'


def test_bearer_tokens_handed_to_a_verifier(client: Client) -> None:
    assert who(client, "/whoami/opaque", headers=bearer("t-admin")) == "root"
    refused = client.get("/whoami/opaque", headers=bearer("t-eve"))
    assert refused.json() == error(401, "INVALID_CREDENTIALS")
    # a known token without the scope: 403, with the scopes it needs
    short = client.get("/whoami/opaque", headers=bearer("t-ann"))
    assert (short.status_code, short.json()) == (403, error(403, "INSUFFICIENT_SCOPE"))
    assert short.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="items:write"')


def test_oauth2_scopes_and_a_verifier_refining_the_claims(client: Client) -> None:
    found = client.get("/whoami/oauth", headers=bearer(token(scope="items:read x"))).json()
    assert (found["id"], found["scheme"]) == ("user:ann", "oauth")
    short = client.get("/whoami/oauth", headers=bearer(token(scope="x")))
    assert (short.status_code, short.json()) == (403, error(403, "INSUFFICIENT_SCOPE"))
    assert short.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="items:read"')
    blocked = client.get("/whoami/oauth", headers=bearer(token(sub="blocked", scope="items:read")))
    assert blocked.json() == error(401, "INVALID_CREDENTIALS")


def test_openid_connect_from_its_discovery_document(client: Client, keys: dict[str, Any]) -> None:
    signed = token(keys["oidc"], "RS256", headers={"kid": "k1"}, iss="https://idp.test")
    assert who(client, "/whoami/oidc", headers=bearer(signed)) == "ann"
    for value in (token(keys["oidc"], "RS256", headers={"kid": "k1"}),  # the issuer is the IdP's
                  token(keys["oidc"], "RS256", headers={"kid": "k2"}, iss="https://idp.test"),
                  token(keys["rsa"], "RS256", headers={"kid": "k1"}, iss="https://idp.test")):
        assert client.get("/whoami/oidc", headers=bearer(value)).status_code == 401


# -- combinations -----------------------------------------------------------------------------

def test_alternatives_or_and_schemes_and(client: Client) -> None:
    assert who(client, "/whoami/either", headers={"x-api-key": "k-bob"}) == "bob"
    assert who(client, "/whoami/either", headers=bearer(token())) == "ann"
    neither = client.get("/whoami/either")
    assert neither.json() == error(401, "MISSING_CREDENTIALS")
    assert neither.headers["www-authenticate"] == 'Bearer realm="Items \\"secured\\""'
    both = {"x-api-key": "k-bob", **basic("ann", "ann-secret")}
    assert who(client, "/whoami/both", headers=both) == "bob"  # the first scheme's principal
    half = client.get("/whoami/both", headers={"x-api-key": "k-bob"})
    assert (half.status_code, half.headers["www-authenticate"]) == (
        401, 'Basic realm="Items \\"secured\\""')
    wrong_half = client.get("/whoami/both", headers={"x-api-key": "k-bob",
                                                     **basic("ann", "no")})
    assert wrong_half.json() == error(401, "INVALID_CREDENTIALS")


def test_the_most_specific_failure_wins(client: Client) -> None:
    # basic without the admin role (403), the token missing (401): 403
    forbidden = client.get("/whoami/admin", headers=basic("ann", "ann-secret"))
    assert (forbidden.status_code, forbidden.json()) == (403, error(403, "INSUFFICIENT_SCOPE"))
    assert "www-authenticate" not in forbidden.headers  # a role, not a bearer token's scope
    assert who(client, "/whoami/admin", headers=basic("root", "root-secret")) == "root"
    refused = client.get("/whoami/either", headers={"x-api-key": "k-eve"})
    assert refused.json() == error(401, "INVALID_CREDENTIALS")  # refused over missing
    assert refused.headers["www-authenticate"] == 'Bearer realm="Items \\"secured\\""'


def test_an_empty_alternative_lets_anonymous_requests_in(client: Client) -> None:
    assert client.get("/whoami/optional").json() == {"id": None, "scheme": None, "scopes": [],
                                                     "same": True}
    assert who(client, "/whoami/optional", headers={"x-api-key": "k-ann"}) == "ann"
    # credentials that are sent are checked: a wrong key is not downgraded to anonymous
    assert client.get("/whoami/optional",
                      headers={"x-api-key": "k-eve"}).json() == error(401, "INVALID_CREDENTIALS")


# -- order and reach --------------------------------------------------------------------------

def test_authentication_comes_before_validation(client: Client) -> None:
    bad_body = client.post("/items", json={"name": 7})
    assert bad_body.json() == error(401, "MISSING_CREDENTIALS")
    not_json = client.post("/items", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 401
    assert client.get("/items/count", params={"limit": "x"}).status_code == 401
    authenticated = {"x-api-key": "k-ann"}
    assert client.post("/items", json={"name": 7}, headers=authenticated).status_code == 422
    assert client.get("/items/count", params={"limit": "x"},
                      headers=authenticated).status_code == 400
    assert client.post("/items", json={"name": "pen"}, headers=authenticated).json() == {
        "name": "pen", "by": "ann"}


def test_the_principal_reaches_interceptors_and_the_access_log(app: App, client: Client) -> None:
    seen = app.services["seen"]
    seen.clear()
    assert who(client, "/whoami/key", headers={"x-api-key": "k-ann", "x-request-id": "r-1"}) \
        == "ann"
    assert client.get("/whoami/key", headers={"x-request-id": "r-2"}).status_code == 401
    assert who(client, "/public", headers={"x-request-id": "r-3"}) is None
    assert seen == [("key", "k-ann"), ("interceptor", "ann"), ("interceptor", None)]
    assert app.access_log is not None
    app.access_log.flush()
    lines = app.access_log.stream.getvalue().splitlines()  # type: ignore[attr-defined]
    mine = {line.split()[4]: line for line in lines if " r-" in line}
    assert mine["r-1"].endswith(' r-1 principal="ann"')
    assert mine["r-2"].endswith(' r-2 MISSING_CREDENTIALS "The request has no credentials '
                                'that this operation accepts."')
    assert mine["r-3"].endswith(" r-3")


def test_the_published_spec_documents_401_and_403_and_hides_the_configuration(
        client: Client) -> None:
    document = client.get("/openapi.json").json()
    secured = document["paths"]["/whoami/key"]["get"]["responses"]
    assert secured["401"] == {"$ref": "#/components/responses/Charter.Unauthorized"}
    assert secured["403"] == {"$ref": "#/components/responses/Charter.Forbidden"}
    assert "401" not in document["paths"]["/public"]["get"]["responses"]
    unauthorized = document["components"]["responses"]["Charter.Unauthorized"]
    assert set(unauthorized["headers"]) == {"WWW-Authenticate"}
    schemes = document["components"]["securitySchemes"]
    assert not any(key in scheme for scheme in schemes.values()
                   for key in ("x-jwt", "x-verifier"))
    assert schemes["rsa"]["x-realm"] == "keys"  # the user's own extensions stay


# -- the start --------------------------------------------------------------------------------

def start(folder: Path, schemes: dict[str, Any], paths: dict[str, Any] | None = None,
          **settings: Any) -> App:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES / "handlers"))
        patch.setenv("TEST_JWT_SECRET", SECRET)
        patch.setenv("SHORT_SECRET", "s" * 31)
        spec = write_spec(folder, schemes, paths or {
            f"/{name}": _whoami([{name: []}]) for name in schemes})
        return App(Settings.from_env({}, spec=spec, handlers="security_handlers", **settings))


def problems_of(folder: Path, schemes: dict[str, Any], **settings: Any) -> list[str]:
    with pytest.raises(ContractError) as caught:
        start(folder, schemes, **settings)
    return caught.value.problems


def test_schemes_nothing_verifies_stop_the_start_all_named(tmp_path: Path) -> None:
    assert problems_of(tmp_path, {
        "key": {"type": "apiKey", "in": "header", "name": "k"},
        "token": {"type": "http", "scheme": "bearer"},
        "fine": SCHEMES["basic"],
    }) == ["nothing verifies the security scheme(s) 'key', 'token', which operations require: "
           "give each an `x-verifier: Class.method` of the handlers package (or, for bearer, "
           "oauth2 and openIdConnect tokens, an `x-jwt`); until then every credential would be "
           "refused, or, worse, accepted (README: Security)"]


@pytest.mark.parametrize(("scheme", "problem"), [
    ({"type": "mutualTLS"}, "securitySchemes.s is mutualTLS: the ASGI server passes no client "
     "certificate to the app, so Charter cannot check one. Terminate TLS at a proxy that "
     "verifies the certificate and sets a header, and check that header with an apiKey scheme "
     "and its x-verifier (README: Security)"),
    ({"type": "http", "scheme": "digest"},
     "securitySchemes.s is http 'digest': Charter verifies the http schemes basic and bearer"),
    ({"type": "apiKey", "in": "header", "name": "k", "x-jwt": JWT},
     "securitySchemes.s: x-jwt is for bearer, oauth2 and openIdConnect schemes, not apiKey"),
    ({"type": "apiKey", "in": "header", "name": "k", "x-verifier": "Verifiers.wrong"},
     "securitySchemes.s: x-verifier 'Verifiers.wrong' is called with key; it takes "
     "(secret)"),
    ({"type": "apiKey", "in": "header", "name": "k", "x-verifier": "Verifiers.nothing"},
     "securitySchemes.s: x-verifier 'Verifiers.nothing': class 'Verifiers' has no method "
     "'nothing'"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {"secret": {"env": "TEST_JWT_SECRET"}}},
     "securitySchemes.s: x-jwt needs `algorithms`, a list such as [HS256] or [RS256]: a token "
     "never chooses how it is checked"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {**JWT, "algorithms": ["HS256", "none"]}},
     "securitySchemes.s: x-jwt lists the algorithm `none`, which accepts unsigned tokens: "
     "remove it"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {**JWT, "secret": "in-the-spec"}},
     "securitySchemes.s: x-jwt `secret` is written into the spec: name an environment variable "
     "instead, as `secret: {env: JWT_SECRET}`"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {**JWT, "secret": {"env": "NOT_SET_HERE"}}},
     "securitySchemes.s: x-jwt `secret`: the environment variable NOT_SET_HERE is not set"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {**JWT, "secret": {"env": "SHORT_SECRET"}}},
     "securitySchemes.s: x-jwt `secret`: SHORT_SECRET holds 31 bytes, fewer than 32: a short "
     "HMAC secret can be guessed offline from any one token"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {**JWT, "algorithms": ["HS256", "RS256"]}},
     "securitySchemes.s: x-jwt mixes HS* with public-key algorithms: a token could then be "
     "checked with a public key as its HMAC secret; use one kind"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {"algorithms": ["RS256"]}},
     "securitySchemes.s: x-jwt for RS256 needs `jwks` (a JWK Set's file or URL) or "
     "`public_key` (a PEM file)"),
    ({"type": "http", "scheme": "bearer", "x-jwt": {"algorithms": ["RS256"],
                                                    "public_key": "private.pem"}},
     "securitySchemes.s: x-jwt `public_key` is a private key: give the public one, and keep "
     "the private key out of the server"),
    ({"type": "openIdConnect", "openIdConnectUrl": "nowhere.json"},
     "securitySchemes.s: openIdConnectUrl 'nowhere.json' could not be read: [Errno 2] No such "
     "file or directory: '{folder}/nowhere.json'"),
])
def test_a_scheme_that_cannot_verify_stops_the_start(tmp_path: Path, keys: dict[str, Any],
                                                     scheme: dict[str, Any], problem: str) -> None:
    (tmp_path / "private.pem").write_bytes(keys["rsa"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    assert problems_of(tmp_path, {"s": scheme}) == [problem.replace("{folder}", str(tmp_path))]


def test_an_undefined_scheme_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as caught:
        start(tmp_path, {"basic": SCHEMES["basic"]}, {"/a": _whoami([{"nope": []}])})
    assert caught.value.problems == [
        "GET /a: its security names the scheme 'nope', which components.securitySchemes does "
        "not define"]


def test_under_allow_unbound_an_unverified_scheme_takes_any_credential(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    schemes = {"key": {"type": "apiKey", "in": "header", "name": "x-key"},
               "oauth": {"type": "oauth2", "flows": {"implicit": {
                   "authorizationUrl": "https://a.test", "scopes": {"w": "write"}}}}}
    with caplog.at_level("WARNING", logger="charter"):
        app = start(tmp_path, schemes, {"/key": _whoami([{"key": []}]),
                                        "/oauth": _whoami([{"oauth": ["w"]}])},
                    allow_unbound=True)
    assert [r.getMessage() for r in caplog.records] == [
        "WARNING: nothing verifies the security scheme(s) 'key', 'oauth' yet: under "
        "--allow-unbound, a request without their credential gets 401, and one with any "
        "credential at all is let in, granted the scopes it needs."]
    with Client(app) as client:
        assert client.get("/key").status_code == 401
        assert client.get("/key", headers={"x-key": "anything"}).json() == {
            "id": None, "scheme": "key", "scopes": [], "same": True}
        assert client.get("/oauth", headers=bearer("whatever")).json()["scopes"] == ["w"]
        assert client.get("/oauth").headers["www-authenticate"] == 'Bearer realm="Items \\"secured\\""'


def test_charter_check_names_each_operations_requirements(app: App) -> None:
    shown = {op.path: str(op.guard) for op in app.operations if op.guard is not None}
    assert shown["/whoami/either"] == "apiKey or jwt"
    assert shown["/whoami/both"] == "apiKey+basic"
    assert shown["/whoami/optional"] == "apiKey or anonymous"
    assert shown["/whoami/oauth"] == "oauth[items:read]"
    assert shown["/whoami/admin"] == "basic[admin] or jwt[items:admin]"
    assert "/public" not in shown
