"""Both profiles are idempotent, also where deletions bring combining marks together (found by review)."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.text import normalize

CASES = [
    "بّـَ",  # tatweel between shadda and fatha: NFC reorders the marks once it is gone
    "ا\u200cٕ",  # ZWNJ between alef and hamza below: NFC composes إ once it is gone
    "ە\u200cٔ",  # ae + ZWNJ + hamza above composes to ۀ, a look-alike the tables map
    "ⴰⴽⵯ\u200dⵎ",  # the joiner inside Tifinagh stays
]
# Arabic letters, marks, tatweel, zero-width and bidi characters, Tifinagh: the characters that interact.
ALPHABET = st.sampled_from(
    list("ابتةهىيکیہۀەإأآؤئءڭگڤپ") + [chr(c) for c in range(0x064B, 0x0656)] + ["\u0640", "\u0654", "\u0655"]
    + ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2066", "\u2069", " ", "\n"]
    + list("ⴰⴽⵯⵎⵣ") + list("aεγ")
)


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("profile", ["train", "match"])
def test_review_counterexamples(text, profile):
    once = normalize(text, profile)
    assert normalize(once, profile) == once
    assert unicodedata.is_normalized("NFC", once)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=12), st.sampled_from(["train", "match"]))
def test_idempotent_on_interacting_characters(text, profile):
    once = normalize(text, profile)
    assert normalize(once, profile) == once


def test_standalone_greek_gamma_in_latin_amazigh():
    assert normalize("tlla γ tmazirt") == "tlla ɣ tmazirt"  # Tashelhit "ɣ" (in) typed as Greek γ
    assert normalize("το γ είναι") == "το γ είναι"  # real Greek text is left alone
