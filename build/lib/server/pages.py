"""Charter's own pages: the published spec and the explorer, as routes beside the spec's own.

Each page is a `Page`, a route target the pipeline answers itself, for GET and HEAD: its
response is built from the request's scope (the published spec names the server it was asked
from) or once, at start-up (the explorer's page and assets). `pages` lists them by path, under
the base path and at the root; a path the spec routes GET at itself is the spec's, and no page
is made for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from server.explorer import Explorer
from server.forwarded import TrustedProxies, base_url
from server.publish import Publisher
from server.requests import parse_headers
from server.responses import Response
from server.types import Scope


class Page:
    """A route Charter serves itself: `respond(scope)` is the response to a GET or HEAD.

    >>> Page.constant(Response(b"hi", media_type="text/plain")).respond({}).body
    b'hi'
    """

    __slots__ = ("respond",)

    def __init__(self, respond: Callable[[Scope], Response]) -> None:
        self.respond = respond

    @classmethod
    def constant(cls, response: Response) -> Page:
        """A page whose response is the same for every request."""
        return cls(lambda _scope: response)


def pages(publisher: Publisher, explorer: Explorer, proxies: TrustedProxies,
          base_path: str) -> Iterator[tuple[str, Page]]:
    """Charter's pages, by path: `/openapi.json`, `/openapi.yaml` and the explorer's, each at
    the root and, with a base path, under it too (as the operations are)."""
    def spec_page(render: Callable[[str], bytes], media_type: str) -> Page:
        def respond(scope: Scope) -> Response:
            url = base_url(scope, parse_headers(scope.get("headers", ())), proxies)
            return Response(render(url + base_path), media_type=media_type,
                            headers={"vary": proxies.vary})

        return Page(respond)

    own: list[tuple[str, Page]] = [
        ("/openapi.json", spec_page(publisher.render_json, "application/json")),
        ("/openapi.yaml", spec_page(publisher.render_yaml, "application/yaml")),
        *((path, Page.constant(response)) for path, response in explorer.responses()),
    ]
    for path, page in own:
        yield from _under(base_path, path, page)


def _under(base_path: str, path: str, page: Page) -> Iterable[tuple[str, Page]]:
    yield path, page
    if base_path:
        yield base_path + path, page
