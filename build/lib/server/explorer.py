"""The API explorer: Swagger UI 5 served from the `swagger-ui-bundle-v2` package's files, no network."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import swagger_ui_bundle  # type: ignore[import-untyped]  # swagger-ui-bundle-v2 ships no py.typed

from server.responses import Response

_ASSET_DIR = Path(str(swagger_ui_bundle.swagger_ui_path))
# The directory is named after the Swagger UI release it holds, e.g. "swagger-ui-5.31.0".
_VERSION = _ASSET_DIR.name.removeprefix("swagger-ui-")

# Only what the index page loads, and the OAuth2 redirect page with its script. The source
# maps (~7 MB), the ES-module builds and the package's own index and initializer are left out:
# a browser asks for a map only while its developer tools are open, and nothing else needs them.
_ASSETS: dict[str, str] = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# Swagger UI names these two itself, with no version: its `oauth2RedirectUrl` and the script
# that page loads (since 5.x a file, no longer inline, so a CSP need not allow inline scripts).
_REDIRECT_PAGES: dict[str, str] = {
    "oauth2-redirect.html": "text/html; charset=utf-8",
    "oauth2-redirect.js": "text/javascript; charset=utf-8",
}

# The index adds `?v=<version>` to every asset URL it loads: an upgraded package changes the
# URLs, and a day's caching never serves stale files. The URLs without a version are revalidated.
_ASSET_CACHE = {"cache-control": "public, max-age=86400"}
_INDEX_CACHE = {"cache-control": "no-cache"}

_INDEX = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API Explorer</title>
  <link rel="stylesheet" href="./swagger-ui.css?v={version}">
  <link rel="icon" type="image/png" href="./favicon-32x32.png?v={version}" sizes="32x32">
  <link rel="icon" type="image/png" href="./favicon-16x16.png?v={version}" sizes="16x16">
  <style>
    html {{ box-sizing: border-box; overflow-y: scroll; }}
    *, *:before, *:after {{ box-sizing: inherit; }}
    body {{ margin: 0; background: #fafafa; }}
  </style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js?v={version}" charset="utf-8"></script>
  <script src="./swagger-ui-standalone-preset.js?v={version}" charset="utf-8"></script>
  <script>{script}</script>
</body>
</html>
"""

# The one inline script; the page's Content-Security-Policy allows it by its hash.
_SCRIPT = """
    window.onload = function () {{
      // Resolved against this page, so the explorer keeps working behind a mount path.
      var here = window.location.href;
      window.ui = SwaggerUIBundle({{
        url: new URL({spec_url}, here).href,
        oauth2RedirectUrl: new URL("./oauth2-redirect.html", here).href,
        dom_id: "#swagger-ui",
        deepLinking: true,
        tryItOutEnabled: true,
        // Authorize's credentials survive a reload (kept in this origin's localStorage).
        persistAuthorization: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: "StandaloneLayout"
      }});
    }};
  """


class Explorer:
    """Answers the explorer's URLs with responses built once, at start-up.

    `GET {prefix}` redirects to `{prefix}/`, which is the Swagger UI page; the page loads its
    assets from beside itself and the spec from `spec_url`, both by relative URL. The caller
    routes GET and HEAD here (`Response.send(head=True)` drops the body).

    >>> explorer = Explorer("/explorer", spec_url="/openapi.json")
    >>> explorer.find("/explorer").headers["location"]
    'explorer/'
    >>> explorer.find("/explorer/swagger-ui.css").media_type
    'text/css; charset=utf-8'
    >>> explorer.find("/explorer/nope") is None
    True
    """

    __slots__ = ("_responses", "prefix", "spec_url")

    def __init__(self, prefix: str = "/explorer", spec_url: str = "/openapi.json") -> None:
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"explorer prefix must start with '/', got {prefix!r}")
        self.prefix = prefix.rstrip("/")
        self.spec_url = spec_url
        script = _render_script(_relative_url(self.prefix, spec_url))
        index_headers = {**_INDEX_CACHE,
                         "content-security-policy": _content_security_policy(script, spec_url)}
        responses = {
            f"{self.prefix}/": Response(
                _INDEX.format(version=_VERSION, script=script),
                media_type="text/html; charset=utf-8", headers=index_headers,
            ),
        }
        if self.prefix:
            # Relative, so that behind a proxy's mount path the browser stays under it.
            location = self.prefix.rsplit("/", 1)[1] + "/"
            responses[self.prefix] = Response.raw(301, {"location": location}, b"")
        for assets, cache in ((_ASSETS, _ASSET_CACHE), (_REDIRECT_PAGES, _INDEX_CACHE)):
            for name, media_type in assets.items():
                responses[f"{self.prefix}/{name}"] = Response(
                    _read_asset(name), media_type=media_type, headers=cache
                )
        self._responses = responses

    def responses(self) -> Iterator[tuple[str, Response]]:
        """Every path the explorer answers, with its response."""
        return iter(self._responses.items())

    def find(self, path: str) -> Response | None:
        """The response for `path`, or None when the path is not the explorer's.

        >>> Explorer("/docs").find("/docs/").media_type
        'text/html; charset=utf-8'
        """
        return self._responses.get(path)


def _relative_url(prefix: str, spec_url: str) -> str:
    """`spec_url` relative to the index page at `{prefix}/`; other URLs are kept as they are.

    >>> _relative_url("/explorer", "/openapi.json")
    '../openapi.json'
    >>> _relative_url("", "/openapi.json")
    './openapi.json'
    """
    if not spec_url.startswith("/") or spec_url.startswith("//"):
        return spec_url
    depth = prefix.count("/")
    return ("../" * depth or "./") + spec_url.lstrip("/")


def _render_script(spec_url: str) -> str:
    # A JSON string is a valid JavaScript string; "</" is escaped so it cannot close the script.
    literal = json.dumps(spec_url).replace("</", "<\\/")
    return _SCRIPT.format(spec_url=literal)


def _content_security_policy(script: str, spec_url: str) -> str:
    """What the index page may load and run: its own files, its one inline script (by hash),
    and the spec; Swagger UI also needs inline styles and `data:` images. No other page may
    frame it (clickjacking "Try it out").

    >>> policy = _content_security_policy("", "https://specs.example/openapi.json").split("; ")
    >>> policy[1]
    "script-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    >>> policy[4]
    "connect-src 'self' https://specs.example"
    """
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    connect = "'self'"
    parts = urlsplit(spec_url)
    if parts.scheme in ("http", "https") and parts.netloc:  # a spec served elsewhere
        connect += f" {parts.scheme}://{parts.netloc}"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'sha256-{digest}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        f"connect-src {connect}",
        "frame-ancestors 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ])


@functools.cache
def _read_asset(name: str) -> bytes:
    # Shared by every Explorer in the process: apps built in tests read the 1.9 MB once.
    return (_ASSET_DIR / name).read_bytes()
