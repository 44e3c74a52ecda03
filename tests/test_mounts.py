"""Mounts and static files (`server/mounts.py`): ASGI and WSGI apps at their prefixes beside the
spec's routes, and static files after them."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.app import ContractError
from tests.client import Client
from tests.composition import LifespanApp, handlers_on_path, make_app, wsgi_app


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers_on_path(monkeypatch)


def test_asgi_and_wsgi_apps_serve_their_prefixes_beside_the_spec() -> None:
    app = make_app(mounts={"/asgi": LifespanApp([]), "/wsgi/": wsgi_app})
    with Client(app) as client:
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


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<a href='/explorer'>explorer</a>")
    (tmp_path / "items").write_text("a file that a spec route shadows")
    (tmp_path / "notes.txt").write_text("0123456789")
    return tmp_path


def test_static_files_come_after_the_spec_routes(site: Path) -> None:
    with Client(make_app(static=site)) as client:
        home = client.get("/")
        assert (home.status_code, home.headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert "explorer" in home.text
        assert client.get("/items").headers["content-type"] == "application/json"  # the spec's
        assert client.get("/notes.txt").text == "0123456789"


def test_static_files_have_head_etags_and_ranges(site: Path) -> None:
    with Client(make_app(static=site)) as client:
        full = client.get("/notes.txt")
        assert client.head("/notes.txt").content == b""
        cached = client.get("/notes.txt", headers={"if-none-match": full.headers["etag"]})
        assert cached.status_code == 304
        part = client.get("/notes.txt", headers={"range": "bytes=2-4"})
        assert (part.status_code, part.content) == (206, b"234")


def test_a_missing_file_is_charters_404_and_the_folder_is_not_left(site: Path) -> None:
    (site.parent / "secret.txt").write_text("no")
    with Client(make_app(static=site)) as client:
        for path in ("/missing.txt", "/../secret.txt", "/%2e%2e/secret.txt"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["statusCode"] == 404


def test_a_static_folder_that_does_not_exist_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as caught:
        make_app(static=tmp_path / "nothing")
    assert "is not a folder" in caught.value.problems[0]
