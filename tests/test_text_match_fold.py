"""The `match` fold's translate table deletes exactly the marks and punctuation, and nothing of Tifinagh."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.text.normalize import _marks_and_punctuation


def reference(text: str) -> str:
    return "".join(c for c in text if "\u2d30" <= c <= "\u2d7f" or not unicodedata.category(c).startswith(("M", "P")))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_table_equals_the_category_definition(text):
    assert text.translate(_marks_and_punctuation()) == reference(text)


def test_tifinagh_block_is_never_deleted():
    table = _marks_and_punctuation()
    assert not any(cp in table for cp in range(0x2D30, 0x2D80))
    assert 0x064E in table and ord("!") in table and ord("،") in table  # fatha, punctuation, Arabic comma
