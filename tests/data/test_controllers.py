"""Derived controllers over HTTP: ETags, If-Match, a handler replacing one operation, read-only.

The app serves `tests/fixtures/specs/crud` (entities only, no paths) with the
`crud_handlers` fixture package, on a SQLite file of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import App, ContractError
from server.errors import ValidationFailed
from server.settings import Settings
from tests.client import Client
from tests.databases import error_body

FIXTURES = Path(__file__).parents[1] / "fixtures"
ETAG = re.compile(r'"[0-9a-f]{24}"')


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("controllers")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES / "handlers"))
        app = App(Settings.from_env({}, spec=FIXTURES / "specs" / "crud",
                                    handlers="crud_handlers",
                                    database_url=f"sqlite:///{folder}/app.db", migrate=True))
    yield app
    app.close()


@pytest.fixture
def client(app: App) -> Iterator[Client]:
    with Client(app) as client:
        yield client


def not_found(entity: str, id_: Any) -> dict[str, Any]:
    return error_body(404, "NotFoundError", f"Entity not found: {entity} with id {id_}",
                      "ENTITY_NOT_FOUND")


def precondition_failed(id_: int, if_match: str) -> dict[str, Any]:
    return error_body(412, "PreconditionFailedError", f"Memo with id {id_} has changed: its "
                      f"ETag is not one of If-Match {if_match}", "PRECONDITION_FAILED")


def not_allowed(method: str, path: str, allowed: str) -> dict[str, Any]:
    return error_body(405, "MethodNotAllowedError",
                      f'Method "{method}" is not allowed for "{path}". Allowed: {allowed}.')


def create_memo(client: Client, **memo: Any) -> tuple[dict[str, Any], str]:
    response = client.post("/memos", json={"text": "hello", **memo})
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


# -- binding --------------------------------------------------------------------------------

def test_a_handler_replaces_one_derived_operation_and_the_rest_stay_derived(app: App) -> None:
    targets = {op.label: op.target for op in app.operations}
    assert {label: target for label, target in targets.items() if "/notes" in label} == {
        "POST /notes": "crud_handlers.NoteController.create",
        "GET /notes": "(derived) Note.find",
        "PATCH /notes": "(derived) Note.updateAll",
        "GET /notes/count": "(derived) Note.count",
        "GET /notes/{id}": "(derived) Note.findById",
        "PATCH /notes/{id}": "(derived) Note.updateById",
        "PUT /notes/{id}": "(derived) Note.replaceById",
        "DELETE /notes/{id}": "(derived) Note.deleteById",
    }
    assert targets["POST /memos"] == "(derived) Memo.create"
    assert app.unbound == set()


def test_the_handler_answers_with_its_injected_repository(client: Client) -> None:
    response = client.post("/notes", json={"title": "mine", "origin": "client"})
    assert response.status_code == 200
    note = response.json()
    assert note == {"id": note["id"], "title": "mine", "origin": "handler"}
    assert "etag" not in response.headers  # plain data: the handler sent no ETag
    found = client.get(f"/notes/{note['id']}")
    assert found.json() == note
    assert ETAG.fullmatch(found.headers["etag"])
    assert client.get("/notes", params={"filter": '{"where": {"origin": "handler"}}'}).json()[
        -1] == note


def test_a_subclass_of_crud_controller_serves_every_operation_of_its_entity(app: App) -> None:
    targets = {op.label: op.target for op in app.operations if op.label.split()[1].startswith("/books")}
    assert targets == {
        "POST /books": "crud_handlers.BookController.create",
        "GET /books": "(derived) Book.find",
        "PATCH /books": "(derived) Book.updateAll",
        "GET /books/count": "(derived) Book.count",
        "GET /books/{id}": "crud_handlers.BookController.find_by_id",
        "PATCH /books/{id}": "(derived) Book.updateById",
        "PUT /books/{id}": "(derived) Book.replaceById",
        "DELETE /books/{id}": "(derived) Book.deleteById",
        "GET /books/{id}/author": "(derived) Book.author.getAuthor",
    }
    assert {op.label: op.target for op in app.operations if "/authors/{id}/books" in op.label}[
        "POST /authors/{id}/books"] == "crud_handlers.AuthorBookController.create"


def test_an_override_calls_super_and_keeps_etag_if_match_and_statuses(client: Client) -> None:
    created = client.post("/books", json={"isbn": "978-0-13-468599-1"})
    assert created.status_code == 200
    book = created.json()
    assert book == {"id": book["id"], "isbn": "9780134685991"}  # normalized, then stored
    tag = created.headers["etag"]
    assert ETAG.fullmatch(tag)
    found = client.get(f"/books/{book['id']}")
    assert found.json() == {**book, "isbn": "ISBN 9780134685991"}  # the override's view
    assert found.headers["etag"] == tag  # the stored item's version, not the view's
    stale = client.patch(f"/books/{book['id']}", json={"isbn": "1"}, headers={"If-Match": '"x"'})
    assert stale.status_code == 412
    patched = client.patch(f"/books/{book['id']}", json={"isbn": "2"}, headers={"If-Match": tag})
    assert (patched.status_code, patched.content) == (204, b"")
    assert patched.headers["etag"] != tag
    assert client.get(f"/books/{book['id']}").headers["etag"] == patched.headers["etag"]
    missing = client.get("/books/999999")
    assert (missing.status_code, missing.json()) == (404, not_found("Book", 999999))


def test_a_relation_override_calls_super_and_answers_with_the_etag(client: Client) -> None:
    author = client.post("/authors", json={"name": "Ann"}).json()
    created = client.post(f"/authors/{author['id']}/books", json={"isbn": "1-2"})
    assert created.status_code == 200, created.text
    book = created.json()
    assert book == {"id": book["id"], "isbn": "nested-1-2", "authorId": author["id"]}
    assert created.headers["etag"] == client.get(f"/books/{book['id']}").headers["etag"]
    belongs = client.get(f"/books/{book['id']}/author")
    assert (belongs.json(), ETAG.fullmatch(belongs.headers["etag"]) is not None) == (author, True)


# -- repositories ---------------------------------------------------------------------------

def test_an_entity_repository_class_replaces_its_repository_everywhere(
        app: App, client: Client) -> None:
    import crud_handlers  # type: ignore[import-not-found]

    books = app.services["book_repository"]
    assert type(books) is crud_handlers.BookRepository
    assert app.services["repositories"]["Book"] is books  # what routes and `include` use
    created = client.post("/books", json={"isbn": "  12-3 "})  # controller, then repository
    book = created.json()
    assert book["isbn"] == "123"
    assert client.patch(f"/books/{book['id']}", json={"isbn": " 4 "}).status_code == 204
    assert client.get(f"/books/{book['id']}").json()["isbn"] == "ISBN 4"
    assert books.create({"isbn": " 5 "})["isbn"] == "5"  # and outside HTTP


def test_a_services_factory_may_build_on_the_repositories(app: App) -> None:
    assert app.services["book_count"]() == app.services["book_repository"].count()


def test_repository_writes_outside_http_are_checked_against_the_schema(app: App) -> None:
    memos = app.services["memo_repository"]
    with pytest.raises(ValidationFailed) as caught:
        memos.create({"text": 5, "at": "yesterday"})
    assert caught.value.status == 422
    assert sorted((d["path"], d["code"]) for d in caught.value.details) == [
        ("/at", "format"), ("/text", "type")]
    with pytest.raises(ValidationFailed):
        memos.create({})  # `text` is required
    memo = memos.create({"text": "fine"})
    with pytest.raises(ValidationFailed):
        memos.update_by_id(memo["id"], {"text": None})
    with pytest.raises(ValidationFailed):
        memos.update_all({"at": 3})
    assert memos.find_by_id(memo["id"]) == memo  # nothing was written


# -- ETags ----------------------------------------------------------------------------------

def test_entity_responses_carry_an_etag(client: Client) -> None:
    memo, tag = create_memo(client)
    assert ETAG.fullmatch(tag)
    found = client.get(f"/memos/{memo['id']}")
    assert (found.status_code, found.json(), found.headers["etag"]) == (200, memo, tag)
    assert "etag" not in client.get("/memos").headers  # a list has no single version

    patched = client.patch(f"/memos/{memo['id']}", json={"text": "changed"})
    assert (patched.status_code, patched.content) == (204, b"")
    assert ETAG.fullmatch(patched.headers["etag"]) and patched.headers["etag"] != tag
    assert client.get(f"/memos/{memo['id']}").headers["etag"] == patched.headers["etag"]

    replaced = client.put(f"/memos/{memo['id']}", json={"text": "replaced"})
    assert replaced.status_code == 204
    assert replaced.headers["etag"] not in (tag, patched.headers["etag"])
    found = client.get(f"/memos/{memo['id']}")
    assert found.json() == {"id": memo["id"], "text": "replaced"}
    assert found.headers["etag"] == replaced.headers["etag"]


def test_the_etag_of_a_create_is_the_one_a_read_finds(client: Client) -> None:
    memo, tag = create_memo(client, at="2026-01-02T03:04:05+02:00")
    found = client.get(f"/memos/{memo['id']}")
    assert found.json() == {"id": memo["id"], "text": "hello", "at": "2026-01-02T01:04:05Z"}
    assert memo == found.json()  # the POST's answer shows what is stored
    assert found.headers["etag"] == tag  # so that If-Match can use the POST's ETag
    patched = client.patch(f"/memos/{memo['id']}", json={"text": "b"}, headers={"If-Match": tag})
    assert patched.status_code == 204


def test_if_match_guards_put_patch_and_delete(client: Client) -> None:
    memo, old = create_memo(client)
    path = f"/memos/{memo['id']}"
    current = client.patch(path, json={"text": "b"}, headers={"If-Match": old}).headers["etag"]
    for method, kwargs in (("PATCH", {"json": {"text": "c"}}), ("PUT", {"json": {"text": "c"}}),
                           ("DELETE", {})):
        response = client.request(method, path, headers={"If-Match": old}, **kwargs)
        assert response.status_code == 412, method
        assert response.json() == precondition_failed(memo["id"], old)
    assert client.get(path).json() == {**memo, "text": "b"}

    listed = client.put(path, json={"text": "d"}, headers={"If-Match": f'"x", {current}'})
    assert listed.status_code == 204
    assert client.patch(path, json={"text": "e"}, headers={"If-Match": "*"}).status_code == 204
    latest = client.get(path).headers["etag"]
    deleted = client.delete(path, headers={"If-Match": latest})
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get(path).json() == not_found("Memo", memo["id"])
    assert client.delete(path, headers={"If-Match": "*"}).json() == not_found("Memo", memo["id"])


def test_a_malformed_if_match_is_a_400_and_changes_nothing(client: Client) -> None:
    """RFC 9110: `*` or entity tags. An empty value is no list of tags, not a stale one."""
    memo, _ = create_memo(client)
    path = f"/memos/{memo['id']}"
    for value in ("", "abc", '"a" "b"'):
        for method, kwargs in (("PATCH", {"json": {"text": "c"}}),
                               ("PUT", {"json": {"text": "c"}}), ("DELETE", {})):
            response = client.request(method, path, headers={"If-Match": value}, **kwargs)
            assert response.status_code == 400, (method, value)
            assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    assert client.get(path).json() == memo


def test_missing_items_are_404(client: Client) -> None:
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"text": "x"}}),
                           ("PUT", {"json": {"text": "x"}}), ("DELETE", {})):
        response = client.request(method, "/memos/999999", **kwargs)
        assert (response.status_code, response.json()) == (404, not_found("Memo", 999999)), method


# -- read-only ------------------------------------------------------------------------------

def test_readonly_crud_serves_only_find_find_by_id_and_count(app: App, client: Client) -> None:
    tags = app.services["tag_repository"].create_all([{"name": "red"}, {"name": "blue"}])
    assert client.get("/tags").json() == tags
    assert client.get("/tags/count", params={"where": '{"name": "red"}'}).json() == {"count": 1}
    found = client.get(f"/tags/{tags[0]['id']}")
    assert (found.json(), bool(ETAG.fullmatch(found.headers["etag"]))) == (tags[0], True)
    assert sorted(op.label for op in app.operations if "/tags" in op.path) == [
        "GET /tags", "GET /tags/count", "GET /tags/{id}"]

    for method, path in (("POST", "/tags"), ("PATCH", "/tags"), ("PATCH", f"/tags/{tags[0]['id']}"),
                         ("PUT", f"/tags/{tags[0]['id']}"), ("DELETE", f"/tags/{tags[0]['id']}")):
        response = client.request(method, path, json={"name": "x"})
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET, HEAD"
        assert response.json() == not_allowed(method, path, "GET, HEAD")
    assert client.get("/tags").json() == tags


# -- hidden properties ----------------------------------------------------------------------

def test_a_hidden_property_is_written_by_clients_and_never_sent(tmp_path: Path) -> None:
    app = App(Settings.from_env({}, spec=FIXTURES / "specs" / "hidden", allow_unbound=True,
                                database_url=f"sqlite:///{tmp_path}/app.db", migrate=True))
    try:
        # responses are validated against the spec (`error`, the default)
        with Client(app) as client:
            schemas = client.get("/openapi.json").json()["components"]["schemas"]
            written = {"type": "number", "writeOnly": True}
            assert {name: schema["properties"].get("costPrice") for name, schema in schemas.items()
                    if name.startswith(("Book", "NewBook")) and "." not in name} == {
                "Book": written, "NewBook": written, "BookPartial": written,
                "NewBookInAuthor": written, "BookWithRelations": None}

            created = client.post("/books", json={"title": "Dune", "costPrice": 4.5})
            book = {"id": created.json()["id"], "title": "Dune"}
            assert (created.status_code, created.json()) == (200, book)
            author = client.post("/authors", json={"name": "Herbert"}).json()
            nested = client.post(f"/authors/{author['id']}/books",
                                 json={"title": "Emperor", "costPrice": 3})
            assert nested.json() == {"id": nested.json()["id"], "title": "Emperor",
                                     "authorId": author["id"]}
            assert client.patch(f"/books/{book['id']}", json={"costPrice": 5}).status_code == 204
            assert client.put(f"/books/{book['id']}",
                              json={"title": "Dune", "costPrice": 6}).status_code == 204
            assert client.get(f"/books/{book['id']}").json() == book
            assert client.get(f"/authors/{author['id']}",
                              params={"filter": '{"include": ["books"]}'}).json()["books"] == [
                nested.json()]
            stored = app.services["book_repository"].database.read
            with stored() as connection:
                assert [row.cost_price for row in connection.exec_driver_sql(
                    "SELECT cost_price FROM book ORDER BY id")] == [6, 3]
            # Nothing a filter names can reveal it.
            refused = client.get("/books", params={"filter": '{"where": {"costPrice": 6}}'})
            assert refused.status_code == 400
    finally:
        app.close()


# -- replacing a repository by a service -----------------------------------------------------

_SPEC = """
openapi: 3.0.3
info: {title: shelf, version: "1"}
paths: {}
components:
  schemas:
    Shelf:
      type: object
      x-entity: {}
      x-crud: {path: /shelves}
      properties:
        id: {type: integer}
        label: {type: string}
"""


def _package(tmp_path: Path, name: str, code: str) -> None:
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text(code)
    (tmp_path / "openapi.yaml").write_text(_SPEC)


def _refused(tmp_path: Path, package: str) -> list[str]:
    with pytest.raises(ContractError) as caught:
        App(Settings.from_env({}, spec=tmp_path / "openapi.yaml", handlers=package,
                              database_url=f"sqlite:///{tmp_path}/app.db", migrate=True))
    return caught.value.problems


def test_a_service_may_replace_a_repository_on_every_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "shelf_service", """
from server import Repository

class Loud(Repository):
    def create(self, data):
        return super().create({**data, "label": data["label"].upper()})

def services(settings, repositories):
    return {"shelf_repository": Loud.from_repository(repositories["Shelf"])}
""")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = App(Settings.from_env({}, spec=tmp_path / "openapi.yaml", handlers="shelf_service",
                                database_url=f"sqlite:///{tmp_path}/app.db", migrate=True))
    try:
        assert type(app.repositories["Shelf"]).__name__ == "Loud"  # type: ignore[index]
        with Client(app) as client:
            created = client.post("/shelves", json={"label": "top"})
        assert created.json()["label"] == "TOP"  # the derived route uses the service's
    finally:
        app.close()


def test_a_repository_given_by_both_a_class_and_a_service_stops_the_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "shelf_twice", """
from server import Repository

class ShelfRepository(Repository):
    pass

def services(settings, repositories):
    return {"shelf_repository": repositories["Shelf"]}
""")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _refused(tmp_path, "shelf_twice") == [
        "Shelf's repository is given twice: by the class shelf_twice.ShelfRepository and by "
        "the service 'shelf_repository' of shelf_twice.services"]


def test_a_class_named_like_a_repository_must_be_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "shelf_wrong", "class ShelfRepository:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _refused(tmp_path, "shelf_wrong") == [
        "shelf_wrong.ShelfRepository would replace Shelf's repository, but does not subclass "
        "server.Repository"]
