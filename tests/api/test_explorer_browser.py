"""End to end: the API explorer in headless Chromium, against `python -m server serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.live import live_server

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
UI_TIMEOUT_MS = 20_000
# Runs before the page's own scripts: every Content-Security-Policy violation the page meets
# is kept where the test can read it (the console reports only some of them).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

if not CHROMIUM.exists():
    pytest.skip("chromium not installed: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """A real server on a free port, with its own SQLite database; always stopped."""
    with live_server(tmp_path) as server:
        yield server.url


def test_explorer_lists_and_executes_operations(base_url: str) -> None:
    remote: list[str] = []
    console: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.add_init_script(RECORD_VIOLATIONS)
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))

            def only_local(route: Route) -> None:
                # The explorer must work offline: record and refuse anything not ours.
                url = route.request.url
                if urlsplit(url).netloc == urlsplit(base_url).netloc or url.startswith("data:"):
                    route.continue_()
                else:
                    remote.append(url)
                    route.abort()

            page.route("**/*", only_local)
            response = page.goto(f"{base_url}/explorer", wait_until="load")
            assert page.url == f"{base_url}/explorer/", "the bare prefix redirects to the index"
            assert response is not None
            policy = response.headers["content-security-policy"]
            assert "frame-ancestors 'self'" in policy and "'unsafe-eval'" not in policy

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
            # Everything above ran under the page's Content-Security-Policy, and broke none of it.
            assert page.evaluate("window.__violations") == []
        finally:
            browser.close()
    assert remote == [], "the explorer fetched something from the network"
    refused = [line for line in console if "Content Security Policy" in line or "Refused" in line]
    assert refused == [], console
