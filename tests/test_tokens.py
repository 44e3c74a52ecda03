"""JWT verification (`server/tokens.py`): keys by `kid`, a JWK Set fetched by URL at start-up,
leeway, the principal's scopes and roles; every refusal is None, never an exception."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server.tokens import TokenConfigError, compile_tokens, discover

SECRET = "k" * 32
ENV = {"SECRET": SECRET}


def signed(key: Any = SECRET, algorithm: str = "HS256", kid: str | None = None,
           **claims: Any) -> str:
    payload = {"sub": "ann", "exp": int(time.time()) + 60, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key,
                      algorithm=algorithm, headers={"kid": kid} if kid else None)


def test_claims_give_the_principal() -> None:
    tokens = compile_tokens({"algorithms": ["HS256"], "secret": {"env": "SECRET"},
                             "roles_claim": "groups"}, Path("."), environ=ENV)
    claims = tokens.claims(signed(scp=["a", "b"], groups=["admin"]))
    assert claims is not None
    principal = tokens.principal(claims, "bearer")
    assert (principal.id, principal.scopes, principal.roles, principal.scheme) == (
        "ann", frozenset({"a", "b"}), frozenset({"admin"}), "bearer")
    assert tokens.principal({"sub": 7, "scope": "x y"}, "b").scopes == frozenset({"x", "y"})


def test_leeway_allows_that_much_clock_skew_and_no_more() -> None:
    tokens = compile_tokens({"algorithms": ["HS256"], "secret": {"env": "SECRET"},
                             "leeway": 30}, Path("."), environ=ENV)
    now = int(time.time())
    assert tokens.claims(signed(exp=now - 10)) is not None
    assert tokens.claims(signed(nbf=now + 10)) is not None
    assert tokens.claims(signed(exp=now - 60)) is None
    assert tokens.claims(signed(nbf=now + 60)) is None


def test_every_bad_token_is_none() -> None:
    tokens = compile_tokens({"algorithms": ["HS256"], "secret": {"env": "SECRET"},
                             "audience": ["a", "b"]}, Path("."), environ=ENV)
    assert tokens.claims(signed(aud="b")) is not None
    for value in ("", ".", "a.b.c", "x" * 10_000, signed(aud="c"), signed(),
                  signed(key="j" * 32, aud="a")):
        assert tokens.claims(value) is None


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A JWK Set of two EC keys served on 127.0.0.1, and the private keys by kid."""
    private = {kid: ec.generate_private_key(ec.SECP256R1()) for kid in ("one", "two")}
    body = json.dumps({"keys": [
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": kid}
        for kid, key in private.items()]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", private
    finally:
        server.shutdown()
        server.server_close()


def test_a_jwk_set_by_url_is_read_at_start_up_and_keys_chosen_by_kid(
        jwks_server: tuple[str, dict[str, Any]]) -> None:
    url, private = jwks_server
    tokens = compile_tokens({"algorithms": ["ES256"], "jwks": url}, Path("."))
    assert tokens.claims(signed(private["one"], "ES256", kid="one")) is not None
    assert tokens.claims(signed(private["two"], "ES256", kid="two")) is not None
    assert tokens.claims(signed(private["one"], "ES256", kid="two")) is None
    assert tokens.claims(signed(private["one"], "ES256", kid="three")) is None
    assert tokens.claims(signed(private["one"], "ES256")) is None  # two keys: a kid is needed


def test_discovery_from_a_file_finds_its_key_set_beside_it(tmp_path: Path) -> None:
    (tmp_path / "idp").mkdir()
    (tmp_path / "idp" / "openid.json").write_text(json.dumps({
        "issuer": "https://idp.test", "jwks_uri": "keys.json"}))
    found = discover("idp/openid.json", tmp_path)
    assert found["jwks_uri"] == str(tmp_path / "idp" / "keys.json")
    with pytest.raises(TokenConfigError, match="is no discovery document: it has no jwks_uri"):
        (tmp_path / "bad.json").write_text("{}")
        discover("bad.json", tmp_path)


def test_a_verified_token_is_remembered_and_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = compile_tokens({"algorithms": ["HS256"], "secret": {"env": "SECRET"}, "leeway": 5},
                            Path("."), environ=ENV)
    now = time.time()
    value = signed(exp=int(now) + 60, nbf=int(now) - 1)
    assert tokens.claims(value) is not None
    assert list(tokens.verified) == [value]
    forged = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    assert tokens.claims(forged) is None and forged not in tokens.verified
    claims = tokens.claims(value)
    assert claims is not None
    claims["sub"] = "mallory"  # what a caller does to its copy stays there
    assert tokens.verified[value]["sub"] == "ann"
    monkeypatch.setattr(time, "time", lambda: now + 64)  # within the leeway
    assert tokens.claims(value) is not None
    monkeypatch.setattr(time, "time", lambda: now + 70)
    assert tokens.claims(value) is None and value not in tokens.verified


def test_at_most_so_many_tokens_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("server.tokens.VERIFIED_TOKENS", 3)
    tokens = compile_tokens({"algorithms": ["HS256"], "secret": {"env": "SECRET"}}, Path("."),
                            environ=ENV)
    values = [signed(n=n) for n in range(5)]
    assert all(tokens.claims(value) is not None for value in values)
    assert list(tokens.verified) == values[2:]
