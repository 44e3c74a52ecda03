"""End to end over LoopBack's todo-jwt example (`examples/todo-jwt`): sign up, log in, the token
on every other call, and each user's todos their own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from server.app import App
from server.settings import Settings
from tests.client import Client

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "todo-jwt"
SECRET = "todo-jwt-test-secret-of-32-bytes-at-least"


def example_app(folder: Path) -> App:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JWT_SECRET", SECRET)
        return App(Settings.from_env({}, spec=EXAMPLE / "spec", handlers=str(EXAMPLE / "handlers"),
                                     database_url=f"sqlite:///{folder}/todo-jwt.db", migrate=True))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    app = example_app(tmp_path)
    with Client(app) as client:
        yield client


def signup(client: Client, email: str, password: str = "correct horse") -> Any:
    return client.post("/signup", json={"email": email, "password": password})


def login(client: Client, email: str, password: str = "correct horse") -> dict[str, str]:
    answer = client.post("/users/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['token']}"}


def test_sign_up_log_in_and_who_am_i(client: Client) -> None:
    created = signup(client, "ann@example.com")
    assert (created.status_code, created.json()) == (200, {"id": 1, "email": "ann@example.com"})
    duplicate = signup(client, "ann@example.com", "another password")
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "UNIQUE_VIOLATION")
    short = signup(client, "bob@example.com", "seven77")
    assert short.status_code == 422
    assert short.json()["error"]["details"][0]["path"] == "/password"
    token = login(client, "ann@example.com")
    claims = jwt.decode(token["authorization"][7:], SECRET, algorithms=["HS256"],
                        audience="todo-jwt")
    assert (claims["sub"], claims["iss"], claims["exp"] > time.time()) == ("1", "todo-jwt", True)
    assert client.get("/whoAmI", headers=token).json() == "1"
    assert client.get("/whoAmI").status_code == 401


def test_a_wrong_email_or_password_is_the_same_401(client: Client) -> None:
    signup(client, "ann@example.com")
    answers = [client.post("/users/login", json={"email": email, "password": password})
               for email, password in (("ann@example.com", "wrong password"),
                                       ("nobody@example.com", "correct horse"),
                                       # no column holds a NUL: charter contract found it
                                       ("\u0000@example.com", "correct horse"))]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].json() == answers[1].json() == answers[2].json() == {"error": {
        "statusCode": 401, "name": "UnauthorizedError", "message": "Invalid email or password.",
        "code": "INVALID_CREDENTIALS"}}


def test_the_password_is_stored_hashed_and_never_sent(tmp_path: Path) -> None:
    app = example_app(tmp_path)
    with Client(app) as client:
        signup(client, "ann@example.com")
        published = client.get("/openapi.json").json()
    assert app.repositories is not None
    stored = app.repositories["User"].stored_by_id(1)["password"]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert app.repositories["User"].find() == [{"id": 1, "email": "ann@example.com"}]
    profile = published["components"]["schemas"]["UserProfile"]
    assert "password" not in profile["properties"]


def test_each_user_sees_only_their_todos(client: Client) -> None:
    for email in ("ann@example.com", "bob@example.com"):
        signup(client, email)
    ann, bob = login(client, "ann@example.com"), login(client, "bob@example.com")
    todo = client.post("/todos", json={"title": "milk"}, headers=ann).json()
    assert todo == {"id": 1, "title": "milk", "userId": 1}
    client.post("/todos", json={"title": "eggs"}, headers=bob)
    assert [t["title"] for t in client.get("/todos", headers=ann).json()] == ["milk"]
    assert [t["title"] for t in client.get("/todos", headers=bob).json()] == ["eggs"]
    assert client.get("/todos/1", headers=bob).status_code == 404
    assert client.delete("/todos/1", headers=bob).status_code == 404
    assert client.get("/todos/count", headers=ann).json() == {"count": 1}
    assert client.get("/todos").status_code == 401
    assert client.get("/todos", headers={"authorization": "Bearer forged"}).headers[
        "www-authenticate"] == 'Bearer realm="@loopback/example-todo-jwt", error="invalid_token"'
