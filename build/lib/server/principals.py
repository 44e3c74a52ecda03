"""Principals: who made a request, as authentication (`security.py`) found them.

A verifier returns a `Principal`, or a dict with its keys; a verified JWT gives one from its
claims. Handlers get it by an argument named `principal`, interceptors as `context.principal`,
and any code as `request.principal`. While a request is served, `current_principal()` returns it
too: code with no request at hand (a repository scoping rows to their owner) reads it there.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

_KEYS = frozenset({"id", "scopes", "roles", "claims", "scheme"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: `id` (a JWT's `sub`), the OAuth2 `scopes` and the `roles` granted,
    the token's `claims` (empty for other credentials), and the security `scheme` that
    authenticated them.

    >>> Principal(id="42", roles=frozenset({"admin"}))
    Principal(id='42', scopes=frozenset(), roles=frozenset({'admin'}), claims={}, scheme=None)
    """

    id: Any = None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict)
    scheme: str | None = None


def as_principal(value: Any, scheme: str, granted: frozenset[str] = frozenset()) -> Principal:
    """What a verifier returned as a `Principal` of `scheme`: a Principal, or a dict with
    `Principal`'s keys (`TypeError` for anything else, or for other keys). `granted` scopes are
    added (a scheme accepting any credential while unbound grants what it is asked for)."""
    if isinstance(value, Principal):
        principal = value
    elif isinstance(value, Mapping):
        unknown = sorted(set(value) - _KEYS)
        if unknown:
            raise TypeError(f"a principal's keys are {', '.join(sorted(_KEYS))}; not "
                            f"{', '.join(map(repr, unknown))}")
        principal = Principal(id=value.get("id"), scopes=_strings(value.get("scopes")),
                              roles=_strings(value.get("roles")),
                              claims=value.get("claims") or {}, scheme=value.get("scheme"))
    else:
        raise TypeError(f"a verifier returns a server.Principal, a dict or None, not "
                        f"{type(value).__name__}")
    if principal.scheme is None or granted:
        principal = Principal(principal.id, principal.scopes | granted, principal.roles,
                              principal.claims, principal.scheme or scheme)
    return principal


def _strings(value: Any) -> frozenset[str]:
    """Scopes or roles given as a space-separated string or a list of strings."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    return frozenset(str(item) for item in value)


class _Outside:
    """No request is being served: a script, a test, a migration."""


OUTSIDE = _Outside()
_current: ContextVar[Principal | _Outside | None] = ContextVar("charter_principal",
                                                               default=OUTSIDE)


def current_principal() -> Principal | None:
    """Who made the request being served; None outside a request, or for an anonymous one."""
    found = _current.get()
    return None if isinstance(found, _Outside) else found


def request_principal() -> tuple[bool, Principal | None]:
    """`(inside a request, its principal)`: what owned rows are scoped by (outside a request,
    nothing is)."""
    found = _current.get()
    return (False, None) if isinstance(found, _Outside) else (True, found)


def set_current(principal: Principal | None) -> None:
    """Set by the pipeline for the rest of each request to an operation (its task's context),
    once its security has run: None for an anonymous request."""
    _current.set(principal)
