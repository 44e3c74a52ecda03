"""Composing an app: middleware (one ordered stack, errors through it), observers and mounted
apps started and stopped by the lifespan, WSGI and ASGI mounts, and static files after the
spec's routes; given to `App(...)` or read from the handlers package."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import App, ContractError
from server.settings import Settings
from server.types import ASGIApp, Message, Receive, Scope, Send
from tests.client import Client

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(**parts: Any) -> App:
    return App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline",
                                 handlers="pipeline_handlers", allow_unbound=True), **parts)


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES / "handlers"))


class Layer:
    """A pure-ASGI middleware that appends its name to `x-layers` on the way out."""

    def __init__(self, app: ASGIApp, name: str = "layer") -> None:
        self.app, self.name = app, name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k != b"x-layers"]
                seen = dict(message["headers"]).get(b"x-layers", b"")
                value = (seen + b"," if seen else b"") + self.name.encode()
                message["headers"] = [*headers, (b"x-layers", value)]
            await send(message)
        await self.app(scope, receive, tagged)


# -- middleware ------------------------------------------------------------------------------

def test_middleware_is_one_ordered_stack_inside_charters_own() -> None:
    app = make_app(middleware=[functools.partial(Layer, name="outer"),
                               functools.partial(Layer, name="inner")])
    assert app.middleware == ["charter.cors", "tests.test_composition.Layer",
                              "tests.test_composition.Layer"]
    response = Client(app).get("/items", headers={"origin": "https://a.example"})
    assert response.headers["x-layers"] == "inner,outer"  # the first is the outermost
    assert response.headers["access-control-allow-origin"] == "*"


def test_error_responses_pass_through_the_middleware_and_cors() -> None:
    app = make_app(middleware=[Layer])
    response = Client(app).get("/nowhere", headers={"origin": "https://a.example"})
    assert response.status_code == 404
    assert response.json()["error"]["statusCode"] == 404
    assert response.headers["x-layers"] == "layer"
    assert response.headers["access-control-allow-origin"] == "*"


def test_middleware_that_is_not_callable_stops_the_start() -> None:
    with pytest.raises(ContractError) as caught:
        make_app(middleware=["not a middleware"])
    assert caught.value.problems == [
        "middleware 'not a middleware' is not callable: it takes the app it wraps"]


# -- the lifespan: observers and mounted apps ------------------------------------------------

class Observer:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def start(self) -> None:
        if self.fail:
            raise OSError("no pool")
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        await asyncio.sleep(0)
        self.log.append(f"stop {self.name}")


class LifespanApp:
    """A mounted ASGI app with a lifespan of its own."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.log.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body",
                    "body": f"{scope['root_path']} {scope['path']}".encode()})


def lifespan(app: App) -> list[str]:
    """Run the app's lifespan, startup then shutdown; the messages it sent back."""
    answers: list[str] = []
    inbox = [{"type": "lifespan.shutdown"}, {"type": "lifespan.startup"}]

    async def receive() -> Message:
        return inbox.pop()

    async def send(message: Message) -> None:
        answers.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    return answers


def test_observers_start_in_order_and_stop_in_reverse_with_the_mounted_apps() -> None:
    log: list[str] = []
    app = make_app(observers=[Observer("pool", log), Observer("client", log)],
                   mounts={"/legacy": LifespanApp(log)})
    assert lifespan(app) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log == ["start pool", "start client", "lifespan.startup",
                   "lifespan.shutdown", "stop client", "stop pool"]


def test_a_failing_start_stops_the_server_and_what_had_started() -> None:
    log: list[str] = []
    app = make_app(observers=[Observer("pool", log), Observer("client", log, fail=True)])
    assert lifespan(app) == ["lifespan.startup.failed"]
    assert log == ["start pool", "stop pool"]


def test_an_observer_needs_start_or_stop() -> None:
    with pytest.raises(ContractError) as caught:
        make_app(observers=[object()])
    assert "has neither start() nor stop()" in caught.value.problems[0]


# -- mounts ----------------------------------------------------------------------------------

def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]


def test_asgi_and_wsgi_apps_serve_their_prefixes_beside_the_spec() -> None:
    app = make_app(mounts={"/asgi": LifespanApp([]), "/wsgi/": wsgi_app})
    client = Client(app)
    assert client.get("/asgi/deep/path").text == "/asgi /asgi/deep/path"
    assert client.get("/wsgi/a/b").text == "/wsgi|/a/b"
    assert client.get("/wsgi").text == "/wsgi|"
    assert client.get("/wsgiish").status_code == 404  # a prefix is a whole segment
    assert client.get("/items").status_code == 200  # the spec's routes are untouched


def test_a_mount_at_the_root_is_refused() -> None:
    with pytest.raises(ContractError) as caught:
        make_app(mounts={"/": wsgi_app})
    assert caught.value.problems == [
        "a mount needs a path prefix, not '/': the spec's routes are at the root"]


# -- static files ----------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<a href='/explorer'>explorer</a>")
    (tmp_path / "items").write_text("a file that a spec route shadows")
    (tmp_path / "notes.txt").write_text("0123456789")
    return tmp_path


def test_static_files_come_after_the_spec_routes(site: Path) -> None:
    client = Client(make_app(static=site))
    home = client.get("/")
    assert (home.status_code, home.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert "explorer" in home.text
    assert client.get("/items").headers["content-type"] == "application/json"  # the spec's
    assert client.get("/notes.txt").text == "0123456789"


def test_static_files_have_head_etags_and_ranges(site: Path) -> None:
    client = Client(make_app(static=site))
    full = client.get("/notes.txt")
    assert client.head("/notes.txt").content == b""
    cached = client.get("/notes.txt", headers={"if-none-match": full.headers["etag"]})
    assert cached.status_code == 304
    part = client.get("/notes.txt", headers={"range": "bytes=2-4"})
    assert (part.status_code, part.content) == (206, b"234")


def test_a_missing_file_is_charters_404_and_the_folder_is_not_left(site: Path) -> None:
    (site.parent / "secret.txt").write_text("no")
    client = Client(make_app(static=site))
    for path in ("/missing.txt", "/../secret.txt", "/%2e%2e/secret.txt"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["statusCode"] == 404


def test_a_static_folder_that_does_not_exist_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as caught:
        make_app(static=tmp_path / "nothing")
    assert "is not a folder" in caught.value.problems[0]


def test_without_arguments_the_handlers_package_names_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("home")
    (tmp_path / "composed").mkdir()
    (tmp_path / "composed" / "__init__.py").write_text(
        "from pathlib import Path\n"
        "from tests.test_composition import Layer, wsgi_app\n"
        "middleware = [Layer]\n"
        "mounts = {'/old': wsgi_app}\n"
        "static = Path(__file__).parent.parent / 'public'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = App(Settings.from_env({}, spec=FIXTURES / "specs" / "pipeline", handlers="composed",
                                allow_unbound=True))
    client = Client(app)
    assert (client.get("/").text, client.get("/").headers["x-layers"]) == ("home", "layer")
    assert client.get("/old/x").text == "/old|/x"
    assert make_app(middleware=[]).middleware == ["charter.cors"]  # given, even empty, wins
