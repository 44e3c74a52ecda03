"""The application end to end over a small fixture spec: pipeline, errors, results, publishing."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from server.app import App, ContractError
from server.settings import Settings
from tests.client import Client
from tests.composition import make_app as composed_app

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(**overrides: Any) -> App:
    settings = Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", **overrides)
    return App(settings)


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(make_app(allow_unbound=True)) as client:
        yield client


def error(status: int, name: str, message: str, code: str | None = None,
          **extra: Any) -> dict[str, Any]:
    inner: dict[str, Any] = {"statusCode": status, "name": name, "message": message}
    if code:
        inner["code"] = code
    inner.update(extra)
    return {"error": inner}


def test_a_broken_contract_lists_every_problem() -> None:
    with pytest.raises(ContractError) as caught:
        make_app()
    assert caught.value.problems == [
        "GET /later (operationId 'ItemController.later'): class 'ItemController' has no method "
        "'later'"]


def test_results_use_the_declared_status(client: Client) -> None:
    response = client.get("/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()[0] == {"id": 1, "name": "one"}
    created = client.post("/items", json={"name": "two"})
    assert created.status_code == 201
    assert created.json()["name"] == "two"


def test_none_is_204_and_a_response_passes_through(client: Client) -> None:
    created = client.post("/items", json={"name": "gone soon"}).json()
    deleted = client.delete(f"/items/{created['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    custom = client.get("/custom")
    assert custom.status_code == 202
    assert custom.headers["location"] == "/jobs/1"
    assert custom.json() == {"queued": True}


def test_unknown_path_and_wrong_method(client: Client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json() == error(404, "NotFoundError", 'Endpoint "GET /nope" not found.')
    response = client.put("/items/1", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    assert response.json() == error(
        405, "MethodNotAllowedError",
        'Method "PUT" is not allowed for "/items/1". Allowed: DELETE, GET, HEAD.')


def test_head_is_get_without_a_body(client: Client) -> None:
    response = client.head("/items/1")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(client.get("/items/1").content))


def test_parameter_errors_are_400(client: Client) -> None:
    response = client.get("/items/abc")
    assert response.status_code == 400
    assert response.json() == error(400, "BadRequestError",
                                    'Invalid data "abc" for parameter "id".',
                                    "INVALID_PARAMETER_VALUE")
    response = client.get("/items?limit=0")
    assert response.status_code == 400
    assert response.json() == error(
        400, "BadRequestError", 'Invalid data "0" for parameter "limit".',
        "INVALID_PARAMETER_VALUE",
        details=[{"path": "", "code": "minimum", "message": "must be >= 1",
                  "info": {"comparison": ">=", "limit": 1}}])


def test_entity_not_found(client: Client) -> None:
    response = client.get("/items/99")
    assert response.status_code == 404
    assert response.json() == error(404, "NotFoundError", "Entity not found: Item with id 99",
                                    "ENTITY_NOT_FOUND")


def test_body_errors(client: Client) -> None:
    response = client.post("/items", json={"name": 1, "id": 3})
    assert response.status_code == 422
    assert response.json() == error(
        422, "UnprocessableEntityError",
        "The request body is invalid. See error object `details` property for more info.",
        "VALIDATION_FAILED",
        details=[
            {"path": "", "code": "additionalProperties",
             "message": "must NOT have additional properties",
             "info": {"additionalProperty": "id"}},
            {"path": "/name", "code": "type", "message": "must be string",
             "info": {"type": "string"}},
        ])
    response = client.post("/items", content=b"{oops", headers={"content-type":
                                                                  "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST_BODY"
    response = client.post("/items", content=b"name=x", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.json() == error(
        415, "UnsupportedMediaTypeError",
        "Content-type application/x-www-form-urlencoded does not match [application/json].",
        "UNSUPPORTED_MEDIA_TYPE")
    response = client.post("/items")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MISSING_REQUIRED_PARAMETER"


def test_body_size_limit_is_413() -> None:
    with Client(make_app(allow_unbound=True, max_body_size=64)) as client:
        response = client.post("/items", json={"name": "x" * 100})
        assert response.status_code == 413
        assert response.json() == error(413, "PayloadTooLargeError",
                                        "Request body is larger than the limit of 64 bytes.",
                                        "REQUEST_BODY_TOO_LARGE")


def test_server_errors_hide_internals_and_are_logged(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="charter"):
        response = client.get("/crash", headers={"x-request-id": "req-42"})
    assert response.status_code == 500
    assert response.json() == error(500, "InternalServerError", "Internal Server Error")
    assert "hunter2" not in response.text
    assert response.headers["x-request-id"] == "req-42"
    assert "req-42" in caplog.text and "hunter2" in caplog.text


def test_debug_shows_the_stack() -> None:
    with Client(make_app(allow_unbound=True, debug=True)) as client:
        body = client.get("/crash").json()["error"]
        assert body["message"] == "database password is hunter2"
        assert "RuntimeError" in body["stack"]


def test_request_ids_are_generated() -> None:
    with Client(make_app(allow_unbound=True)) as client:
        first = client.get("/items").headers["x-request-id"]
        second = client.get("/items").headers["x-request-id"]
        assert first and second and first != second


def test_response_validation_names_operation_and_mismatch(client: Client) -> None:
    response = client.get("/broken")
    assert response.status_code == 500
    assert response.json() == error(
        500, "InternalServerError",
        "The response of ItemController.broken (GET /broken, status 200) does not match the "
        "spec: / must have required property 'name'; /id must be integer",
        "RESPONSE_VALIDATION_FAILED",
        details=[
            {"path": "", "code": "required", "message": "must have required property 'name'",
             "info": {"missingProperty": "name"}},
            {"path": "/id", "code": "type", "message": "must be integer",
             "info": {"type": "integer"}},
        ])


def test_response_validation_can_log_or_be_off(caplog: pytest.LogCaptureFixture) -> None:
    with (caplog.at_level(logging.WARNING, logger="charter"),
          Client(make_app(allow_unbound=True, response_validation="log")) as client):
        response = client.get("/broken")
    assert response.status_code == 200
    assert "does not match the spec" in caplog.text
    app = make_app(allow_unbound=True, response_validation="off")
    with Client(app) as client:
        assert client.get("/broken").json() == {"id": "seven"}
    assert all(not op.response_validators for op in app.operations)  # none compiled either
    assert any(op.response_validators for op in make_app(allow_unbound=True).operations)


_HEAVY = ("sqlalchemy", "alembic", "psycopg", "pymysql", "openapi_spec_validator", "jsonschema",
          "pydantic")


def _imported(code: str) -> list[str]:
    """The heavy libraries a fresh interpreter has imported after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\n"
         f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(_HEAVY)!r}))"],
        capture_output=True, text=True, timeout=120, check=True, cwd=Path(__file__).parents[1])
    return list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_a_valid_spec_without_entities_loads_neither_the_data_layer_nor_the_validator() -> None:
    spec = FIXTURES / "specs" / "pipeline"
    assert _imported(f"from server import App\nApp(spec={str(spec)!r}, handlers='nothing_here', "
                     "allow_unbound=True)") == []
    assert "sqlalchemy" in _imported("from server import Repository")  # loaded when used


def test_a_spec_with_entities_loads_the_data_layer(tmp_path: Path) -> None:
    spec = Path(__file__).parents[1] / "spec"
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert "sqlalchemy" in _imported(
        f"from server import App\nApp(spec={str(spec)!r}, handlers='nothing_here', "
        f"allow_unbound=True, database_url={url!r}, migrate=True)")


def test_unbound_operations_answer_501(client: Client) -> None:
    response = client.get("/later")
    assert response.status_code == 501
    assert response.json() == error(
        501, "NotImplementedError",
        "GET /later (operationId 'ItemController.later') has no handler yet.", "NOT_IMPLEMENTED")


def test_problem_json_format() -> None:
    with Client(make_app(allow_unbound=True, error_format="problem")) as client:
        response = client.get("/nope")
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                                   "detail": 'Endpoint "GET /nope" not found.'}


def test_published_spec_documents_every_error(client: Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["servers"] == [{"url": "http://test"}]
    get_item = document["paths"]["/items/{id}"]["get"]["responses"]
    assert sorted(get_item) == ["200", "400", "404", "405", "431", "500"]
    # a declared status without a body gets the error body the server really sends
    assert get_item["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Charter.Error"}
    post = document["paths"]["/items"]["post"]["responses"]
    assert sorted(post) == ["201", "400", "404", "405", "408", "413", "415", "422", "431", "500"]
    assert post["422"] == {"$ref": "#/components/responses/Charter.UnprocessableEntity"}
    assert "501" in document["paths"]["/later"]["get"]["responses"]
    assert "Charter.Error" in document["components"]["schemas"]


PROXY_HEADERS = {"x-forwarded-proto": "https", "x-forwarded-host": "api.example.com",
                 "x-forwarded-prefix": "/v1"}


def test_published_servers_follow_a_trusted_proxy() -> None:
    # httpx's ASGI transport connects from 127.0.0.1.
    with Client(make_app(allow_unbound=True, forwarded_allow_ips=("127.0.0.0/8",))) as client:
        for path in ("/openapi.json", "/openapi.yaml"):
            response = client.get(path, headers=PROXY_HEADERS)
            assert response.headers["vary"] == (
                "Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix")
            assert yaml.safe_load(response.text)["servers"] == [{"url": "https://api.example.com/v1"}]
        as_yaml = yaml.safe_load(client.get("/openapi.yaml").text)
        assert as_yaml == client.get("/openapi.json").json()


def test_published_servers_ignore_an_untrusted_peers_proxy_headers(client: Client) -> None:
    response = client.get("/openapi.json", headers=PROXY_HEADERS)
    assert response.json()["servers"] == [{"url": "http://test"}]
    assert response.headers["vary"] == "Host"
    response = client.get("/openapi.yaml", headers={"host": "docs.example:8443"})
    assert yaml.safe_load(response.text)["servers"] == [{"url": "http://docs.example:8443"}]
    assert response.headers["vary"] == "Host"


def test_a_host_that_is_not_a_host_name_is_400(client: Client) -> None:
    host = 'javascript://x"><script>'
    for path in ("/openapi.json", "/openapi.yaml"):
        response = client.get(path, headers={"host": host, "x-request-id": "req-7"})
        assert response.status_code == 400
        assert response.json() == error(
            400, "BadRequestError",
            'Invalid Host header "javascript://x\\"><script>": expected host[:port], where host '
            "is a name of letters, digits and -._~, an IPv4 address or a bracketed IPv6 address.")
        assert response.headers["x-request-id"] == "req-7"
    with Client(make_app(allow_unbound=True, forwarded_allow_ips=("*",))) as trusted:
        response = trusted.get("/openapi.json", headers={"x-forwarded-proto": "javascript"})
        assert response.status_code == 400
        assert response.json() == error(
            400, "BadRequestError",
            'Invalid X-Forwarded-Proto header "javascript": expected http or https.')


def test_published_spec_is_a_valid_openapi_document(client: Client) -> None:
    from openapi_spec_validator import OpenAPIV30SpecValidator

    document = orjson.loads(client.get("/openapi.json").content)
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []


def test_lifespan_freezes_the_start_up_heap_and_closes_services() -> None:
    import asyncio
    import gc

    app = make_app(allow_unbound=True)
    closed: list[bool] = []

    class Service:
        def close(self) -> None:
            closed.append(True)

    app.services["extra"] = Service()
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    try:
        asyncio.run(app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert closed == [True]


def test_a_failing_service_factory_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline_handlers

    def services(settings: Settings) -> dict[str, Any]:
        raise OSError("database unreachable")

    monkeypatch.setattr(pipeline_handlers, "services", services, raising=False)
    with pytest.raises(ContractError) as caught:
        make_app(allow_unbound=True)
    assert caught.value.problems == [
        "pipeline_handlers.services(settings) failed: OSError: database unreachable"]


def test_settings_that_would_fail_open_stop_the_start() -> None:
    with pytest.raises(ContractError) as caught:
        make_app(allow_unbound=True, cors_credentials=True,
                 forwarded_allow_ips=("10.0.0.0/8", "proxy.internal"))
    assert caught.value.problems == [
        "CHARTER_CORS_CREDENTIALS is on with CHARTER_CORS_ORIGIN '*': every site could make "
        "credentialed requests as its visitors. List the origins that may send credentials "
        "(CHARTER_CORS_ORIGIN=https://app.example,https://admin.example), or turn "
        "CHARTER_CORS_CREDENTIALS off.",
        "forwarded_allow_ips: 'proxy.internal' is not an IP address or network ('proxy.internal' "
        "does not appear to be an IPv4 or IPv6 network)",
    ]
    with Client(make_app(allow_unbound=True, cors_credentials=True,
                             cors_origin="https://app.example")) as client:
        response = client.get("/items", headers={"origin": "https://app.example"})
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert response.headers["access-control-allow-credentials"] == "true"


def test_a_spec_without_secured_operations_starts_quietly(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="charter"):
        make_app(allow_unbound=True)
    assert caplog.records == []


def write_spec(folder: Path, servers: str, tags: str = "") -> Path:
    (folder / "openapi.yaml").write_text(f"""\
openapi: 3.0.3
info: {{title: x, version: '1'}}
servers: {servers}
{tags}paths:
  /pets/{{id}}:
    get:
      operationId: showPet
      parameters: [{{name: id, in: path, required: true, schema: {{type: integer}}}}]
      responses: {{'200': {{description: ok}}}}
""")
    return folder


@pytest.mark.parametrize(("servers", "prefix"), [
    ("[{url: 'http://petstore.swagger.io/v1'}]", "/v1"),
    ("[{url: '{scheme}://example.com/api/{version}/', variables: "
     "{scheme: {default: https}, version: {default: v2, enum: [v2, v3]}}}, {url: /other}]",
     "/api/v2"),
    ("[{url: /}]", ""),
    ("[]", ""),
])
def test_operations_live_under_the_first_servers_path(tmp_path: Path, servers: str,
                                                      prefix: str) -> None:
    with Client(App(Settings.from_env(
        {}, spec=write_spec(tmp_path, servers), handlers="no_such_package", allow_unbound=True))) as client:
        assert client.get(f"{prefix}/pets/7").status_code == 501
        assert client.get(f"{prefix}/pets/x").status_code == 400
        if prefix:
            assert client.get("/pets/7").status_code == 404
        # the published spec and the explorer answer at the root and under the base path, and the
        # published server is where the operations are
        for page in ("/openapi.json", f"{prefix}/openapi.json"):
            assert client.get(page).json()["servers"] == [{"url": f"http://test{prefix}"}]
        for page in ("/explorer/", f"{prefix}/explorer/"):
            assert client.get(page).status_code == 200


def test_charters_pages_are_routes_that_yield_to_the_specs(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("""\
openapi: 3.0.3
info: {title: x, version: '1'}
paths:
  /{name}.yaml:
    get:
      operationId: showYaml
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
  /openapi.json:
    post:
      operationId: postSpec
      responses: {'200': {description: ok}}
""")
    app = App(Settings.from_env({}, spec=tmp_path, handlers="no_such_package",
                                allow_unbound=True))
    with Client(app) as client:
        # The spec's template takes /openapi.yaml; its POST leaves GET /openapi.json to Charter
        assert client.get("/openapi.yaml").status_code == 501
        page = client.get("/openapi.json")
        assert page.status_code == 200 and page.json()["info"]["title"] == "x"
        assert page.headers["x-request-id"]
        assert client.head("/explorer/").headers["content-type"] == "text/html; charset=utf-8"
        assert client.post("/openapi.json").status_code == 501
        refused = client.delete("/openapi.json")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, POST")
        refused = client.post("/explorer/")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
        assert app.router.routes("GET", "/explorer/swagger-ui.css")


def test_a_base_path_setting_overrides_the_servers_path(tmp_path: Path) -> None:
    # Behind a proxy that strips /v1 (and says so in X-Forwarded-Prefix), the app serves at "".
    spec = write_spec(tmp_path, "[{url: 'http://petstore.swagger.io/v1'}]")
    for setting, prefix in [("", ""), ("/", ""), ("/api/", "/api")]:
        with Client(App(Settings.from_env(
            {"CHARTER_BASE_PATH": setting}, spec=spec, handlers="no_such_package",
            allow_unbound=True))) as client:
            assert client.get(f"{prefix}/pets/7").status_code == 501
            assert client.get("/v1/pets/7").status_code == 404
            assert client.get("/openapi.json").json()["servers"] == [{"url": f"http://test{prefix}"}]


def test_without_a_handlers_package_every_operation_is_unbound_under_allow_unbound(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = write_spec(tmp_path, "[]")
    with caplog.at_level(logging.WARNING, logger="charter"):
        app = App(Settings.from_env({}, spec=spec, handlers="no_such_package",
                                    allow_unbound=True))
    assert [r.getMessage() for r in caplog.records] == [
        "WARNING: there is no handlers package 'no_such_package': every operation the data "
        "layer does not implement is unbound (501), as --allow-unbound allows."]
    with Client(app) as client:
        assert client.get("/pets/1").status_code == 501
    # without --allow-unbound it stays a contract problem; so does a package that is broken
    with pytest.raises(ContractError, match="No module named 'no_such_package'"):
        App(Settings.from_env({}, spec=spec, handlers="no_such_package"))
    (tmp_path / "broken_handlers").mkdir()
    (tmp_path / "broken_handlers" / "__init__.py").write_text("import no_such_dependency\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(tmp_path))
        with pytest.raises(ContractError, match="No module named 'no_such_dependency'"):
            App(Settings.from_env({}, spec=spec, handlers="broken_handlers", allow_unbound=True))


def test_faults_in_what_serves_no_request_are_warnings(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = write_spec(tmp_path, "[]", tags="tags: [{name: pets, description: [a, b]}]\n")
    with caplog.at_level(logging.WARNING, logger="charter"):
        app = App(Settings.from_env({}, spec=spec, handlers="no_such_package",
                                    allow_unbound=True))
    assert caplog.records[0].getMessage().splitlines() == [
        "WARNING: the spec has 1 fault in what serves no request; it is served as it is:",
        f'  - {tmp_path}/openapi.yaml:4: /tags/0/description: ["a","b"] is not of type "string"']
    with Client(app) as client:
        assert client.get("/pets/1").status_code == 501


DOCUMENTED_ERRORS = """\
openapi: 3.1.0
info: {title: x, version: '1'}
paths:
  /problems/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': {description: ok}
        '400': {$ref: '#/components/responses/BadRequest'}
  /ranges/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': {description: ok}
        4XX:
          description: any client error
          content: {application/problem+json: {schema: {type: object, required: [status]}}}
  /loopback/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': {description: ok}
        '400':
          description: LoopBack's shape
          content:
            application/json:
              schema: {type: object, required: [error], properties: {error: {type: object}}}
  /unfillable/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': {description: ok}
        '400':
          description: a shape no error of Charter's has
          content:
            application/json:
              schema: {type: object, required: [reason, retry]}
components:
  responses:
    BadRequest:
      description: Bad request.
      content:
        application/problem+json:
          schema: {type: object, properties: {type: {type: string}, title: {type: string}}}
"""


@pytest.mark.parametrize("error_format", ["loopback", "problem"])
def test_errors_take_the_format_and_media_type_an_operation_documents(
        tmp_path: Path, error_format: str) -> None:
    (tmp_path / "openapi.yaml").write_text(DOCUMENTED_ERRORS)
    with Client(App(Settings.from_env({}, spec=tmp_path, handlers="no_such_package",
                                          allow_unbound=True, error_format=error_format))) as client:
        for path in ("/problems/x", "/ranges/x"):
            response = client.get(path)
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["title"] == "Bad Request"
            assert response.json()["code"] == "INVALID_PARAMETER_VALUE"
        response = client.get("/loopback/x")
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
        # what no operation documents, and what none can fill, come in the configured format
        own = "application/json" if error_format == "loopback" else "application/problem+json"
        for answer in (client.get("/problems/1"), client.get("/unfillable/x")):
            assert answer.status_code in (400, 501)
            assert answer.headers["content-type"] == own
        # ...and where a documented error cannot be filled, what is sent is published there too
        published = client.get("/openapi.json").json()
        unfillable = published["paths"]["/unfillable/{id}"]["get"]["responses"]["400"]["content"]
        assert unfillable[own] == {"schema": {"$ref": "#/components/schemas/Charter.Error"}}
        assert published["components"]["responses"]["BadRequest"]["content"] == {
            "application/problem+json": {"schema": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}}}}}


# --- integers of any size ----------------------------------------------------------------------

WIDE = 2**70  # tests/fixtures/specs/bigints declares it as a bound and an example


@pytest.fixture
def bigints() -> Iterator[Client]:
    with Client(App(Settings.from_env({}, spec=FIXTURES / "specs" / "bigints",
                                      handlers="bigints_handlers"))) as client:
        yield client


def test_a_spec_with_integers_beyond_64_bits_is_published_exactly(bigints: Client) -> None:
    import json

    reading = {"type": "integer", "maximum": WIDE, "example": WIDE}
    as_json = bigints.get("/openapi.json")
    assert as_json.status_code == 200
    assert json.loads(as_json.content)["components"]["schemas"]["Meter"]["properties"][
        "reading"] == reading
    as_yaml = yaml.safe_load(bigints.get("/openapi.yaml").content)
    assert as_yaml["components"]["schemas"]["Meter"]["properties"]["reading"] == reading


def test_a_parameter_beyond_64_bits_inside_its_declared_range_is_exact(bigints: Client) -> None:
    response = bigints.get(f"/meters/{WIDE - 1}", params={"count": 2**63 - 1})
    assert (response.status_code, response.content) == (
        200, b'{"reading":1180591620717411303423,"count":9223372036854775807}')
    response = bigints.get(f"/meters/{-WIDE - 1}")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [{
        "path": "", "code": "minimum", "message": f"must be >= {-WIDE}",
        "info": {"comparison": ">=", "limit": -WIDE}}]
    # An integer with no format and no bounds is still an int64.
    response = bigints.get("/meters/1", params={"count": 2**63})
    assert response.json() == error(400, "BadRequestError", 'Invalid data "9223372036854775808" '
                                    'for parameter "count".', "INVALID_PARAMETER_VALUE")


def test_a_body_beyond_64_bits_inside_its_declared_range_is_exact(bigints: Client) -> None:
    response = bigints.post("/meters", content=b'{"reading": 1180591620717411303424}')
    assert (response.status_code, response.content) == (201, b'{"reading":1180591620717411303424}')
    response = bigints.post("/meters", content=b'{"reading": 1180591620717411303425}')
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [{
        "path": "/reading", "code": "maximum", "message": f"must be <= {WIDE}",
        "info": {"comparison": "<=", "limit": WIDE}}]
    response = bigints.post("/meters", content=b'{"reading": 1, "count": 9223372036854775808}')
    assert response.json()["error"]["details"] == [{
        "path": "/count", "code": "format", "message": 'must match format "int64"',
        "info": {"format": "int64"}}]


def test_without_arguments_the_handlers_package_names_the_apps_parts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("home")
    (tmp_path / "composed").mkdir()
    (tmp_path / "composed" / "__init__.py").write_text(
        "from pathlib import Path\n"
        "from tests.composition import Layer, wsgi_app\n"
        "middleware = [Layer]\n"
        "mounts = {'/old': wsgi_app}\n"
        "static = Path(__file__).parent.parent / 'public'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline", handlers="composed",
                                allow_unbound=True))
    with Client(app) as client:
        assert (client.get("/").text, client.get("/").headers["x-layers"]) == ("home", "layer")
        assert client.get("/old/x").text == "/old|/x"
        assert composed_app(middleware=[]).middleware == ["charter.cors"]  # given, even empty, wins
