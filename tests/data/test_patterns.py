"""Patterns: LIKE operands, and regular expressions rewritten into a form every database reads alike.

`tests/data/test_filters.py` runs the translations on the databases; here they are checked as text,
and against RE2, SQLite's engine. `tests/data/test_hostile_database.py` runs the attacks.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.data.patterns import (
    MAX_COMPILED,
    Unportable,
    _compiled,
    like_pattern,
    portable_regexp,
    re2_pattern,
    regexp_source,
    sqlite_regexp,
    storable_text,
)


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


# -- RE2, SQLite's engine -------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "re2_form"), [
    ("^ab$", r"^ab\z"),
    ("a$|b", r"a\z|b"),
    ("(a$)*", r"(?:a\z)*"),
    ("[$(]$", r"[$(]\z"),  # a `$` in brackets is a member
    (r"\$", r"\$"),
    ("a.c", "a[^\n]c"),
])
def test_re2_reads_the_very_end_as_backslash_z(pattern: str, re2_form: str) -> None:
    assert re2_pattern(portable_regexp(pattern, fold=False)) == re2_form


END = "(?![^\n]|\n)"  # the portable form of `$`


@pytest.mark.parametrize(("pattern", "re2_form"), [
    ("[]a]" + END, r"[]a]\z"),  # a `]` first in a class is a member
    ("[^]a]" + END, r"[^]a]\z"),
    (r"[\]" + END + "]", r"[\]" + END + "]"),  # an escaped `]` does not close it
    ("[" + END + "]", "[" + END + "]"),  # the look-ahead's characters, as members
    ("\\" + END, "\\" + END),  # an escaped `(` opens no look-ahead
    ("\\\\" + END, "\\\\\\z"),  # an escaped backslash, then the end
])
def test_re2_form_leaves_escapes_and_classes_alone(pattern: str, re2_form: str) -> None:
    assert re2_pattern(pattern) == re2_form


@pytest.mark.parametrize(("pattern", "accepted"), [
    ("(a{40}){25}", True), ("(a{40}){26}", False),
    ("((a{10}){10}){10}", True), ("((a{10}){10}){11}", False),
    ("(a{4,}){250}", True), ("(a{5,}){250}", False),  # an open bound counts its minimum
    ("(a{0}){255}", True),  # a count of 0 counts as 1
    ("(a{200}|b{3}){5}", True), ("(a{201}|b){5}", False),  # the largest branch counts
    ("(a{250})+", True), ("((a{250})+){5}", False),  # `+` counts as 1
    ("a{250}b{250}c{250}d{250}e{250}", True),  # side by side, nothing multiplies
])
def test_nested_repetition_counts_stay_within_re2s_limit(pattern: str, accepted: bool) -> None:
    if accepted:
        portable_regexp(pattern, fold=False)
        return
    with pytest.raises(Unportable) as caught:
        portable_regexp(pattern, fold=False)
    assert str(caught.value) == "nested repetition counts that multiply to more than 1000"


def test_a_pattern_too_large_for_re2_is_refused() -> None:
    with pytest.raises(Unportable) as caught:
        portable_regexp("(?:" + ".{250}" * 100 + "){4}", fold=False)  # 607 characters
    assert str(caught.value) == "too large to compile within RE2's memory budget"


SUBJECT_ALPHABET = "abAB1 _-\t\né日!"


@settings(max_examples=300, deadline=None)
@given(pattern=st.text("ab.^$[]()|*+?{}\\-dwsDWSn12,:xAé日!", max_size=10),
       fold=st.booleans(),
       subjects=st.lists(st.text(SUBJECT_ALPHABET, max_size=8), min_size=1, max_size=6))
def test_re2_and_python_read_every_portable_pattern_alike(
        pattern: str, fold: bool, subjects: list[str]) -> None:
    """SQLite's RE2 gives what Python's `re` (PostgreSQL's and PCRE2's reading) gives."""
    try:
        portable = portable_regexp(pattern, fold=fold)
    except Unportable:
        return
    python = re.compile(portable)
    for subject in subjects:
        assert sqlite_regexp(portable, subject) is (python.search(subject) is not None), subject


def test_sqlite_regexp_is_null_for_null_and_reads_other_values_as_text() -> None:
    assert sqlite_regexp(None, "a") is None
    assert sqlite_regexp("a", None) is None
    assert sqlite_regexp("^12", 123) is True
    assert sqlite_regexp(r"^1\.5", 1.5) is True
    assert sqlite_regexp("é", "é".encode()) is True


def test_sqlite_regexp_compiles_each_pattern_once() -> None:
    pattern = portable_regexp("^compiled once [0-9]+$", fold=True)
    before = _compiled.cache_info()
    for n in range(100):
        assert sqlite_regexp(pattern, f"COMPILED once {n}") is True
    after = _compiled.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 99)
    assert after.maxsize == MAX_COMPILED


def test_sqlite_regexp_refuses_what_re2_cannot_read() -> None:
    """Only a handler's own SQL can send one: filters send portable patterns."""
    with pytest.raises(Unportable):
        sqlite_regexp("(?=a)", "a")


@pytest.mark.parametrize(("pattern", "text", "found"), [
    ("(a|a)*$", "a" * 25 + "!", True),  # 10 s in Python's `re`
    ("(a|a)*[0-9]", "a" * 5000, False),
    ("a*a*a*!", "a" * 2000, False),  # over a minute in Python's `re`
    ("^(a?){25}a{25}$", "a" * 25, True),
    ("^(a?){25}a{25}$", "a" * 2000, False),
    ("(\\w|\\d)*!", "1" * 5000, False),
])
def test_catastrophic_patterns_take_linear_time(pattern: str, text: str, found: bool) -> None:
    portable = portable_regexp(pattern, fold=False)
    started = time.perf_counter()
    assert sqlite_regexp(portable, text) is found
    assert time.perf_counter() - started < 0.1


def test_regexp_source_names_the_pattern_a_filter_gave() -> None:
    assert regexp_source(portable_regexp("^a.c$", fold=True)) == "/^a.c$/i"
    assert regexp_source(portable_regexp("^a.c$", fold=False)) == "^a.c$"
    assert regexp_source("never translated") == "never translated"


@pytest.mark.parametrize("pattern", [r"a\x00", r"\ud800"])
def test_a_pattern_no_database_can_store_is_left_to_the_filter_to_refuse(pattern: str) -> None:
    """`filters` answers "'regexp' cannot hold a NUL character or a lone surrogate"."""
    assert not storable_text(portable_regexp(pattern, fold=False))
