"""Tests for the API explorer: Swagger UI from local files, with relative URLs only."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from server.explorer import Explorer

ASSET_TYPES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
REDIRECT_PAGE_TYPES = {
    "oauth2-redirect.html": "text/html; charset=utf-8",
    "oauth2-redirect.js": "text/javascript; charset=utf-8",
}


class _Links(HTMLParser):
    """Collects every `src` and `href` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value for name, value in attrs if name in {"src", "href"} and value)


def _index(explorer: Explorer) -> str:
    response = explorer.find(explorer.prefix + "/")
    assert response is not None
    return response.body.decode()


def _linked(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.urls


def test_index_is_html_and_never_cached() -> None:
    response = Explorer().find("/explorer/")
    assert response is not None
    assert response.status == 200
    assert response.media_type == "text/html; charset=utf-8"
    assert set(response.headers) == {"cache-control", "content-security-policy"}
    assert response.headers["cache-control"] == "no-cache"
    assert response.body.startswith(b"<!DOCTYPE html>")


def _policy(explorer: Explorer) -> dict[str, str]:
    response = explorer.find(explorer.prefix + "/")
    assert response is not None
    directives = response.headers["content-security-policy"].split("; ")
    return dict(directive.split(" ", 1) for directive in directives)


def test_index_has_a_content_security_policy() -> None:
    explorer = Explorer()
    policy = _policy(explorer)
    inline = re.findall(r"<script>(.*?)</script>", _index(explorer), re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy == {
        "default-src": "'self'",
        "script-src": f"'self' 'sha256-{digest}'",  # the inline script, and nothing else inline
        "style-src": "'self' 'unsafe-inline'",       # Swagger UI sets styles inline
        "img-src": "'self' data:",                   # and draws icons from data: URLs
        "connect-src": "'self'",
        "frame-ancestors": "'self'",                 # no clickjacking of "Try it out"
        "base-uri": "'self'",
        "form-action": "'self'",
        "object-src": "'none'",
    }


def test_the_policy_follows_the_spec_url() -> None:
    # The hash changes with the script, which names the spec; a spec elsewhere may be fetched.
    here, there = Explorer(), Explorer(spec_url="https://specs.example/api/openapi.json")
    assert _policy(here)["script-src"] != _policy(there)["script-src"]
    assert _policy(there)["connect-src"] == "'self' https://specs.example"
    assert _policy(Explorer("/api/docs"))["connect-src"] == "'self'"


def test_index_references_local_assets_only() -> None:
    page = _index(Explorer())
    urls = _linked(page)
    assert sorted(url.split("?")[0] for url in urls) == [
        "./favicon-16x16.png",
        "./favicon-32x32.png",
        "./swagger-ui-bundle.js",
        "./swagger-ui-standalone-preset.js",
        "./swagger-ui.css",
    ]
    assert not re.search(r"https?://", page), "the explorer must not load anything remote"
    assert "//" not in "".join(urls)


def test_every_linked_asset_is_served() -> None:
    explorer = Explorer()
    for url in _linked(_index(explorer)):
        path = "/explorer/" + url.removeprefix("./").split("?")[0]
        assert explorer.find(path) is not None, path


def test_asset_urls_carry_the_swagger_ui_version() -> None:
    # A package upgrade changes every asset URL, so a day's caching never serves old files.
    urls = _linked(_index(Explorer()))
    versions = {url.split("?v=")[1] for url in urls}
    assert len(versions) == 1
    # Swagger UI 4 answers an OpenAPI 3.1 document with "Unable to render this definition".
    assert re.fullmatch(r"5\.\d+\.\d+", versions.pop())


def test_index_configures_swagger_ui() -> None:
    page = _index(Explorer())
    assert 'url: new URL("../openapi.json", here).href' in page
    assert "deepLinking: true" in page
    assert "tryItOutEnabled: true" in page
    # Swagger UI would otherwise fetch a badge from validator.swagger.io.
    assert "validatorUrl: null" in page


@pytest.mark.parametrize(
    ("prefix", "spec_url", "expected"),
    [
        ("/explorer", "/openapi.json", "../openapi.json"),
        ("/explorer/", "/openapi.json", "../openapi.json"),
        ("/api/docs", "/openapi.json", "../../openapi.json"),
        ("/explorer", "/api/openapi.yaml", "../api/openapi.yaml"),
        ("", "/openapi.json", "./openapi.json"),
        ("/explorer", "openapi.json", "openapi.json"),
        ("/explorer", "https://specs.example/openapi.json", "https://specs.example/openapi.json"),
    ],
)
def test_spec_url_is_relative_to_the_index(prefix: str, spec_url: str, expected: str) -> None:
    page = _index(Explorer(prefix, spec_url=spec_url))
    assert f'url: new URL("{expected}", here).href' in page


def test_spec_url_cannot_close_the_script() -> None:
    page = _index(Explorer(spec_url="/x</script><script>alert(1)//"))
    assert page.count("</script>") == 3


@pytest.mark.parametrize(
    ("name", "media_type", "cache_control"),
    [*((name, media_type, "public, max-age=86400") for name, media_type in ASSET_TYPES.items()),
     # Swagger UI names these URLs without a version, so a cached copy could outlive an upgrade.
     *((name, media_type, "no-cache") for name, media_type in REDIRECT_PAGE_TYPES.items())],
)
def test_assets_are_served_with_their_type_and_cached(
    name: str, media_type: str, cache_control: str
) -> None:
    response = Explorer().find(f"/explorer/{name}")
    assert response is not None
    assert response.status == 200
    assert response.media_type == media_type
    assert response.headers == {"cache-control": cache_control}
    assert len(response.body) > 100


def test_the_oauth2_redirect_page_loads_only_served_scripts() -> None:
    explorer = Explorer()
    page = explorer.find("/explorer/oauth2-redirect.html")
    assert page is not None
    scripts = _linked(page.body.decode())
    assert scripts == ["oauth2-redirect.js"]
    assert all(explorer.find(f"/explorer/{url}") is not None for url in scripts)


def test_asset_bodies_are_the_package_files() -> None:
    import swagger_ui_bundle  # type: ignore[import-untyped]

    response = Explorer().find("/explorer/swagger-ui-bundle.js")
    assert response is not None
    expected = (swagger_ui_bundle.swagger_ui_path / "swagger-ui-bundle.js").read_bytes()
    assert response.body == expected


def test_bare_prefix_redirects_relatively_to_the_index() -> None:
    response = Explorer().find("/explorer")
    assert response is not None
    assert response.status == 301
    # Relative: behind a proxy mounted at /api, /api/explorer resolves this to /api/explorer/.
    assert response.headers == {"location": "explorer/"}
    assert response.body == b""


def test_nested_prefix_redirects_to_its_last_segment() -> None:
    explorer = Explorer("/api/docs")
    response = explorer.find("/api/docs")
    assert response is not None
    assert response.headers["location"] == "docs/"
    assert explorer.find("/api/docs/") is not None
    assert explorer.find("/api/docs/swagger-ui.css") is not None
    assert explorer.find("/explorer/") is None


def test_root_prefix_serves_the_index_at_root() -> None:
    explorer = Explorer("")
    assert explorer.find("/") is not None
    assert explorer.find("/swagger-ui.css") is not None
    assert explorer.find("") is None


@pytest.mark.parametrize(
    "path",
    [
        "/explorer/nope.js",
        "/explorer/index.html",
        "/explorer/swagger-ui-bundle.js.map",
        "/explorer/swagger-ui.css.map",
        "/explorer/swagger-initializer.js",
        "/explorer/swagger-ui-es-bundle.js",
        "/explorer/swagger-ui.js",
        "/explorer/index.css",
        "/explorer/index.j2",
        "/explorer/../pyproject.toml",
        "/explorer//swagger-ui.css",
        "/explorerx",
        "/Explorer/",
        "/todos",
        "/",
    ],
)
def test_unknown_paths_are_not_the_explorers(path: str) -> None:
    assert Explorer().find(path) is None


def test_prefix_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        Explorer("explorer")


def test_responses_are_built_once() -> None:
    explorer = Explorer()
    assert explorer.find("/explorer/") is explorer.find("/explorer/")
