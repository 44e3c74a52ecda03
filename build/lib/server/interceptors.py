"""Interceptors: LoopBack's interceptors, bound from the spec.

An interceptor is a method `Class.method` of the handlers package (or a function), its class
constructed per request with the same injection as a handler's. It is called as
`await method(context, call_next)`: `context` is the `InvocationContext`, and
`await call_next()` runs the rest of the chain and the handler, returning its result (plain data
or a `Response`). The interceptor returns that result, or another, or raises.

`x-interceptors: [Class.method, ...]` binds them at the document's root (every operation), on a
tag object of `tags` (every operation with that tag) and on an operation. They run global, then
by tag (in the operation's order of tags), then the operation's own, the first outermost. They
run after the request is routed, authenticated and parsed: never for a 404 or a 405, nor for a
request whose parameters or body were refused.

>>> class Timing:                                                   # in the handlers package
...     async def measure(self, context, call_next):
...         result = await call_next()
...         context.response_headers["server-timing"] = "app;desc=handler"
...         return result
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.binding import Handlers, Invoke, locate_injected
from server.principals import Principal
from server.requests import Request

KEY = "x-interceptors"

CallNext = Callable[[], Awaitable[Any]]


@dataclass(slots=True)
class InvocationContext:
    """What an interceptor sees of one invocation; `arguments` and `response_headers` are its
    to change."""

    operation_id: str | None
    route: str
    """The operation's method and path template: `"GET /todos/{id}"`."""
    arguments: dict[str, Any]
    """The handler's keyword arguments, coerced and validated: changes reach the handler."""
    request: Request
    response_headers: dict[str, str] = field(default_factory=dict)
    """Headers added to the response the handler's result becomes (`Server-Timing`...)."""
    principal: Principal | None = None
    """Who made the request (authentication runs before any interceptor); None when the
    operation has no security, or lets anonymous requests in."""


@dataclass(frozen=True)
class Intercepted:
    """A result, and the headers interceptors added for its response (`Operation.render`)."""

    result: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Interceptor:
    name: str
    call: Callable[[Request], Callable[[InvocationContext, CallNext], Awaitable[Any]]]
    """`request -> the bound method` (its instance made per request)."""


def declared(document: Mapping[str, Any], operation: Mapping[str, Any]) -> list[str]:
    """An operation's interceptors, by name, in the order they run."""
    names = list(_names(document.get(KEY)))
    tags = {tag.get("name"): tag for tag in document.get("tags") or ()
            if isinstance(tag, Mapping)}
    for tag in operation.get("tags") or ():
        names += _names(tags.get(tag, {}).get(KEY))
    return names + list(_names(operation.get(KEY)))


def _names(value: Any) -> list[str]:
    return [str(name) for name in value] if isinstance(value, list) else []


def compile_chain(names: Sequence[str], handlers: Handlers | None,
                  dependencies: Iterable[str]) -> tuple[list[_Interceptor], list[str], list[str]]:
    """The interceptors named, each found in the handlers package and checked: an async
    callable taking `(context, call_next)`, its class constructible by injection. Returns the
    chain, the problems, and those of the problems that are interceptors not written yet (which
    `--allow-unbound` lets the server start without, as it does unwritten handlers)."""
    chain: list[_Interceptor] = []
    problems: list[str] = []
    missing: list[str] = []
    for name in names:
        located, found, unwritten = locate_injected(handlers, name, dependencies)
        if located is None:
            (missing if unwritten else problems).append(
                f"interceptor {name!r}: {'; '.join(found)}")
        elif not inspect.iscoroutinefunction(located.function):
            problems.append(f"interceptor {name!r} must be `async def`: it is awaited with "
                            "(context, call_next)")
        else:
            chain.append(_Interceptor(name, located.call))
    return chain, [*missing, *problems], missing


def intercepted(invoke: Invoke, chain: Sequence[_Interceptor], operation_id: str | None,
                route: str) -> Invoke:
    """`invoke` run inside `chain`, the first outermost; `invoke` itself when it is empty."""
    if not chain:
        return invoke
    calls = tuple(interceptor.call for interceptor in chain)

    async def invoke_intercepted(request: Request, kwargs: dict[str, Any]) -> Any:
        context = InvocationContext(operation_id, route, kwargs, request,
                                    principal=request.principal)

        async def step(index: int) -> Any:
            if index == len(calls):
                return await invoke(request, context.arguments)
            return await calls[index](request)(context, lambda: step(index + 1))

        result = await step(0)
        return Intercepted(result, context.response_headers) if context.response_headers \
            else result
    return invoke_intercepted
