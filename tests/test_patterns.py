"""Patterns: LIKE operands, and regular expressions rewritten into a form every database reads alike.

`tests/test_filters.py` runs the translations on the databases; here they are checked as text.
"""

from __future__ import annotations

import re

import pytest

from server.data.patterns import Unportable, like_pattern, portable_regexp, storable_text


@pytest.mark.parametrize(("pattern", "fold", "portable"), [
    ("abc", False, "abc"),
    ("^ab?$", False, "^ab?(?![^\n]|\n)"),  # `$` is the very end, never before a last newline
    ("a.c", False, "a[^\n]c"),  # `.` is never a newline (PostgreSQL's would be)
    ("a.c", True, "[aA][^\n][cC]"),  # `i` folds ASCII letters only
    ("é", True, "é"),
    (r"\d+\w*\s?", False, "[0-9]+[0-9A-Z_a-z]*[ \t\n\r\x0b\x0c]?"),
    (r"\S\W\D", False, "[^ \t\n\r\x0b\x0c][^0-9A-Z_a-z][^0-9]"),
    ("[a-c]", True, "[a-cA-C]"),
    ("[^a]", True, "[^aA]"),
    ("[é-ü]", True, "[é-ü]"),
    (r"[\d_]", False, "[_0-9]"),
    (r"[^\w-]", False, r"[^\-0-9A-Z_a-z]"),
    ("[a-]", False, r"[a\-]"),
    ("[]a]", False, r"[\]a]"),
    ("(ab)|c{2,3}", False, "(?:ab)|c{2,3}"),
    ("(?:ab)+", False, "(?:ab)+"),
    ("(a{2})+", False, "(?:a{2})+"),  # a fixed count inside a repetition is safe
    ("x{,3}", False, "x{0,3}"),
    ("x{2,}", False, "x{2,}"),
    ("a{", False, r"a\{"),
    ("a*?", False, "a*"),  # lazy or greedy, a search finds the same strings
    (r"\.\*\$", False, r"\.\*\$"),
    (r"\x41\u00e9\n\t", False, "Aé\n\t"),
    ("()", False, "(?:)"),
])
def test_portable_translations(pattern: str, fold: bool, portable: str) -> None:
    assert portable_regexp(pattern, fold=fold) == portable


@pytest.mark.parametrize(("pattern", "reason"), [
    ("(a", "missing )"),
    ("a)", "an unbalanced parenthesis"),
    ("(?i)a", "a '(?i' group"),
    ("(?=a)", "a '(?=' group"),
    ("*a", "nothing to repeat"),
    ("^*", "nothing to repeat"),
    ("a{2}{3}", "nothing to repeat"),
    ("a++", "a possessive repetition"),
    ("a{300}", "a repetition count above 255"),
    ("a{3,2}", "a repetition whose minimum exceeds its maximum"),
    ("(a+)+", "a repetition inside a repetition can take exponential time"),
    ("(?:a|b+)*", "a repetition inside a repetition can take exponential time"),
    ("(a{1,2})+", "a repetition inside a repetition can take exponential time"),
    (r"\b", r"'\b', which does not mean the same on every database"),
    (r"\1", r"'\1', which does not mean the same on every database"),
    ("\\", "a trailing backslash"),
    (r"\xZZ", r"a bad escape '\xZZ'"),
    (r"\U00110000", r"a bad escape '\U00110000'"),
    ("[a", "an unterminated ["),
    ("[z-a]", "a bad character range"),
    (r"[a-\d]", "a bad character range"),
    (r"[\d-z]", "a bad character range"),
    (r"[\D]", r"'\D' inside [...]"),
    ("[[]", "an unescaped '[' inside [...]"),
    ("[&&]", "an unescaped '&&' inside [...]"),
    ("[--]", "an unescaped '--' inside [...]"),
    ("(" * 33 + ")" * 33, "groups nested deeper than 32 levels"),
])
def test_patterns_outside_the_subset_are_refused_with_a_reason(pattern: str, reason: str) -> None:
    with pytest.raises(Unportable) as caught:
        portable_regexp(pattern, fold=False)
    assert str(caught.value) == reason


@pytest.mark.parametrize(("pattern", "fold", "text", "found"), [
    ("^ab$", False, "ab", True),
    ("^ab$", False, "ab\n", False),
    ("a.c", False, "a\nc", False),
    ("ABC", True, "xabcx", True),
    ("É", True, "é", False),
    (r"\d", False, "٣", False),  # an Arabic-Indic digit is no ASCII digit
    (r"\w+", False, "日本", False),
])
def test_translations_read_the_same_everywhere(pattern: str, fold: bool, text: str,
                                               found: bool) -> None:
    assert bool(re.search(portable_regexp(pattern, fold=fold), text)) is found


@pytest.mark.parametrize(("text", "pattern"), [
    ("50%", "50%"),
    ("a_b", "a_b"),
    ("50\\%_off", "50\\%_off"),
    ("ends with \\", "ends with \\\\"),  # a lone trailing backslash is itself
    ("a\\b", "ab"),  # a backslash escapes whatever follows it
    ("\\\\", "\\\\"),
])
def test_like_patterns_escape_with_a_backslash(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


@pytest.mark.parametrize(("text", "storable"), [
    ("plain", True), ("ok 😀", True), ("", True), ("a\x00b", False), ("\ud800", False),
])
def test_storable_text(text: str, storable: bool) -> None:
    assert storable_text(text) is storable
