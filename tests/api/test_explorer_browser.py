"""End to end: the API explorer in headless Chromium, against `python -m server serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
UI_TIMEOUT_MS = 20_000

if not CHROMIUM.exists():
    pytest.skip("chromium not installed: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not serving after {START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """A real server on a free port, with its own SQLite database; always stopped."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/app.db", "CHARTER_MIGRATE": "1"}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_serving(process, url, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_explorer_lists_and_executes_operations(base_url: str) -> None:
    remote: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)

            def only_local(route: Route) -> None:
                # The explorer must work offline: record and refuse anything not ours.
                url = route.request.url
                if urlsplit(url).netloc == urlsplit(base_url).netloc or url.startswith("data:"):
                    route.continue_()
                else:
                    remote.append(url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"{base_url}/explorer", wait_until="load")
            assert page.url == f"{base_url}/explorer/", "the bare prefix redirects to the index"

            # The derived operations are rendered, the relation routes' too.
            page.locator("#operations-tag-TodoController").wait_for()
            page.locator("#operations-tag-TodoListTodoController").wait_for()
            paths = page.locator(".opblock .opblock-summary-path").all_inner_texts()
            for path in ("/todos", "/todos/count", "/todos/{id}", "/todo-lists",
                         "/todo-lists/{id}/todos", "/todos/{id}/todo-list",
                         "/todo-lists/{id}/todo-list-image"):
                assert any(p.replace("\u200b", "") == path for p in paths), (path, paths)

            count = page.locator(
                ".opblock.opblock-get", has=page.locator('[data-path="/todos/count"]')
            )
            count.locator(".opblock-summary").click()
            try_out = count.locator("button.try-out__btn")
            if try_out.inner_text().strip() == "Try it out":
                try_out.click()
            count.locator("button.execute").click()

            status = count.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for()
            assert status.inner_text().strip() == "200"
            body = count.locator(
                ".live-responses-table tbody .response-col_description .highlight-code"
            ).first
            assert '"count"' in body.inner_text()
            # Deep linking: the expanded operation is in the address bar.
            assert page.url.endswith("#/TodoController/TodoController.count"), page.url
        finally:
            browser.close()
    assert remote == [], "the explorer fetched something from the network"
