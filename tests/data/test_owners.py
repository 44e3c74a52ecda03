"""Security on derived operations: `x-crud`'s `security` and each operation's own; owned rows
(`x-entity.owner`): each principal sees and writes only its own rows, through every derived
route, `include` and the nested routes; another's row is a 404; a bypass role sees all;
repositories outside a request, or `unscoped()`, see every row."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from server.app import App
from server.errors import ContractError, Forbidden
from server.principals import Principal, set_current
from server.settings import Settings
from tests.client import Client

SECRET = "o" * 40


def _entity(owner: Any, properties: dict[str, Any], crud: str,
            relations: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "x-entity": {"owner": owner, "relations": relations or {}},
            "x-crud": {"path": crud}, "properties": {"id": {"type": "integer"}, **properties}}


SCHEMAS = {
    "Project": _entity("ownerId", {"name": {"type": "string"},
                                   "ownerId": {"type": "string", "readOnly": True}},
                       "/projects", {"tasks": {"hasMany": "Task", "keyTo": "projectId"}}),
    "Task": _entity({"property": "ownerId", "bypass": ["admin"]},
                    {"title": {"type": "string"}, "projectId": {"type": "integer"},
                     "ownerId": {"type": "string", "readOnly": True}},
                    "/tasks", {"project": {"belongsTo": "Project", "keyFrom": "projectId"}}),
    "Note": _entity("userId", {"text": {"type": "string"},
                               "userId": {"type": "integer", "readOnly": True}}, "/notes"),
}


def write_spec(folder: Path, schemas: dict[str, Any], security: Any = None,
               paths: dict[str, Any] | None = None) -> Path:
    document = {
        "openapi": "3.1.0", "info": {"title": "owned", "version": "1"},
        "security": [{"bearer": []}] if security is None else security,
        "paths": paths or {},
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "x-jwt": {"algorithms": ["HS256"], "secret": {"env": "OWNED_SECRET"}}}}},
    }
    (folder / "openapi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder / "openapi.yaml"


def start(folder: Path, schemas: dict[str, Any], security: Any = None,
          paths: dict[str, Any] | None = None, handlers: str = "owned_has_no_handlers") -> App:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OWNED_SECRET", SECRET)
        return App(Settings.from_env({}, spec=write_spec(folder, schemas, security, paths),
                                     handlers=handlers, allow_unbound=True,
                                     database_url=f"sqlite:///{folder}/owned.db", migrate=True))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = start(tmp_path, SCHEMAS)
    yield app
    app.close()


@pytest.fixture
def client(app: App) -> Iterator[Client]:
    with Client(app) as client:
        yield client


def as_(sub: str, *roles: str, scope: str = "") -> dict[str, str]:
    """A token for `sub`, made at import: valid for a day, whenever the test runs."""
    claims = {"sub": sub, "exp": int(time.time()) + 86400, "roles": list(roles), "scope": scope}
    return {"authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


ANN, BOB, ADMIN = as_("ann"), as_("bob"), as_("root", "admin")


def test_each_principal_reads_and_writes_only_its_own_rows(client: Client) -> None:
    created = client.post("/projects", json={"name": "a"}, headers=ANN).json()
    assert created == {"id": created["id"], "name": "a", "ownerId": "ann"}
    item = f"/projects/{created['id']}"
    client.post("/projects", json={"name": "b"}, headers=BOB)
    assert [p["name"] for p in client.get("/projects", headers=ANN).json()] == ["a"]
    assert [p["name"] for p in client.get("/projects", headers=BOB).json()] == ["b"]
    assert client.get("/projects/count", headers=BOB).json() == {"count": 1}
    # another's row does not exist, whatever the method
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"name": "x"}}),
                           ("PUT", {"json": {"name": "x"}}), ("DELETE", {})):
        answer = client.request(method, item, headers=BOB, **kwargs)
        assert answer.status_code == 404, method
        assert answer.json()["error"]["code"] == "ENTITY_NOT_FOUND"
    assert client.patch("/projects", json={"name": "all"}, headers=BOB).json() == {"count": 1}
    assert client.get(item, headers=ANN).json()["name"] == "a"
    # the owner stays its owner's: a replace keeps it
    assert client.put(item, json={"name": "a2"}, headers=ANN).status_code == 204
    assert client.get(item, headers=ANN).json() == {"id": created["id"], "name": "a2",
                                                     "ownerId": "ann"}
    assert client.delete(item, headers=ANN).status_code == 204
    assert client.get("/projects/count", headers=ANN).json() == {"count": 0}


def test_nested_routes_and_include_are_scoped_too(client: Client) -> None:
    mine = client.post("/projects", json={"name": "mine"}, headers=ANN).json()
    nested = f"/projects/{mine['id']}/tasks"
    task = client.post(nested, json={"title": "t1"}, headers=ANN).json()
    assert task == {"id": task["id"], "title": "t1", "projectId": mine["id"], "ownerId": "ann"}
    # bob cannot reach ann's project, so not its tasks either
    assert client.post(nested, json={"title": "x"}, headers=BOB).status_code == 404
    assert client.get(nested, headers=BOB).status_code == 404
    # bob's own task in ann's project (by its key): never shown to ann
    client.post("/tasks", json={"title": "bob's", "projectId": mine["id"]}, headers=BOB)
    assert [t["title"] for t in client.get(nested, headers=ANN).json()] == ["t1"]
    included = client.get("/projects", headers=ANN,
                          params={"filter": '{"include": ["tasks"]}'}).json()
    assert [t["title"] for t in included[0]["tasks"]] == ["t1"]
    assert client.patch(nested, json={"title": "done"}, headers=ANN).json() == {"count": 1}
    assert client.delete(nested, headers=ANN).json() == {"count": 1}
    assert [t["title"] for t in client.get("/tasks", headers=BOB).json()] == ["bob's"]


def test_a_bypass_role_sees_every_row_of_its_entity(client: Client) -> None:
    client.post("/tasks", json={"title": "a"}, headers=ANN)
    client.post("/tasks", json={"title": "b"}, headers=BOB)
    client.post("/projects", json={"name": "p"}, headers=ANN)
    assert [t["title"] for t in client.get("/tasks", headers=ADMIN).json()] == ["a", "b"]
    assert client.get("/projects", headers=ADMIN).json() == []  # no bypass on Project


def test_the_principals_id_is_converted_to_the_owners_type(client: Client) -> None:
    created = client.post("/notes", json={"text": "n"}, headers=as_("7")).json()
    assert created["userId"] == 7
    assert [n["text"] for n in client.get("/notes", headers=as_("7")).json()] == ["n"]
    for sub in ("ann", "7.5", "99999999999999999999"):
        refused = client.get("/notes", headers=as_(sub))
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN"), sub


def test_repositories_outside_a_request_see_every_row_and_unscoped_opts_out(
        app: App, client: Client) -> None:
    client.post("/projects", json={"name": "a"}, headers=ANN)
    client.post("/projects", json={"name": "b"}, headers=BOB)
    projects = app.repositories["Project"] if app.repositories else None
    assert projects is not None
    assert [p["name"] for p in projects.find()] == ["a", "b"]

    def as_ann() -> tuple[list[str], list[str]]:
        set_current(Principal(id="ann"))
        return ([p["name"] for p in projects.find()],
                [p["name"] for p in projects.unscoped().find()])

    assert contextvars.copy_context().run(as_ann) == (["a"], ["a", "b"])

    def anonymous() -> None:
        set_current(None)
        projects.find()

    with pytest.raises(Forbidden):
        contextvars.copy_context().run(anonymous)


def test_an_owned_entity_needs_security_on_its_derived_operations(tmp_path: Path) -> None:
    notes = {"Note": SCHEMAS["Note"]}
    with pytest.raises(ContractError) as caught:
        start(tmp_path, notes, security=[{}, {"bearer": []}])
    assert caught.value.problems[0] == (
        "GET /notes: Note rows belong to their owners (x-entity.owner), but this operation "
        "requires no credentials: give the document, or x-crud, a `security` requirement with "
        "no empty alternative")
    assert len(caught.value.problems) == 8  # each of the eight
    writable = {"Note": {**SCHEMAS["Note"], "properties": {
        **SCHEMAS["Note"]["properties"], "userId": {"type": "integer"}}}}
    with pytest.raises(ContractError) as caught:
        start(tmp_path, writable)
    assert caught.value.problems == [
        "/components/schemas/Note/properties/userId: the owner is stamped by the server from "
        "the request's principal, never sent by clients: declare it `readOnly: true`, and not "
        "required"]


def test_x_crud_secures_derived_operations_one_by_one(tmp_path: Path) -> None:
    board = {"type": "object", "x-entity": {}, "properties": {
        "id": {"type": "integer"}, "text": {"type": "string"}},
        "x-crud": {"path": "/board", "security": [{"bearer": []}],
                   "operations": {"find": {"security": []},
                                  "deleteById": {"security": [{"bearer": ["admin"]}]}}}}
    app = start(tmp_path, {"Board": board}, security=[])
    with Client(app) as client:
        assert client.get("/board").status_code == 200  # its own: public
        assert client.post("/board", json={"text": "x"}).status_code == 401
        created = client.post("/board", json={"text": "x"}, headers=ANN).json()
        item = f"/board/{created['id']}"
        assert client.delete(item, headers=ANN).status_code == 403
        # a token's scopes grant what a requirement lists; its roles do not
        assert client.delete(item, headers=ADMIN).status_code == 403
        assert client.delete(item, headers=as_("ann", scope="admin")).status_code == 204


HANDLERS = """\
from server import Repository


class ProjectRepository(Repository):
    def create(self, data):
        return super().create({**data, "name": data["name"].upper()})


class Mine:
    def __init__(self, project_repository):
        self.projects = project_repository

    def names(self):
        return [project["name"] for project in self.projects.find()]
"""


def test_custom_repositories_and_injected_ones_are_scoped_too(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "__init__.py").write_text(HANDLERS)
    mine = {"/mine": {"get": {"operationId": "Mine.names",
                              "responses": {"200": {"description": "my projects' names"}}}}}
    app = start(tmp_path, SCHEMAS, paths=mine, handlers=str(tmp_path / "handlers"))
    with Client(app) as client:
        created = client.post("/projects", json={"name": "a"}, headers=ANN).json()
        assert (created["name"], created["ownerId"]) == ("A", "ann")  # the override, scoped
        client.post("/projects", json={"name": "b"}, headers=BOB)
        assert client.get("/mine", headers=ANN).json() == ["A"]
        assert client.get("/mine", headers=BOB).json() == ["B"]
