"""The repair step's mojibake gate and normalize's whitespace collapsing are exact shortcuts of the code they
replace: the gate never hides text ftfy's ``is_bad`` flags, ``_collapse_spaces`` equals the old regex chain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_TEXT_SUFFIXES = {".txt", ".csv", ".tsv", ".jsonl", ".json", ".conllu", ".md"}


def _real_lines() -> list[str]:
    if not DATA.is_dir():
        pytest.skip(f"the real-text corpus {DATA} is absent (it sits next to the project checkout)")
    lines = []
    for path in sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix in _TEXT_SUFFIXES):
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _gate():
    from jazari_nlp.corpus.steps import _mojibake_hint

    return _mojibake_hint()


def _badness_alphabet() -> list[str]:
    """Every character BADNESS_RE names (its categories expanded, its literals) plus ASCII context."""
    from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES

    named = re.compile("[" + "".join(MOJIBAKE_CATEGORIES.values()) + "]")
    chars = {chr(c) for c in range(0x80, 0x2600) if named.match(chr(c))}
    chars |= {c for c in BADNESS_RE.pattern if ord(c) >= 0x80} | {"\ufffd", "\uf8ff", "\ufb01", "\ufb02"}
    return sorted(chars) + list("aZz .,!?\n\t0")


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from(_badness_alphabet()), max_size=10))
def test_gate_false_means_is_bad_false_on_random_strings(text):
    from ftfy.badness import is_bad

    if _gate().search(text) is None:
        assert not is_bad(text)


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_gate_finds_every_string_badness_re_matches(data):
    """Strings drawn from BADNESS_RE itself (each alternative, with random text around it)."""
    from ftfy.badness import BADNESS_RE

    text = data.draw(st.from_regex(BADNESS_RE))
    assert BADNESS_RE.search(text)
    assert _gate().search(text), text


def test_gate_false_means_is_bad_false_on_real_text():
    from ftfy.badness import is_bad

    lines = _real_lines()
    hidden = [line for line in lines if _gate().search(line) is None and is_bad(line)]
    assert hidden == []
    assert sum(bool(_gate().search(line)) for line in lines) >= sum(is_bad(line) for line in lines)


def test_gate_skips_clean_accented_text_and_catches_mojibake():
    gate = _gate()
    for clean in ("le café est prêt, élève", "un cœur, un œuf", "ⴰⵣⵓⵍ", "واش نتا مزيان؟", "señor Müller"):
        assert gate.search(clean) is None, clean
    for broken in ("le cafÃ© est prÃªt", "Ø³Ù„Ø§Ù…", "it\u00e2\u20ac\u2122s", "a\x85b", "Å“uvre Å“ "):
        assert gate.search(broken), broken


def test_gate_derivation_on_a_toy_pattern_and_its_fallbacks():
    from jazari_nlp.corpus.builtin_steps.repair import _MATCH_ALL, _badness_gate

    gate = _badness_gate(re.compile("a[bc]|x+y|œ[^a-z]|\\s[é][€]"))
    assert gate.pattern == "[ayéœ](?:(?<=[a])[bc]|(?<=[y])|(?<=[œ])[^a-z]|(?<=[é])[€])"
    assert [bool(gate.search(t)) for t in ("ab", "ax", "y", "œu", "œ1", " é€", "é")] == [
        True, False, True, False, True, True, False]
    assert _badness_gate(re.compile("a[bc]", re.IGNORECASE)) is _MATCH_ALL  # sets would change case
    assert _badness_gate(re.compile("ab|\\w+")) is _MATCH_ALL  # an alternative without a finite character


def _old_collapse(text: str, one_line: bool) -> str:
    """normalize's whitespace handling before ``_collapse_spaces``, kept here as the reference."""
    from jazari_nlp.text.normalize import _ANY_SPACE, _BLANK_LINES, _HSPACE, _LINE_EDGES

    if one_line:
        return _ANY_SPACE.sub(" ", text).strip()
    text = _HSPACE.sub(" ", text)
    if "\n" in text:
        text = _LINE_EDGES.sub("\n", text)
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u200b", "\ufeff"]  # + two non-spaces


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet=st.sampled_from(_SPACES + list("ab \n\n\n")), max_size=24), st.booleans())
def test_collapse_spaces_equals_the_regex_chain(text, one_line):
    from jazari_nlp.text.normalize import _collapse_spaces

    assert _collapse_spaces(text, one_line) == _old_collapse(text, one_line)


def test_collapse_spaces_equals_the_regex_chain_on_real_text():
    from jazari_nlp.text.normalize import _collapse_spaces

    lines = _real_lines()
    blocks = ["\n".join(lines[i:i + 7]) for i in range(0, len(lines), 7)]
    for text in blocks:
        for one_line in (False, True):
            assert _collapse_spaces(text, one_line) == _old_collapse(text, one_line)
