"""The reference side of the validator tests: `jsonschema` with Charter's format checks."""

from __future__ import annotations

from collections.abc import Callable

import jsonschema

from server.dialect import FORMAT_CHECKERS


def format_checker() -> jsonschema.FormatChecker:
    """A `jsonschema.FormatChecker` running the same checks as the runtime validator.

    >>> format_checker().conforms("2024-13-01", "date")
    False
    """
    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMAT_CHECKERS.items():
        checker.checks(name)(_strings_only(check))
    return checker


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    return lambda instance: not isinstance(instance, str) or check(instance)
