"""Patterns: LIKE and regular-expression operands that every database reads the same way.

`regexp` patterns are limited to a portable subset and rewritten into explicit forms, because
PostgreSQL (ARE), MariaDB (PCRE2) and SQLite (RE2, see `sqlite_regexp`) differ: `.` and `$`
around newlines, `\\d` and `\\w` beyond ASCII, `\\b`, bounds above 255 (PostgreSQL) and nested
bounds multiplying past 1000 (RE2). A pattern outside the subset is refused, never silently
read differently.

SQLite has no REGEXP of its own: `sqlite_regexp` is the function each connection gets. It runs
Google's RE2, which takes time linear in the text (no backtracking) and releases the GIL, so no
pattern can freeze a worker as Python's `re` could (`(a|a)*$`: 10 s on 26 characters).
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from typing import Any

import jsonschema_rs
import re2  # type: ignore[import-untyped]
from re2 import _re2

_MAX_SOURCES = 256
_SOURCES: dict[str, str] = {}
_SOURCES_LOCK = threading.Lock()


_REGEX_FORMAT = jsonschema_rs.validator_for({"type": "string", "format": "regex"},
                                           validate_formats=True)


def is_regex_format(text: str) -> bool:
    """Whether `text` is a regular expression as JSON Schema's `format: regex` means it
    (ECMA-262), which the published filter schemas say of a `regexp` operand: the portable
    subset is checked within it, so that no operand a client's validator refuses is served.

    >>> is_regex_format("^a+$"), is_regex_format("a}"), is_regex_format("\\\u00e1")
    (True, False, False)
    """
    return bool(_REGEX_FORMAT.is_valid(text))


def portable_regexp(pattern: str, fold: bool) -> str:
    """The pattern rewritten for every database; `Unportable` when it is outside the subset.

    >>> portable_regexp("^ab?$", fold=False)
    '^ab?(?![^\\n]|\\n)'
    """
    portable = _translated(pattern, fold)
    with _SOURCES_LOCK:  # the most recent ones, for `regexp_source`
        _SOURCES.pop(portable, None)
        _SOURCES[portable] = f"/{pattern}/i" if fold else pattern
        if len(_SOURCES) > _MAX_SOURCES:
            del _SOURCES[next(iter(_SOURCES))]
    return portable


def regexp_source(portable: str) -> str:
    """The pattern a filter gave for a recent `portable_regexp`, to name it in an error.

    >>> regexp_source(portable_regexp("(a|a)*$", fold=True))
    '/(a|a)*$/i'
    >>> regexp_source("(?:unknown)")
    '(?:unknown)'
    """
    with _SOURCES_LOCK:
        return _SOURCES.get(portable, portable)


@functools.lru_cache(maxsize=_MAX_SOURCES)
def _translated(pattern: str, fold: bool) -> str:
    portable = _PortablePattern(pattern, fold=fold).translate()
    if not storable_text(portable):
        return portable  # no database can be sent it: the caller refuses it
    compiled = _re2.RE2(re2_pattern(portable).encode(), _RE2_OPTIONS)  # SQLite's engine
    if not compiled.ok():
        error = compiled.error().decode(errors="replace")
        raise Unportable("too large to compile within RE2's memory budget"
                         if "too large" in error else error)
    return portable


def re2_pattern(portable: str) -> str:
    r"""A portable pattern as RE2 reads it: RE2 has no look-ahead, so the very end becomes `\z`.

    Everything else the subset emits means the same in RE2, and is kept as it is.

    >>> re2_pattern(portable_regexp("a$|[$(]", fold=False))
    'a\\z|[$(]'
    """
    out: list[str] = []
    at = 0
    while at < len(portable):
        if portable.startswith(_END, at):
            out.append(r"\z")
            at += len(_END)
            continue
        char = portable[at]
        end = (at + 2 if char == "\\" else _class_end(portable, at) if char == "[" else at + 1)
        out.append(portable[at:end])
        at = end
    return "".join(out)


def sqlite_regexp(pattern: str | None, value: Any) -> bool | None:
    """SQLite's `value REGEXP pattern`, by RE2: each pattern is compiled once (`MAX_COMPILED`).

    NULL on either side is NULL, as for every SQL operator; a non-text value is read as text.

    >>> sqlite_regexp(portable_regexp("(a|a)*$", fold=False), "a" * 25 + "!")
    True
    """
    if pattern is None or value is None:
        return None
    compiled = _compiled(pattern)
    text = value if isinstance(value, bytes) else str(value).encode(errors="surrogatepass")
    return bool(compiled.Match(_UNANCHORED, text, 0, len(text))[0][0] >= 0)


MAX_COMPILED = 32
"""Compiled RE2 patterns kept per process for SQLite; each may use up to `RE2_MAX_MEM`."""
RE2_MAX_MEM = 4 << 20
"""RE2's memory budget for one pattern (program and DFA cache); a larger program is refused."""


def storable_text(text: str) -> bool:
    """PostgreSQL stores no NUL character, and no database a lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def like_pattern(text: str) -> str:
    r"""A LIKE pattern with `\` as its escape, and a lone trailing backslash taken literally.

    >>> print(like_pattern("50\\%_off\\"))
    50\%_off\\
    """
    out = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append("\\" + char if char in "%_\\" else char)
        else:
            out.append(char)
    return "".join(out)


class Unportable(ValueError):
    """A pattern outside the portable subset: invalid, or read differently by some engine."""


def _class_end(pattern: str, at: int) -> int:
    """Where the `[...]` opening at `at` ends (a `]` first in it is a member, as everywhere)."""
    end = at + 1 + pattern.startswith("^", at + 1)
    end += pattern.startswith("]", end)
    while end < len(pattern) and pattern[end] != "]":
        end += 2 if pattern[end] == "\\" else 1
    return min(end + 1, len(pattern))


@functools.lru_cache(maxsize=MAX_COMPILED)
def _compiled(pattern: str) -> Any:
    compiled = _re2.RE2(re2_pattern(pattern).encode(errors="surrogatepass"), _RE2_OPTIONS)
    if not compiled.ok():  # only a pattern of a handler's own SQL: filters send portable ones
        raise Unportable(compiled.error().decode(errors="replace"))
    return compiled


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print refused patterns on stderr
_RE2_OPTIONS.never_capture = True  # a search only asks whether there is a match
_RE2_OPTIONS.max_mem = RE2_MAX_MEM
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED


_CLASS_ESCAPES = {"d": "0-9", "w": "0-9A-Z_a-z", "s": " \t\n\r\x0b\x0c"}
_CHAR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\x0c", "v": "\x0b"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_SPECIAL = frozenset("\\.^$|?*+()[]{}")
_ANY = "[^\n]"  # Python's `.`; PostgreSQL's `.` would match a newline too
_END = "(?![^\n]|\n)"  # the very end: Python's and PCRE's `$` also match before a final newline
_BOUND = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")
_MAX_REPEAT = 255  # PostgreSQL's limit on a bound
_MAX_NESTED_REPEAT = 1000  # RE2's limit on the product of nested bounds (`(a{40}){26}`)
_MAX_GROUPS = 32


class _PortablePattern:
    """Translate one pattern of the portable subset; raise `Unportable` for anything else.

    >>> _PortablePattern("^a.c$", fold=True).translate()
    '^[aA][^\\n][cC](?![^\\n]|\\n)'
    """

    def __init__(self, pattern: str, fold: bool) -> None:
        self.pattern = pattern
        self.at = 0
        self.fold = fold
        self.depth = 0

    def translate(self) -> str:
        text, _, _ = self.alternation()
        if self.at < len(self.pattern):
            raise Unportable("an unbalanced parenthesis")
        return text

    def peek(self, ahead: int = 0) -> str:
        at = self.at + ahead
        return self.pattern[at] if at < len(self.pattern) else ""

    def alternation(self) -> tuple[str, bool, int]:
        """The text, whether it repeats anything a varying number of times, and its nesting.

        The nesting is the largest product of nested repetition counts, as RE2 counts them.
        """
        branches, varies, nesting = [], False, 1
        while True:
            text, branch_varies, branch_nesting = self.sequence()
            branches.append(text)
            varies = varies or branch_varies
            nesting = max(nesting, branch_nesting)
            if self.peek() != "|":
                return "|".join(branches), varies, nesting
            self.at += 1

    def sequence(self) -> tuple[str, bool, int]:
        out, varies, nesting = [], False, 1
        while self.peek() not in ("", "|", ")"):
            atom, inner, repeatable, inner_nesting = self.atom()
            quantifier, variable, count = self.quantifier()
            if quantifier and not repeatable:
                raise Unportable("nothing to repeat")
            if variable and inner:
                raise Unportable("a repetition inside a repetition can take exponential time")
            if inner_nesting * count > _MAX_NESTED_REPEAT:
                raise Unportable(f"nested repetition counts that multiply to more than "
                                 f"{_MAX_NESTED_REPEAT}")
            out.append(atom + quantifier)
            varies = varies or inner or variable
            nesting = max(nesting, inner_nesting * count)
        return "".join(out), varies, nesting

    def atom(self) -> tuple[str, bool, bool, int]:
        """`(text, varies inside, can be repeated, nesting inside)`."""
        char = self.peek()
        self.at += 1
        if char == "(":
            if self.peek() == "?":
                if self.peek(1) != ":":
                    raise Unportable(f"a '(?{self.peek(1)}' group")
                self.at += 2
            self.depth += 1
            if self.depth > _MAX_GROUPS:
                raise Unportable(f"groups nested deeper than {_MAX_GROUPS} levels")
            text, varies, nesting = self.alternation()
            if self.peek() != ")":
                raise Unportable("missing )")
            self.at += 1
            self.depth -= 1
            return f"(?:{text})", varies, True, nesting
        if char == "[":
            return self.bracket(), False, True, 1
        if char == ".":
            return _ANY, False, True, 1
        if char in "^$":
            return ("^" if char == "^" else _END), False, False, 1
        if char == "\\":
            escaped = self.peek()
            self.at += 1
            if escaped.lower() in _CLASS_ESCAPES:
                negate = "^" if escaped.isupper() else ""
                return f"[{negate}{_CLASS_ESCAPES[escaped.lower()]}]", False, True, 1
            return self.literal(self.escaped(escaped)), False, True, 1
        if char in "*+?" or (char == "{" and self.bound(self.at - 1)):
            raise Unportable("nothing to repeat")
        return self.literal(char), False, True, 1

    def escaped(self, char: str) -> str:
        """The character a backslash escape stands for, outside or inside brackets."""
        if char in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[char]
        if char in _HEX_ESCAPES:
            digits = self.pattern[self.at:self.at + _HEX_ESCAPES[char]]
            self.at += len(digits)
            if not re.fullmatch(f"[0-9A-Fa-f]{{{_HEX_ESCAPES[char]}}}", digits) or int(
                    digits, 16) > sys.maxunicode:
                raise Unportable(f"a bad escape '\\{char}{digits}'")
            return chr(int(digits, 16))
        if not char:
            raise Unportable("a trailing backslash")
        if not (char.isascii() and char.isalnum()):
            return char
        raise Unportable(f"'\\{char}', which does not mean the same on every database")

    def literal(self, char: str) -> str:
        if self.fold and char.isascii() and char.isalpha():
            return f"[{char.lower()}{char.upper()}]"
        return "\\" + char if char in _SPECIAL else char

    def bound(self, at: int) -> tuple[int, int | None] | None:
        match = _BOUND.match(self.pattern, at)
        if not match or (not match[1] and not match[2]):
            return None
        low = int(match[1] or 0)
        high = low if not match[2] else int(match[3]) if match[3] else None
        if max(low, high or 0) > _MAX_REPEAT:
            raise Unportable(f"a repetition count above {_MAX_REPEAT}")
        if high is not None and high < low:
            raise Unportable("a repetition whose minimum exceeds its maximum")
        self.at = match.end()
        return low, high

    def quantifier(self) -> tuple[str, bool, int]:
        """The quantifier text, whether it repeats a varying number of times, and its count.

        The count is what RE2 multiplies along a nesting: a bound's maximum (its minimum when
        it has none); `*`, `+`, `?` and a count of 0 count as 1.
        """
        char = self.peek()
        count = 1
        if char in ("*", "+", "?"):
            self.at += 1
            text, variable = char, True
        elif char == "{" and (bound := self.bound(self.at)):
            low, high = bound
            text = f"{{{low}}}" if high == low else f"{{{low},{'' if high is None else high}}}"
            variable = high != low
            count = max(1, low if high is None else high)
        else:
            return "", False, 1
        if self.peek() == "?":
            self.at += 1  # lazy matches the same strings: a search only asks whether one exists
        elif self.peek() == "+":
            raise Unportable("a possessive repetition")
        return text, variable, count

    def bracket(self) -> str:
        negate = self.peek() == "^"
        self.at += negate
        ranges: list[tuple[int, int]] = []
        classes: list[str] = []
        first = True
        while True:
            char = self.peek()
            if not char:
                raise Unportable("an unterminated [")
            if char == "]" and not first:
                self.at += 1
                break
            first = False
            if char == "[" or (char in "-&~|" and self.pattern.startswith(char * 2, self.at)):
                raise Unportable(f"an unescaped '{char if char == '[' else char * 2}' inside [...]")
            low = self.bracket_item()
            if isinstance(low, str) and self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.at += 1
                high = self.bracket_item()
                if not isinstance(high, str) or high < low:
                    raise Unportable("a bad character range")
                ranges.append((ord(low), ord(high)))
            elif isinstance(low, str):
                ranges.append((ord(low), ord(low)))
            elif self.peek() == "-" and self.peek(1) not in ("]", ""):
                raise Unportable("a bad character range")
            else:
                classes.append(low[0])
        if self.fold:
            for start, end in list(ranges):
                for first_letter, last_letter, shift in ((97, 122, -32), (65, 90, 32)):
                    if start <= last_letter and end >= first_letter:
                        ranges.append((max(start, first_letter) + shift,
                                       min(end, last_letter) + shift))
        items = [_class_char(chr(start)) + (f"-{_class_char(chr(end))}" if end > start else "")
                 for start, end in ranges]
        return "[" + "^" * negate + "".join(items + classes) + "]"

    def bracket_item(self) -> str | tuple[str]:
        """A character, or `(class text,)` for `\\d`, `\\w`, `\\s`."""
        char = self.peek()
        self.at += 1
        if char != "\\":
            return char
        escaped = self.peek()
        self.at += 1
        if escaped in _CLASS_ESCAPES:
            return (_CLASS_ESCAPES[escaped],)
        if escaped.lower() in _CLASS_ESCAPES:
            raise Unportable(f"'\\{escaped}' inside [...]")
        return self.escaped(escaped)


def _class_char(char: str) -> str:
    """A character inside `[...]`; `&&`, `||`, `~~` and `--` would warn in Python's engine."""
    return "\\" + char if char in "\\]^-[&|~" else char


