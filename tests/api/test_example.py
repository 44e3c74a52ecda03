"""The example shows the promise: beside what `spec/` derives, a hand-written operation, a
controller override that calls `super()`, a repository rule on every write path, an interceptor
bound in the spec, and a landing page at `/`."""

from __future__ import annotations

from server.app import App
from tests.client import Client


def test_the_summary_is_written_by_hand_over_injected_repositories(client: Client) -> None:
    todo_list = client.post("/todo-lists", json={"title": "home"}).json()
    for title, done in (("milk", True), ("eggs", False), ("bread", False)):
        created = client.post(f"/todo-lists/{todo_list['id']}/todos",
                              json={"title": title, "isComplete": done})
        assert created.status_code == 200, created.text
    summary = client.get(f"/todo-lists/{todo_list['id']}/summary")
    assert (summary.status_code, summary.json()) == (
        200, {"total": 3, "completed": 1, "open": 2})
    missing = client.get("/todo-lists/999999/summary")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ENTITY_NOT_FOUND"


def test_the_interceptor_the_spec_binds_times_the_summary_only(client: Client) -> None:
    todo_list = client.post("/todo-lists", json={"title": "home"}).json()
    summary = client.get(f"/todo-lists/{todo_list['id']}/summary")
    assert summary.headers["server-timing"].startswith("handler;dur=")
    assert "server-timing" not in client.get("/todo-lists").headers


def test_the_todo_controller_override_calls_super(app: App, client: Client) -> None:
    assert {op.label: op.target for op in app.operations}["POST /todos"] == (
        "handlers.todos.TodoController.create")
    created = client.post("/todos", json={"title": " buy \t  oat   milk "})
    assert created.status_code == 200
    assert created.json()["title"] == "buy oat milk"  # the controller, then the repository
    assert created.headers["etag"] == client.get(f"/todos/{created.json()['id']}").headers["etag"]
    patched = client.patch(f"/todos/{created.json()['id']}", json={"title": " oat   milk "})
    assert patched.status_code == 204
    assert client.get(f"/todos/{created.json()['id']}").json()["title"] == "oat   milk"


def test_the_todo_repository_trims_titles_on_every_path_that_writes(
        app: App, client: Client) -> None:
    todo = client.post("/todos", json={"title": "  milk  "}).json()
    assert todo["title"] == "milk"
    assert client.patch(f"/todos/{todo['id']}", json={"title": " eggs "}).status_code == 204
    assert client.get(f"/todos/{todo['id']}").json()["title"] == "eggs"
    assert client.put(f"/todos/{todo['id']}", json={"title": " jam "}).status_code == 204
    assert client.get(f"/todos/{todo['id']}").json()["title"] == "jam"
    todo_list = client.post("/todo-lists", json={"title": "home"}).json()
    nested = client.post(f"/todo-lists/{todo_list['id']}/todos", json={"title": " tea "})
    assert nested.json()["title"] == "tea"  # the nested route writes through it too
    assert client.patch(f"/todo-lists/{todo_list['id']}/todos",
                        json={"title": " coffee "}).json() == {"count": 1}
    assert client.get(f"/todos/{nested.json()['id']}").json()["title"] == "coffee"
    assert app.repositories is not None
    assert app.repositories["Todo"].create({"title": " script "})["title"] == "script"


def test_the_landing_page_links_to_the_explorer(client: Client) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert 'href="/explorer"' in home.text
    assert client.get("/explorer").status_code == 301  # to /explorer/, the explorer itself
    assert client.get("/explorer/").status_code == 200
    assert client.get("/no-such-page.html").status_code == 404
