"""The mock's data (`charter serve --mock`): each entity's schema examples, stored at start-up.

An entity's schema gives its examples as `example` (OpenAPI 3.0) or `examples` (a list, in 3.1).
Each is created through the entity's repository, checked as any write is; one that refers to a
row not stored yet waits for the others (so examples need no order), and one the repository
refuses is left out with a warning naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.data.repository import Repositories
from server.errors import HttpError, InvalidReference


def examples_of(schema: Mapping[str, Any]) -> list[Any]:
    """An entity schema's examples.

    >>> examples_of({"example": {"id": 1}}), examples_of({"examples": [{"id": 1}, {"id": 2}]})
    ([{'id': 1}], [{'id': 1}, {'id': 2}])
    """
    if isinstance(schema.get("examples"), list):
        return list(schema["examples"])
    return [schema["example"]] if "example" in schema else []


def seed(repositories: Repositories, document: Mapping[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Store every entity's examples. Returns how many each entity got, and a warning for each
    example left out."""
    schemas = (document.get("components") or {}).get("schemas") or {}
    pending = [(name, index, example) for name in repositories
               for index, example in enumerate(examples_of(schemas.get(name) or {}))]
    stored = dict.fromkeys(repositories, 0)
    warnings: list[str] = []
    while pending:
        waiting: list[tuple[str, int, Any, str]] = []
        for name, index, example in pending:
            where = f"{name}'s example {index + 1}"
            if not isinstance(example, Mapping):
                warnings.append(f"{where} is not an object; the mock leaves it out")
                continue
            try:
                repositories[name].unscoped().create(example)
            except InvalidReference as exc:  # its target may be among the examples to come
                waiting.append((name, index, example, exc.message))
            except HttpError as exc:
                warnings.append(f"{where} cannot be stored ({_reason(exc)}); the mock leaves it "
                                "out")
            else:
                stored[name] += 1
        if len(waiting) == len(pending):
            warnings += [f"{name}'s example {index + 1} cannot be stored ({message}); the mock "
                         "leaves it out" for name, index, _, message in waiting]
            break
        pending = [(name, index, example) for name, index, example, _ in waiting]
    return stored, warnings


def _reason(error: HttpError) -> str:
    """The first detail of a refused write, else its message."""
    if isinstance(error.details, list) and error.details:
        detail = error.details[0]
        return f"{detail.get('path') or '/'} {detail.get('message')}"
    return error.message
