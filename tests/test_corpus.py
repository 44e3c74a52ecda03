"""Real-world specs, unmodified, from `../shared/specs/` (see its README): each loads with no
handlers at all, serves, republishes a valid document, and answers a valid request with 501
(a secured one with 401 first, then, with any credential, as its schemes are not verified yet).

They are other people's text: read in place, never copied here. Where the folder is absent (a
clone of this repository on its own), these tests skip and say so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from openapi_spec_validator import validate

from server.app import App
from server.operations import Operation
from server.refs import deref
from server.security import Alternative
from server.settings import Settings
from server.spec import check_document
from tests.client import Client

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "specs"
_LARGE = "digitalocean/specification/DigitalOcean-public.v2.yaml"


def _documents() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"the real-world corpus is not here ({CORPUS}): it ships beside the "
                   "repository in CI, not in it"))]
    found = sorted([*CORPUS.glob("oai/v3.*/*.yaml"), *CORPUS.glob("oai/v3.*/*.json"),
                    CORPUS / "museum" / "openapi.yaml"])
    return [*(pytest.param(path, id=str(path.relative_to(CORPUS))) for path in found),
            pytest.param(CORPUS / _LARGE, id=_LARGE,
                         marks=[pytest.mark.slow, pytest.mark.timeout(900)])]


@pytest.mark.parametrize("document", _documents())
def test_a_real_spec_loads_serves_and_publishes(document: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="charter"):
        app = App(Settings.from_env({}, spec=document, handlers="corpus_has_no_handlers",
                                    allow_unbound=True))
    assert any("there is no handlers package" in r.getMessage() for r in caplog.records)
    with Client(app) as client:
        published = client.get("/openapi.json")
        assert published.status_code == 200
        # Valid per openapi-spec-validator, but for the spec's own faults in what serves no request
        # (DigitalOcean's `default: null`), which loading reported as warnings.
        problems, warnings = check_document(published.json(), app.spec.version, {"": "published"})
        assert problems == []
        assert {_fault(w) for w in warnings} <= {_fault(w) for w in app.spec.warnings}
        if not app.spec.warnings:
            validate(published.json())
        assert published.json()["servers"] == [{"url": f"http://test{app.base_path}"}]
        request = _a_valid_request(app)
        if request is None:  # a document of webhooks only
            assert not app.operations
            return
        method, url = request
        operation = app.router.find_route(method, url.partition("?")[0])[0]
        assert isinstance(operation, Operation)
        headers: dict[str, str] = {}
        if operation.guard is not None:
            refused = client.request(method, url)
            assert refused.status_code == 401, (method, url, refused.text)
            url, headers = _with_credentials(url, operation.guard.alternatives[0])
        answer = client.request(method, url, headers=headers)
        assert answer.status_code == 501, (method, url, answer.text)
        assert answer.json()["error"]["code"] == "NOT_IMPLEMENTED"


def _with_credentials(url: str, alternative: Alternative) -> tuple[str, dict[str, str]]:
    """`url` and headers carrying some credential for each scheme of `alternative`."""
    headers: dict[str, str] = {}
    for scheme, _ in alternative:
        if scheme.kind == "apiKey" and scheme.location == "query":
            url += ("&" if "?" in url else "?") + urlencode({scheme.key_name: "any"})
        elif scheme.kind == "apiKey" and scheme.location == "cookie":
            headers["cookie"] = f"{scheme.key_name}=any"
        elif scheme.kind == "apiKey":
            headers[scheme.key_name or ""] = "any"
        else:
            headers["authorization"] = "Basic YTpi" if scheme.kind == "basic" else "Bearer any"
    return url, headers


def _fault(report: str) -> str:
    """What a fault report says, without where (`file:line: /pointer: `)."""
    return report.split(": ", 2)[-1]


def _a_valid_request(app: App) -> tuple[str, str] | None:
    """An operation's method and URL that its parameters accept: the first whose required
    parameters are all in its path or query, of a type a plain value fills, and that needs no
    body."""
    document = app.spec.document
    for path, method, operation, item in app.spec.operations():
        parameters = [deref(document, p) for p in
                      [*(item.get("parameters") or []), *(operation.get("parameters") or [])]]
        body = deref(document, operation.get("requestBody") or {})
        needed = [p for p in parameters if p["in"] == "path" or p.get("required")]
        if body.get("required") or any(p["in"] not in ("path", "query") for p in needed):
            continue
        values = {(p["in"], p["name"]): _plain_value(deref(document, p.get("schema") or {}))
                  for p in needed}
        if None in values.values():
            continue
        query = urlencode({name: value for (where, name), value in values.items()
                           if where == "query"})
        for (where, name), value in values.items():
            if where == "path":
                path = path.replace(f"{{{name}}}", value or "")
        return method.upper(), app.base_path + path + (f"?{query}" if query else "")
    return None


_FORMATS = {"int32": "1", "int64": "1", "uri": "https://example.com/a", "date": "2025-01-02",
            "date-time": "2025-01-02T03:04:05Z", "email": "a@example.com",
            "uuid": "6f1c2e1a-0b7e-4d4e-9c57-2a1b3c4d5e6f"}


def _plain_value(schema: dict[str, Any]) -> str | None:
    if schema.get("enum"):
        return str(schema["enum"][0])
    if "pattern" in schema:
        return None
    if "format" in schema:
        return _FORMATS.get(schema["format"])
    return {"integer": "1", "number": "1", "string": "a", None: "a"}.get(schema.get("type"))
