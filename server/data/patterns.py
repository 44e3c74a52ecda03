"""Patterns: LIKE and regular-expression operands that every database reads the same way.

`regexp` patterns are limited to a portable subset and rewritten into explicit forms, because
PostgreSQL (ARE), MariaDB (PCRE) and SQLite (Python's `re`, through SQLAlchemy) differ: `.` and
`$` around newlines, `\\d` and `\\w` beyond ASCII, `\\b`, bounds above 255. A pattern outside
the subset is refused, never silently read differently.
"""

from __future__ import annotations

import re
import sys


def portable_regexp(pattern: str, fold: bool) -> str:
    """The pattern rewritten for every database; `Unportable` when it is outside the subset.

    >>> portable_regexp("^ab?$", fold=False)
    '^ab?(?![^\\n]|\\n)'
    """
    portable = _PortablePattern(pattern, fold=fold).translate()
    try:
        re.compile(portable)  # SQLite's engine; the translation reads the same everywhere
    except re.error as error:
        raise Unportable(str(error)) from None
    return portable


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


_CLASS_ESCAPES = {"d": "0-9", "w": "0-9A-Z_a-z", "s": " \t\n\r\x0b\x0c"}
_CHAR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\x0c", "v": "\x0b"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_SPECIAL = frozenset("\\.^$|?*+()[]{}")
_ANY = "[^\n]"  # Python's `.`; PostgreSQL's `.` would match a newline too
_END = "(?![^\n]|\n)"  # the very end: Python's and PCRE's `$` also match before a final newline
_BOUND = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")
_MAX_REPEAT = 255  # PostgreSQL's limit on a bound
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
        text, _ = self.alternation()
        if self.at < len(self.pattern):
            raise Unportable("an unbalanced parenthesis")
        return text

    def peek(self, ahead: int = 0) -> str:
        at = self.at + ahead
        return self.pattern[at] if at < len(self.pattern) else ""

    def alternation(self) -> tuple[str, bool]:
        """The text, and whether it repeats anything a varying number of times."""
        branches, varies = [], False
        while True:
            text, branch_varies = self.sequence()
            branches.append(text)
            varies = varies or branch_varies
            if self.peek() != "|":
                return "|".join(branches), varies
            self.at += 1

    def sequence(self) -> tuple[str, bool]:
        out, varies = [], False
        while self.peek() not in ("", "|", ")"):
            atom, inner, repeatable = self.atom()
            quantifier, variable = self.quantifier()
            if quantifier and not repeatable:
                raise Unportable("nothing to repeat")
            if variable and inner:
                raise Unportable("a repetition inside a repetition can take exponential time")
            out.append(atom + quantifier)
            varies = varies or inner or variable
        return "".join(out), varies

    def atom(self) -> tuple[str, bool, bool]:
        """`(text, varies inside, can be repeated)`."""
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
            text, varies = self.alternation()
            if self.peek() != ")":
                raise Unportable("missing )")
            self.at += 1
            self.depth -= 1
            return f"(?:{text})", varies, True
        if char == "[":
            return self.bracket(), False, True
        if char == ".":
            return _ANY, False, True
        if char in "^$":
            return ("^" if char == "^" else _END), False, False
        if char == "\\":
            escaped = self.peek()
            self.at += 1
            if escaped.lower() in _CLASS_ESCAPES:
                negate = "^" if escaped.isupper() else ""
                return f"[{negate}{_CLASS_ESCAPES[escaped.lower()]}]", False, True
            return self.literal(self.escaped(escaped)), False, True
        if char in "*+?" or (char == "{" and self.bound(self.at - 1)):
            raise Unportable("nothing to repeat")
        return self.literal(char), False, True

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

    def quantifier(self) -> tuple[str, bool]:
        """The quantifier text, and whether it repeats a varying number of times."""
        char = self.peek()
        if char in ("*", "+", "?"):
            self.at += 1
            text, variable = char, True
        elif char == "{" and (bound := self.bound(self.at)):
            low, high = bound
            text = f"{{{low}}}" if high == low else f"{{{low},{'' if high is None else high}}}"
            variable = high != low
        else:
            return "", False
        if self.peek() == "?":
            self.at += 1  # lazy matches the same strings: a search only asks whether one exists
        elif self.peek() == "+":
            raise Unportable("a possessive repetition")
        return text, variable

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


