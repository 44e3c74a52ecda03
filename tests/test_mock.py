"""The mock (`server/mock.py`, `charter serve --mock`): examples, Prism's `Prefer` header, data
generated from the schemas that satisfies them, headers and media types, the request checked as
ever, mixed mode, and the entities' real CRUD on a database seeded from their examples."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from server.app import App
from server.cli import main
from server.errors import ContractError
from server.settings import Settings
from tests.client import Client

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = FIXTURES / "specs" / "mock"
BEARER = {"authorization": "Bearer anything"}


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


def mock_app(spec: Path = SPEC, handlers: str = "mock_handlers") -> App:
    return App(Settings(spec=spec, handlers=handlers, mock=True))


@pytest.fixture
def client(caplog: pytest.LogCaptureFixture) -> Iterator[Client]:
    with caplog.at_level(logging.INFO, logger="charter"), Client(mock_app()) as started:
        yield started


def start_up_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.get_records("setup"))


def schema_of(app: App, path: str, status: str = "200") -> Any:
    """The published response schema, standalone: what a client checks the answer against."""
    document = app.publisher.document
    content = document["paths"][path]["get"]["responses"][status]["content"]
    schema = content["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_the_first_example_is_the_answer_with_its_headers(client: Client) -> None:
    response = client.get("/stats")
    assert response.status_code == 200
    assert response.json() == {"total": 40, "kinds": {"cat": 25, "dog": 15}}
    assert response.headers["x-charter-mock"] == "example=busy"
    assert response.headers["x-request-cost"] == "cheap"
    # A required header without an example is generated from its schema.
    assert 1 <= int(response.headers["x-rate-limit"]) <= 1000


def test_prefer_picks_an_example_by_name(client: Client) -> None:
    response = client.get("/stats", headers={"prefer": "example=quiet"})
    assert response.json() == {"total": 0, "kinds": {}}
    assert response.headers["x-charter-mock"] == "example=quiet"


def test_prefer_picks_a_status_its_range_or_refuses(client: Client) -> None:
    missing = client.get("/stats", headers={"prefer": "code=404"})
    assert missing.status_code == 404
    # No example: one composed of the properties' (the status has none, and is optional).
    assert missing.headers["x-charter-mock"] == "composed"
    assert missing.json() == {"title": "Not there"}
    down = client.get("/stats", headers={"prefer": "code=503"})  # documented as 5XX
    assert down.status_code == 503
    teapot = client.get("/stats", headers={"prefer": "code=418"})
    assert teapot.status_code == 400
    assert teapot.json()["error"] == {
        "statusCode": 400, "name": "BadRequestError", "code": "UNKNOWN_PREFERENCE",
        "message": "Prefer: code=418: GET /stats documents no 418 response; it documents "
                   "200, 404, 5XX."}
    assert client.get("/stats", headers={"prefer": "code=abc"}).status_code == 400


def test_a_status_the_server_answers_itself_is_its_own_error(client: Client) -> None:
    # /kinds documents only 200: Charter publishes its own 404 and 500 there, and sends them.
    response = client.get("/kinds", headers={"prefer": "code=404"})
    assert response.status_code == 404
    assert response.json()["error"]["name"] == "NotFoundError"
    assert response.headers["x-charter-mock"] == "error"
    assert client.get("/kinds", headers={"prefer": "code=500"}).status_code == 500


def test_an_example_that_breaks_its_schema_is_never_sent(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    assert ("GET /stats response 200 application/json example 'wrong' does not satisfy its "
            "schema (/ must have required property 'kinds'); the mock leaves it out"
            in start_up_log(caplog))
    response = client.get("/stats", headers={"prefer": "example=wrong"})
    assert response.status_code == 400
    assert "does not satisfy its schema" in response.json()["error"]["message"]
    unknown = client.get("/stats", headers={"prefer": "example=nope"})
    assert unknown.json()["error"]["message"] == (
        "Prefer: example=nope: GET /stats documents no such example for 200; it has busy, quiet.")


def test_generated_data_satisfies_the_schema_and_is_the_same_on_every_start() -> None:
    answers = []
    for _ in range(2):
        with Client(mock_app()) as client:
            response = client.get("/kinds")
            assert response.headers["x-charter-mock"] == "generated"
            answers.append(response.json())
            jsonschema.validate(response.json(), schema_of(client_app(client), "/kinds"))
    assert answers[0] == answers[1]
    assert answers[0], "minItems: 1"


def client_app(client: Client) -> App:
    app = client.app
    assert isinstance(app, App)
    return app


def test_dynamic_answers_differ_and_each_satisfies_the_schema(client: Client) -> None:
    schema = schema_of(client_app(client), "/kinds")
    seen = []
    for _ in range(6):
        response = client.get("/kinds", headers={"prefer": "dynamic=true"})
        assert response.headers["x-charter-mock"] == "generated; dynamic"
        jsonschema.validate(response.json(), schema)
        seen.append(response.text)
    assert len(set(seen)) > 1


def test_the_media_type_follows_accept(client: Client) -> None:
    text = client.get("/pets/1/photo")
    assert (text.headers["content-type"], text.text) == ("text/plain", "a cat")
    xml = client.get("/pets/1/photo", headers={"accept": "application/xml"})
    assert (xml.headers["content-type"], xml.text) == ("application/xml", "<photo>cat</photo>")


def test_what_the_mock_deleted_stays_deleted_until_it_is_put_again(client: Client) -> None:
    assert client.get("/pets/7/photo").status_code == 200
    assert client.delete("/pets/7/photo").status_code == 204
    gone = client.get("/pets/7/photo")
    assert gone.status_code == 404
    assert gone.headers["x-charter-mock"] == "example"  # documented without content
    assert client.get("/pets/8/photo").status_code == 200
    assert client.put("/pets/7/photo", content=b"new", headers={"content-type": "text/plain"}
                      ).status_code == 204
    assert client.get("/pets/7/photo").status_code == 200
    assert client.delete("/pets/7/photo").status_code == 204
    again = client.delete("/pets/7/photo")  # DELETE documents no 404: the server's own
    assert again.status_code == 404
    assert again.json()["error"]["message"] == "/pets/7/photo was deleted."
    placed = client.post("/orders", json={"petId": 1, "quantity": 1}, headers=BEARER)
    assert placed.status_code == 201
    assert client.get("/pets/7/photo").status_code == 404  # another collection's POST


def test_the_request_is_checked_before_the_mock_answers(client: Client) -> None:
    assert client.post("/orders", json={"petId": 1, "quantity": 1}).status_code == 401
    invalid = client.post("/orders", json={"petId": "x", "quantity": 0}, headers=BEARER)
    assert invalid.status_code == 422
    assert len(invalid.json()["error"]["details"]) == 2
    assert client.get("/pets/x/photo").status_code == 400
    placed = client.post("/orders", json={"petId": 1, "quantity": 1}, headers=BEARER)
    assert placed.status_code == 201
    assert placed.headers["location"] == "/orders/1"
    assert placed.content == b""


def test_operations_with_handlers_are_not_mocked(client: Client) -> None:
    response = client.get("/health")
    assert response.json() == {"ok": True}
    assert "x-charter-mock" not in response.headers
    targets = {op.operation_id: op.target for op in client_app(client).operations}
    assert targets["Health.check"] == "mock_handlers.Health.check"
    assert targets["Stats.summary"] == "(mock)"


def test_entities_are_real_crud_seeded_from_their_examples(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    # Tom refers to an owner stored after him; the third example's name is too long.
    assert client.get("/pets").json() == [{"id": 1, "name": "Tom", "ownerId": 1},
                                          {"id": 2, "name": "Felix"}]
    assert ("Pet's example 3 cannot be stored (/name must NOT have more than 20 characters); "
            "the mock leaves it out" in start_up_log(caplog))
    assert client.get("/pets/1/owner").json() == {"id": 1, "name": "Ann"}
    created = client.post("/pets", json={"name": "Rex", "ownerId": 1})
    assert created.status_code == 200
    assert client.get(f"/pets/{created.json()['id']}").json()["name"] == "Rex"
    assert client.get("/pets/count").json() == {"count": 3}
    assert "x-charter-mock" not in created.headers


def test_each_start_has_a_database_of_its_own() -> None:
    for _ in range(2):
        with Client(mock_app()) as client:
            assert client.post("/owners", json={"name": "Bo"}).json()["id"] == 2


def test_a_schema_nothing_satisfies_is_a_501_that_says_so(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text("""
openapi: 3.0.3
info: {title: impossible, version: "1"}
paths:
  /never:
    get:
      responses:
        "200":
          description: No string is both
          content:
            application/json:
              schema: {type: string, minLength: 5, maxLength: 2}
""")
    with Client(mock_app(spec, "no_such_handlers")) as client:
        response = client.get("/never")
        published = client.get("/openapi.json").json()["paths"]["/never"]["get"]["responses"]
    assert response.status_code == 501
    assert "501" in published
    assert response.json()["error"]["message"].startswith(
        "The mock found no value that satisfies the schema")


def test_serve_mock_takes_one_worker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--mock", "--workers", "2", "--spec", str(SPEC),
                 "--handlers", "mock_handlers"]) == 2
    assert "--mock keeps its data in memory" in capsys.readouterr().err


def test_without_its_generator_the_mock_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "hypothesis_jsonschema", None)
    with pytest.raises(ContractError, match=r"pip install 'charter\[mock\]'"):
        mock_app()
