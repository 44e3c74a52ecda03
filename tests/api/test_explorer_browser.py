"""End to end: the API explorer in headless Chromium, against `python -m server serve`.

The example (OpenAPI 3.0) is listed and called; Redocly's museum (OpenAPI 3.1), read in place
from the real-world corpus beside the repository, is listed and deep-linked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.live import LiveServer, live_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Route

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
# The real-world corpus lives beside the repository (`../shared/specs`); a worktree elsewhere
# finds it where the workplace keeps it.
CORPORA = (Path(__file__).resolve().parents[3] / "shared" / "specs", Path("/work/shared/specs"))
MUSEUM = "museum/openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

if not CHROMIUM.exists():
    pytest.skip("chromium not installed: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """A real server on a free port, with its own SQLite database; always stopped."""
    with live_server(tmp_path) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A page that may load only from `base_url`, with what it tried to fetch elsewhere and
    what its console said."""

    page: Page
    remote: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def assert_offline_and_within_policy(self) -> None:
        # Everything the page did ran under its Content-Security-Policy, and broke none of it.
        assert self.page.evaluate("window.__violations") == []
        assert self.remote == [], "the explorer fetched something from the network"
        refused = [line for line in self.console
                   if "Content Security Policy" in line or "Refused" in line]
        assert refused == [], self.console


Visitor = Callable[[str], Visit]
Museum = tuple[LiveServer, dict[str, Any]]


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visitor]:
    """`visit(base_url)`: a fresh page, in its own context, that refuses anything not local."""
    contexts = []

    def open_page(base_url: str) -> Visit:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.add_init_script(RECORD_VIOLATIONS)
        seen = Visit(page)
        page.on("console", lambda message: seen.console.append(f"{message.type}: {message.text}"))

        def only_local(route: Route) -> None:
            # The explorer must work offline: record and refuse anything not ours.
            url = route.request.url
            if urlsplit(url).netloc == urlsplit(base_url).netloc or url.startswith("data:"):
                route.continue_()
            else:
                seen.remote.append(url)
                route.abort()

        page.route("**/*", only_local)
        return seen

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


def _corpus() -> Path:
    for folder in CORPORA:
        if (folder / MUSEUM).is_file():
            return folder
    pytest.skip(f"the real-world corpus is not here ({' nor '.join(map(str, CORPORA))}): "
                "it ships beside the repository in CI, not in it")


@pytest.fixture(scope="module")
def museum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Museum]:
    """Redocly's museum (OpenAPI 3.1, unmodified) served with no handlers, and its document."""
    document_path = _corpus() / MUSEUM
    env = {"CHARTER_SPEC": str(document_path), "CHARTER_ALLOW_UNBOUND": "1",
           "CHARTER_HANDLERS": "museum_has_no_handlers"}
    with live_server(tmp_path_factory.mktemp("museum"), env=env) as server:
        yield server, yaml.safe_load(document_path.read_text())


def _listed_operations(document: dict[str, Any]) -> dict[str, str]:
    """The DOM id Swagger UI gives each operation, paths' (by tag) and webhooks', to its summary.
    (Swagger UI escapes a tag or operationId as CSS would; museum's need no escaping.)"""
    listed = {}
    for section, items in (("paths", document.get("paths") or {}),
                           ("webhooks", document.get("webhooks") or {})):
        for item in items.values():
            for method in HTTP_METHODS:
                if (operation := item.get(method)) is None:
                    continue
                tags = ["webhooks"] if section == "webhooks" else operation.get("tags") or ["default"]
                for tag in tags:
                    listed[f"operations-{tag}-{operation['operationId']}"] = operation["summary"]
    return listed


def execute(page: Page, path: str) -> Locator:
    """The GET at `path` expanded, tried out and executed: its block."""
    operation = page.locator(".opblock.opblock-get", has=page.locator(f'[data-path="{path}"]'))
    if not operation.locator("button.execute").is_visible():
        operation.locator(".opblock-summary").click()
        try_out = operation.locator("button.try-out__btn")
        if try_out.inner_text().strip() == "Try it out":
            try_out.click()
    clear = operation.locator("button.btn-clear")
    if clear.count() and clear.is_visible():  # an earlier answer goes, so as not to be read
        clear.click()
        operation.locator(".live-responses-table").wait_for(state="detached")
    operation.locator("button.execute").click()
    return operation


def status_of(operation: Locator) -> str:
    """The status of the answer an executed operation shows."""
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    return status.inner_text().strip()


def test_explorer_lists_and_executes_operations(base_url: str, visit: Visitor) -> None:
    seen = visit(base_url)
    page = seen.page
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

    count = execute(page, "/todos/count")
    assert status_of(count) == "200"
    body = count.locator(
        ".live-responses-table tbody .response-col_description .highlight-code"
    ).first
    assert '"count"' in body.inner_text()
    # Deep linking: the expanded operation is in the address bar.
    assert page.url.endswith("#/TodoController/TodoController.count"), page.url
    seen.assert_offline_and_within_policy()


def test_explorer_lists_the_operations_of_a_3_1_document(museum: Museum, visit: Visitor) -> None:
    server, document = museum
    expected = _listed_operations(document)
    assert len(expected) == 9, expected  # eight operations under paths, and one webhook
    seen = visit(server.url)
    page = seen.page
    page.goto(f"{server.url}/explorer/", wait_until="load")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".info .title").inner_text().startswith(document["info"]["title"])
    blocks = page.locator(".opblock")
    ids = [blocks.nth(i).get_attribute("id") for i in range(blocks.count())]
    assert sorted(map(str, ids)) == sorted(expected)
    for dom_id, summary in expected.items():
        description = page.locator(f"#{dom_id} .opblock-summary-description")
        assert description.inner_text().strip() == summary
    assert page.get_by_text("Unable to render this definition").count() == 0
    seen.assert_offline_and_within_policy()


def test_a_deep_link_expands_its_operation(museum: Museum, visit: Visitor) -> None:
    server, document = museum
    operation = document["paths"]["/special-events/{eventId}"]["get"]
    tag, operation_id = operation["tags"][0], operation["operationId"]
    seen = visit(server.url)
    page = seen.page
    # The bare prefix redirects to the index; the browser keeps the fragment across it.
    page.goto(f"{server.url}/explorer#/{tag}/{operation_id}", wait_until="load")
    opened = page.locator(f"#operations-{tag}-{operation_id}")
    opened.locator(".opblock-body").wait_for()
    assert page.url == f"{server.url}/explorer/#/{tag}/{operation_id}"
    assert "is-open" in (opened.get_attribute("class") or "").split()
    # Only that one: the others stay folded.
    assert page.locator(".opblock.is-open").count() == 1
    assert opened.locator(".parameters-container").get_by_text("eventId").count() >= 1
    seen.assert_offline_and_within_policy()


@pytest.fixture
def todo_jwt(tmp_path: Path) -> Iterator[str]:
    """The todo-jwt example served, with one user."""
    example = Path(__file__).resolve().parents[2] / "examples" / "todo-jwt"
    env = {"JWT_SECRET": "explorer-test-secret-of-at-least-32-bytes"}
    args = ("--spec", str(example / "spec"), "--handlers", str(example / "handlers"))
    with live_server(tmp_path, env=env, args=args) as server:
        yield server.url


def test_authorize_keeps_the_token_across_reloads(todo_jwt: str, visit: Visitor) -> None:
    import httpx

    user = {"email": "ann@example.com", "password": "correct horse"}
    assert httpx.post(f"{todo_jwt}/signup", json=user).status_code == 200
    token = httpx.post(f"{todo_jwt}/users/login", json=user).json()["token"]
    seen = visit(todo_jwt)
    page = seen.page

    def who_am_i() -> str:
        return status_of(execute(page, "/whoAmI"))

    page.goto(f"{todo_jwt}/explorer/", wait_until="load")
    page.locator("#operations-tag-UserController").wait_for()
    assert who_am_i() == "401"
    page.locator("button.btn.authorize").first.click()
    page.locator(".auth-container input").first.fill(token)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator(".auth-btn-wrapper button.btn-done").click()
    assert who_am_i() == "200"
    page.reload(wait_until="load")
    page.locator("#operations-tag-UserController").wait_for()
    assert page.locator("button.btn.authorize.locked").count() >= 1
    assert who_am_i() == "200"
    seen.assert_offline_and_within_policy()
