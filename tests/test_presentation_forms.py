"""Arabic presentation forms (contextual shapes and ligatures, as PDF extraction leaves them) are folded by
normalize() to the letters they stand for, so such text dedups and identifies like typed text; Tifinagh and
everything outside U+FB50-FDFF / U+FE70-FEFE stay as they are."""

from __future__ import annotations

import importlib
import unicodedata

import pytest

from jazari_nlp.text import identify, normalize

N = importlib.import_module("jazari_nlp.text.normalize")  # the module (the package exports the function)

# "the one who will come does not ..." typed with the plain letters, then in presentation forms (each letter in
# the shape it takes at its place in the word, lam-alef as its ligature).
PLAIN = "الذي سوف يأتي لا يعرف الطريق"
SHAPED = "ﺍﻟﺬﻱ ﺳﻮﻑ ﻳﺄﺗﻲ ﻻ ﻳﻌﺮﻑ ﺍﻟﻄﺮﻳﻖ"


def test_shaped_text_is_the_plain_text():
    assert SHAPED != PLAIN
    assert normalize(SHAPED) == PLAIN
    assert normalize(SHAPED, profile="match") == normalize(PLAIN, profile="match")


def test_shaped_text_identifies_like_the_plain_text():
    assert identify(SHAPED).label == identify(PLAIN).label


@pytest.mark.parametrize("profile", ["train", "match"])
def test_every_presentation_form_folds_idempotently(profile):
    table = N._presentation_table()
    assert len(table) == 731  # every character of the two blocks that NFKC changes
    for code in table:
        once = normalize(chr(code), profile=profile)
        assert normalize(once, profile=profile) == once, hex(code)
        assert not N._PRESENTATION.search(once), hex(code)


def test_ligatures_and_isolated_marks():
    assert normalize("ﷲ") == "الله"
    assert normalize("ﷺ") == "صلى الله عليه وسلم"
    assert normalize("ﷻ") == "جل جلاله"
    assert normalize("ﷰ") == "صلي"  # NFKC gives Urdu yeh barree (U+06D2), which the look-alike table maps
    # the isolated form of a haraka: its mark, kept on the letter before it, without NFKC's space
    assert normalize("بﹰ") == unicodedata.normalize("NFC", "ب\u064b")
    assert normalize("ﹱ") == "\u064b"  # tatweel + fathatan: the tatweel goes as everywhere


def test_tifinagh_and_other_text_untouched():
    text = "ⵜⴰⵎⴰⵣⵉⵖⵜ ⴽⵯ ⵣⵯⵔ \u2d7f ڭال ليا 3lach ﻻ"
    assert normalize(text) == "ⵜⴰⵎⴰⵣⵉⵖⵜ ⴽⵯ ⵣⵯⵔ \u2d7f ڭال ليا 3lach لا"
    assert normalize("\ufeffsalam") == "salam"  # U+FEFF is a zero-width character, not a presentation form
