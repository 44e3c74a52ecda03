"""Routing: path templates compiled once, a request's method and path looked up per request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote

from server.errors import EndpointNotFound, InvalidParameterValue, MethodNotAllowed

T = TypeVar("T")

_PARAM = re.compile(r"\{([^{}]+)\}")


def compile_path(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """Compile an OpenAPI path template into a regex and its parameter names.

    Parameters whose names are identifiers become named groups, so a match's `groupdict()` is
    the parameters themselves.

    >>> pattern, names = compile_path("/files/{name}.{ext}")
    >>> pattern.match("/files/report.v2.pdf").groupdict(), names
    ({'name': 'report.v2', 'ext': 'pdf'}, ('name', 'ext'))
    """
    names: list[str] = []
    regex = ["^"]
    position = 0
    for match in _PARAM.finditer(template):
        regex.append(re.escape(template[position:match.start()]))
        name = match.group(1)
        names.append(name)
        regex.append(f"(?P<{name}>[^/]+)" if name.isidentifier() and names.count(name) == 1
                     else "([^/]+)")
        position = match.end()
    regex.append(re.escape(template[position:]) + "$")
    return re.compile("".join(regex)), tuple(names)


@dataclass(frozen=True, slots=True)
class _Template(Generic[T]):
    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    methods: dict[str, T]
    named: bool
    """Every parameter is a named group: `groupdict()` is the answer."""


class Router(Generic[T]):
    """Finds the target for a method and path: static paths by dict, templated ones by regex.

    Concrete paths win over templated ones (`/todos/count` before `/todos/{id}`), then templates
    with more literal characters. HEAD is answered by GET's target.

    >>> router = Router([("/todos/{id}", "get", "findById"), ("/todos/count", "get", "count")])
    >>> router.find_route("GET", "/todos/count"), router.find_route("HEAD", "/todos/7")
    (('count', {}), ('findById', {'id': '7'}))
    """

    def __init__(self, routes: Iterable[tuple[str, str, T]]) -> None:
        static: dict[str, dict[str, T]] = {}
        templated: dict[str, dict[str, T]] = {}
        for path, method, target in routes:
            table = templated if _PARAM.search(path) else static
            table.setdefault(path, {})[method.upper()] = target
        self._static = static
        entries = []
        for template, methods in templated.items():
            pattern, names = compile_path(template)
            entries.append(_Template(template, pattern, names, methods,
                                     len(pattern.groupindex) == len(names)))
        # More literal text first: "/a/{x}/b" before "/a/{x}/{y}".
        entries.sort(key=lambda e: (-len(_PARAM.sub("", e.template)), e.template))
        self._templated = tuple(entries)

    def find_route(self, method: str, path: str) -> tuple[T, dict[str, str]]:
        """Return `(target, path_params)`; raise EndpointNotFound (404) or MethodNotAllowed (405).

        `path` is the raw (still percent-encoded) request path; parameter values are decoded.
        """
        methods = self._static.get(path)
        params: dict[str, str] = {}
        if methods is None:
            for entry in self._templated:
                match = entry.pattern.match(path)
                if match is not None:
                    methods = entry.methods
                    params = (match.groupdict() if entry.named
                              else dict(zip(entry.names, match.groups(), strict=True)))
                    if "%" in path:
                        params = {name: _decode(name, value) for name, value in params.items()}
                    break
            else:
                raise EndpointNotFound(method, unquote(path))
        target = methods.get(method)
        if target is None and method == "HEAD":
            target = methods.get("GET")
        if target is None:
            raise MethodNotAllowed(method, unquote(path), allowed_methods(methods))
        return target, params

    def routes(self, method: str, path: str) -> bool:
        """Whether a route answers `method` at `path` (HEAD where GET is).

        >>> Router([("/a/{x}", "get", "t")]).routes("GET", "/a/b")
        True
        """
        try:
            self.find_route(method, path)
        except (EndpointNotFound, MethodNotAllowed):
            return False
        return True

    def allowed(self, path: str) -> list[str] | None:
        """The methods served at `path`, or None if no route matches it."""
        methods = self._static.get(path)
        if methods is None:
            for entry in self._templated:
                if entry.pattern.match(path):
                    methods = entry.methods
                    break
        return None if methods is None else allowed_methods(methods)


def _decode(name: str, value: str) -> str:
    """A path parameter percent-decoded; escapes that are not UTF-8 (`%FF`) are a 400."""
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise InvalidParameterValue(name, value) from None


def allowed_methods(methods: Mapping[str, object]) -> list[str]:
    allowed = sorted(methods)
    if "GET" in methods and "HEAD" not in methods:
        allowed.append("HEAD")
    return sorted(allowed)
