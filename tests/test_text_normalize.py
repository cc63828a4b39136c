"""Normalization: one test per table row, the profiles, and property tests (hypothesis)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.text import decode_bytes, normalize
from jazari_nlp.text.normalize import read_table, repair_mojibake

DELETE_TABLES = ["bidi_controls", "zero_width", "tatweel"]


@pytest.mark.parametrize("name", DELETE_TABLES)
def test_delete_tables_remove_every_row(name):
    for cp, target in read_table(name).items():
        assert target == ""
        assert normalize(f"سلام{chr(cp)}عليكم") == "سلامعليكم", hex(cp)


def test_lookalike_rows_map_to_arabic_letters():
    for cp, target in read_table("arabic_lookalikes").items():
        assert normalize(f"ب{chr(cp)}ب") == f"ب{target}ب", hex(cp)
    assert normalize("کتاب") == "كتاب" and normalize("علی") == "علي"


def test_option_tables_apply_only_when_asked():
    for cp, target in read_table("darija_g").items():
        assert normalize(chr(cp) + "ال") == chr(cp) + "ال"
        assert normalize(chr(cp) + "ال", unify_g=True) == target + "ال"
    for cp, target in read_table("digits").items():
        assert normalize(chr(cp)) == chr(cp)
        assert normalize(chr(cp), ascii_digits=True) == target
    for cp in read_table("arabic_diacritics"):
        assert normalize("ب" + chr(cp)) == unicodedata.normalize("NFC", "ب" + chr(cp))
        assert normalize("ب" + chr(cp), strip_diacritics=True) == "ب"


def test_greek_lookalikes_only_inside_latin_words():
    for cp, target in read_table("amazigh_latin").items():
        assert normalize(f"a{chr(cp)}a") == f"a{target}a"
    assert normalize("aγrum d εlayen ε") == "aɣrum d ɛlayen ε"  # a lone ε is not a Latin word
    assert normalize("γεια σου") == "γεια σου"  # Greek text is left alone


def test_match_table_rows():
    for cp, target in read_table("arabic_match").items():
        assert normalize("ب" + chr(cp), profile="match") == "ب" + target, hex(cp)


def test_train_profile_examples():
    assert normalize("ڭالس  ݣال گال ڤيديو پاپا") == "ڭالس ݣال گال ڤيديو پاپا"
    assert normalize("ⴰⵣⵓⵍ\u2d6f\u200d\u2d54 ok\u200dok") == "ⴰⵣⵓⵍ\u2d6f\u200d\u2d54 okok"
    assert normalize("  a \t b \r\n\n\n\n c  ") == "a b\n\nc"
    assert normalize("a\nb", newlines="space") == "a b"
    assert normalize("مَرْحَبًا") == "مَرْحَبًا" and normalize("مَرْحَبًا", strip_diacritics=True) == "مرحبا"


def test_match_profile_examples():
    assert normalize("إنّ المدرسةَ كبيرةٌ، أليس كذلك؟", profile="match") == "ان المدرسه كبيره اليس كذلك"
    assert normalize("Café DÉJÀ-vu!", profile="match") == "cafe dejavu"
    assert normalize("ݣال گال ٣", profile="match") == "ڭال ڭال 3"
    assert normalize("على ⴰⵣⵓⵍⵯ", profile="match") == "علي ⴰⵣⵓⵍⵯ"


def test_mojibake_and_windows_1256():
    assert normalize("Ø³Ù„Ø§Ù… Ø¹Ù„ÙŠÙƒÙ…") == "سلام عليكم"
    assert repair_mojibake("ÓáÇã Úáíßã") == "سلام عليكم"
    assert decode_bytes("واش نتا".encode("cp1256")) == "واش نتا"
    assert normalize("مرحبا".encode("cp1256")) == "مرحبا"
    assert normalize("déjà vu") == "déjà vu"  # French accents are not mojibake


def test_bad_input():
    assert normalize("") == ""
    assert normalize("a\ud800b\udfff") == "ab"
    assert normalize("\x00\x07\x1b[0m x") == "[0m x"
    assert normalize("!!! 😀") == "!!! 😀"
    big = "واش " * 250_000
    assert len(normalize(big)) == len(big) - 1
    with pytest.raises(ValueError, match="unknown profile"):
        normalize("x", profile="nfkc")


TIFINAGH = [chr(c) for c in range(0x2D30, 0x2D80) if unicodedata.category(chr(c)) != "Cn"]
MIXED = st.text(alphabet=st.sampled_from(
    TIFINAGH + list("ڭݣگڤپابتثجحخدذرسشصضطظعغفقكلمنهويىةأإآءؤئ ًٌٍَُِّْـ٠١٢٣کیہۀ") + list("aεγeé 3\n\t.,!?")
    + ["\u200d", "\u200c", "\u200f", "\u061c", "\u2066", "\ufeff", "\u00ad", "Ã", "Ø", "\u0654"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), MIXED), st.sampled_from(["train", "match"]))
def test_idempotent_and_never_raises(text, profile):
    once = normalize(text, profile)
    assert normalize(once, profile) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TIFINAGH), min_size=1, max_size=30), st.sampled_from(["train", "match"]))
def test_tifinagh_letters_unchanged(letters, profile):
    word = "".join(letters)
    assert normalize(word, profile) == word
    assert normalize(f"ⵣ {word} ⵣ", profile) == f"ⵣ {word} ⵣ"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ڭݣگڤپ") + list("ابت ")), min_size=1, max_size=20))
def test_darija_letters_kept_in_train(text):
    out = normalize(text)
    for letter in "ڭݣگڤپ":
        assert out.count(letter) == text.count(letter)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=20))
def test_surrogates_dropped(text):
    out = normalize(text)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \t\n\r\x0b\x0c\u00a0\u2003\u3000ab")), max_size=30))
def test_whitespace_fast_paths_match_plain_regexes(text):
    """The sped-up whitespace rules (a lone " " is left alone) give what ``[^\\S\\n]+`` / ``\\s+`` gave."""
    import re

    from jazari_nlp.text.normalize import _ANY_SPACE, _HSPACE

    assert _HSPACE.sub(" ", text) == re.sub(r"[^\S\n]+", " ", text)
    assert _ANY_SPACE.sub(" ", text) == re.sub(r"\s+", " ", text)


def test_translate_gates_cover_every_table_row():
    """A table is skipped when its gate finds nothing, so every row must be in the gate."""
    from jazari_nlp.text.normalize import _CONTROL, _CONTROL_GATE, _table, _table_gate

    assert all(_CONTROL_GATE.search(chr(c)) for c in _CONTROL)
    names = ("bidi_controls", "zero_width", "tatweel", "arabic_lookalikes", "darija_g", "arabic_diacritics",
             "digits", "arabic_match")
    assert all(_table_gate(*names).search(chr(c)) for c in _table(*names))
    assert not _table_gate(*names).search("salam سلام ⴰⵣⵓⵍ")
