"""Declared security: the operations whose `security` requirements nothing enforces yet.

Charter does not verify credentials yet. Until it does, a spec that declares them fails closed:
the start is refused, naming each operation, unless the settings say to serve them unprotected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.settings import Settings
from server.spec import Spec

_HOW_TO = ("Charter does not enforce security requirements yet: remove them (an operation opts "
           "out with `security: []`), or set CHARTER_ALLOW_UNENFORCED_SECURITY=1 to serve these "
           "operations unprotected")


@dataclass(frozen=True, slots=True)
class SecuredOperation:
    """One operation whose security requirements, its own or the document's, ask for credentials."""

    method: str
    path: str
    operation_id: str | None
    schemes: tuple[str, ...]
    """The security scheme names its requirements use, in the order the spec gives them."""

    def __str__(self) -> str:
        return (f"{self.method} {self.path} (operationId {self.operation_id!r}) requires "
                f"security ({', '.join(self.schemes)})")


def secured_operations(spec: Spec) -> list[SecuredOperation]:
    """Every operation that cannot be called without credentials, by the spec's own rules.

    An operation's `security` replaces the document's; `security: []` opts out, and so does an
    empty requirement `{}` among the alternatives, since it lets anyone in.

    >>> from pathlib import Path
    >>> spec = Spec({"security": [{"apiKey": []}], "paths": {"/a": {
    ...     "get": {"operationId": "a"}, "put": {"security": []}}}}, "3.0", Path("."), {})
    >>> [str(operation) for operation in secured_operations(spec)]
    ["GET /a (operationId 'a') requires security (apiKey)"]
    """
    default = spec.document.get("security") or []
    secured = []
    for path, method, operation, _ in spec.operations():
        requirements = operation.get("security", default) or []
        if any(not isinstance(r, Mapping) or not r for r in requirements):
            continue
        schemes = tuple(dict.fromkeys(name for requirement in requirements
                                      for name in requirement))
        if schemes:
            secured.append(SecuredOperation(method.upper(), path, operation.get("operationId"),
                                            schemes))
    return secured


def unenforced_security(spec: Spec, settings: Settings) -> tuple[list[str], str | None]:
    """`(problems, warning)` for the operations whose declared security is not enforced.

    The problems stop the start; the warning, when they are served anyway (under
    `allow_unenforced_security`, or `allow_unbound` for spec-first work), is for the log.
    """
    secured = secured_operations(spec)
    if not secured:
        return [], None
    listing = "".join(f"\n  - {operation}" for operation in secured)
    if settings.allow_unenforced_security:
        return [], (f"WARNING: {len(secured)} operation(s) declare security that Charter does "
                    "not enforce, and are served UNPROTECTED, without credentials, because "
                    f"CHARTER_ALLOW_UNENFORCED_SECURITY is on:{listing}")
    if settings.allow_unbound:
        return [], (f"WARNING: {len(secured)} operation(s) declare security that Charter does "
                    "not enforce, and are served UNPROTECTED under --allow-unbound (work in "
                    f"progress); without it the start is refused:{listing}")
    return [*(str(operation) for operation in secured), _HOW_TO], None
