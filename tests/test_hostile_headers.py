"""Hostile headers, one attack per test, each with the answer that must hold instead.

1. Credentialed CORS from any origin: by LoopBack's defaults any Origin was echoed with
   `Access-Control-Allow-Credentials: true`, so any site could call the API as its visitors.
   Now `*` is a literal `*` without credentials, and credentials with `*` stop the start.
2. Credentialed CORS from `Origin: null` (sandboxed iframes, file:// pages, redirects: any site
   can send it): never echoed, and listing it stops the start.
3. Junk Host values (`javascript://x"><script>`, spaces, two hosts, 300 characters): copied into
   the published `servers`; now 400 naming the header.
4. X-Forwarded-Host, -Proto and -Prefix from a peer that is not a configured proxy: believed;
   now not read at all, and a configured proxy's are checked like Host.
5. Cache flooding: 64 junk Hosts filled the render cache for good, after which every
   `/openapi.yaml` was rendered afresh (47 to 100 ms). Now the document is serialized once and a
   Host costs a splice: no per-Host state, tens of microseconds per request.
6. A spec that declares `security`: served as if it did not, with 200 and no credentials. Now the
   start is refused, naming the operations (tests/test_app.py and tests/test_cli.py hold the
   details).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from server.app import App, ContractError
from server.settings import Settings
from server.types import Message
from tests.client import Client

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
EVIL = "https://evil.example"


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


def pipeline_app(**overrides: Any) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", allow_unbound=True, **overrides))


@pytest.mark.timeout(10)
def test_credentialed_cors_from_any_origin() -> None:
    with Client(pipeline_app()) as client:
        for origin in (EVIL, "null"):
            response = client.get("/items", headers={"origin": origin, "cookie": "session=victim"})
            assert response.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in response.headers
            preflight = client.request("OPTIONS", "/items", headers={
                "origin": origin, "access-control-request-method": "DELETE"})
            assert preflight.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in preflight.headers
    with pytest.raises(ContractError) as caught:
        pipeline_app(cors_credentials=True)
    assert caught.value.problems[0].startswith(
        "CHARTER_CORS_CREDENTIALS is on with CHARTER_CORS_ORIGIN '*'")


@pytest.mark.timeout(10)
def test_credentialed_cors_from_the_null_origin() -> None:
    with Client(pipeline_app(cors_origin="https://app.example", cors_credentials=True)) as client:
        for origin in ("null", EVIL):
            response = client.get("/items", headers={"origin": origin})
            assert "access-control-allow-origin" not in response.headers
            assert "access-control-allow-credentials" not in response.headers
    with pytest.raises(ContractError) as caught:
        pipeline_app(cors_origin="https://app.example, null", cors_credentials=True)
    assert caught.value.problems == [
        "CHARTER_CORS_ORIGIN lists 'null', which Charter never allows: sandboxed iframes, "
        "file:// pages and redirects send it, so any site can claim it."]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("host", [
    'javascript://x"><script>', "a b", "a.example, b.example", "x" * 300, "a/b@c", "[::1",
])
def test_junk_host_values(host: str) -> None:
    with Client(pipeline_app()) as client:
        shown = json.dumps(host if len(host) <= 100 else host[:100] + "...")
        for path in ("/openapi.json", "/openapi.yaml"):
            response = client.get(path, headers={"host": host})
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {"error": {
                "statusCode": 400, "name": "BadRequestError",
                "message": f"Invalid Host header {shown}: expected host[:port], where host is a name "
                           "of letters, digits and -._~, an IPv4 address or a bracketed IPv6 address."}}


@pytest.mark.timeout(10)
def test_forwarded_headers_from_an_untrusted_peer() -> None:
    hostile = {"x-forwarded-host": 'evil.example"><script>', "x-forwarded-proto": "javascript",
               "x-forwarded-prefix": "/x/../../<script>"}
    # httpx's ASGI transport connects from 127.0.0.1, which is not a configured proxy here.
    for app in (pipeline_app(), pipeline_app(forwarded_allow_ips=("10.0.0.0/8",))):
        with Client(app) as client:
            response = client.get("/openapi.json", headers=hostile)
        assert response.status_code == 200
        assert response.json()["servers"] == [{"url": "http://test"}]
    # A configured proxy is believed, and checked.
    with Client(pipeline_app(forwarded_allow_ips=("127.0.0.1",))) as client:
        response = client.get("/openapi.json", headers=hostile)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        'Invalid X-Forwarded-Host header "evil.example\\"><script>"')


def _get(app: App, path: str, host: str, loop: asyncio.AbstractEventLoop) -> int:
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", host.encode())], "scheme": "http",
             "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5555)}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    loop.run_until_complete(app(scope, receive, send))
    return int(sent[0]["status"])


@pytest.mark.timeout(60)
def test_cache_flooding_with_many_hosts(tmp_path: Path) -> None:
    """The example's spec (about 70 kB of YAML) under 1,000 Hosts it has never seen."""
    app = App(Settings.from_env({}, spec=ROOT / "spec", handlers="handlers",
                                database_url=f"sqlite:///{tmp_path}/app.db", migrate=True))
    loop = asyncio.new_event_loop()
    try:
        for path in ("/openapi.json", "/openapi.yaml"):
            _get(app, path, "warm.example", loop)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1000):
            for path in ("/openapi.json", "/openapi.yaml"):
                assert _get(app, path, f"junk{n}.example", loop) == 200
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert grown < 256 * 1024, f"{grown} bytes kept after 2,000 junk Hosts"
        times = []
        for n in range(50):
            started = time.perf_counter()
            assert _get(app, "/openapi.yaml", f"fresh{n}.example", loop) == 200
            times.append(time.perf_counter() - started)
        # Rendering the YAML afresh took 47 to 100 ms; a splice takes tens of microseconds.
        assert statistics.median(times) < 0.005
    finally:
        loop.close()


@pytest.mark.timeout(10)
def test_secured_spec_refused() -> None:
    with pytest.raises(ContractError) as caught:
        App(Settings.from_env({}, spec=FIXTURES / "specs" / "security_root",
                              handlers="pipeline_handlers"))
    assert caught.value.problems == [
        "nothing verifies the security scheme(s) 'apiKey', 'bearerAuth', which operations "
        "require: give each an `x-verifier: Class.method` of the handlers package (or, for "
        "bearer, oauth2 and openIdConnect tokens, an `x-jwt`); until then every credential "
        "would be refused, or, worse, accepted (README: Security)"]
