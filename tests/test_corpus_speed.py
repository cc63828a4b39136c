"""The corpus builder's fast paths give exactly what the plain computations give (issue 11: speed, same outputs)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

# Tokens mixing punctuation-only ones (not words), Arabizi digits, scripts, and splits that collide when joined
# without a separator ("ab"+"c" == "a"+"bc"): the n-gram checks compare such joins.
_TOKENS = st.sampled_from(["a", "b", "ab", "c", "bc", "3la", "...", "«", "!", "ⴰⵣⵓⵍ", "سلام", "wa!", "(x)"])
_SEPS = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u2003"])


@st.composite
def _texts(draw):
    tokens = draw(st.lists(_TOKENS, max_size=40))
    return "".join(t + draw(_SEPS) for t in tokens)


def _is_long_reference(text: str, long_min_words: int) -> bool:
    from jazari_nlp.corpus.filters import PUNCT

    return sum(1 for w in text.split() if w.strip(PUNCT)) >= long_min_words


@settings(max_examples=400, deadline=None)
@given(_texts(), st.integers(1, 25))
def test_is_long_counts_words_like_a_full_split(text, long_min_words):
    from jazari_nlp.corpus.filters import is_long

    assert is_long(text, "auto", long_min_words) == _is_long_reference(text, long_min_words)


def test_is_long_past_the_first_split():
    from jazari_nlp.corpus.filters import is_long

    # 5 punctuation tokens among the first 10: the count goes on in the rest of the text
    text = "w ! " * 5 + "w " * 4
    assert is_long(text, "auto", 10) is False
    assert is_long(text + "w", "auto", 10) is True


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "ab", "c", "bc", "aa", "ⴰ", "س"]), max_size=80))
def test_duplicate_ngram_chars_equal_datatrove_every_n(words):
    from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate

    from jazari_nlp.corpus.filters import _Grams

    grams = _Grams(words)
    for n in range(1, 12):
        assert grams.chars(n) == (find_all_duplicate(words, n) if len(words) >= n else 0)


def test_duplicate_ngram_chars_counts_a_repeated_sentence():
    from jazari_nlp.corpus.filters import _Grams

    words = "one two three four five six".split() * 2 + ["seven"]
    # the second copy starts at position 6: its first 5-gram is repeated, then the walk jumps past the end
    assert _Grams(words).chars(5) == len("onetwothreefourfive")
    assert _Grams(words).chars(7) == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=700))
def test_dropping_marks_and_punctuation_equals_translate(text):
    from jazari_nlp.text.normalize import _drop_marks_and_punctuation, _marks_and_punctuation

    text = "".join(c for c in text if not "\ud800" <= c <= "\udfff")
    long = text * (300 // max(len(text), 1) + 1) if text else ""  # over the length where numpy takes over
    for t in (text, long):
        assert _drop_marks_and_punctuation(t) == t.translate(_marks_and_punctuation())


def test_dropping_marks_keeps_tifinagh_and_drops_harakat():
    from jazari_nlp.text.normalize import _drop_marks_and_punctuation

    text = ("كَتَبَ، ⴰⵣⵓⵍ ⵯ! " * 40).strip()
    assert _drop_marks_and_punctuation(text) == ("كتب ⴰⵣⵓⵍ ⵯ " * 40).strip()


def test_writer_file_names_equal_datatrove_templates(tmp_path):
    from datatrove.data import Document
    from datatrove.pipeline.writers.disk_base import DiskWriter

    from jazari_nlp.corpus.passes import InterWriter
    from jazari_nlp.corpus.writers import CorpusWriter, RejectWriter

    doc = Document(text="x", id="1", metadata={"lang": "ary_Arab", "source": "s", "file": "f.jsonl"})
    writers = [(CorpusWriter(str(tmp_path / "c"), seed=0, heldout_fraction=0.1, max_file_size=0, compression=None),
                {"split": "heldout"}), (RejectWriter(str(tmp_path / "r"), "04_quality"), {}),
               (InterWriter(str(tmp_path / "i"), True), {})]
    names = []
    for writer, kwargs in writers:
        for rank in (0, 7, "XXXXX"):
            name = writer._get_output_filename(doc, rank, **kwargs)
            assert name == DiskWriter._get_output_filename(writer, doc, rank, **kwargs)
            names.append(name)
    assert names[:2] == ["heldout/ary_Arab/00000.parquet", "heldout/ary_Arab/00007.parquet"]
    assert names[3:5] == ["04_quality/00000.jsonl.gz", "04_quality/00007.jsonl.gz"]


def test_minhash_signature_equals_datatrove(tmp_path):
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, WhitespaceWords

    rng = np.random.default_rng(0)
    for precision in (32, 64):
        cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1,
                            hash_config=HashConfig(precision=precision))
        ours = JazariMinhashSignature(str(tmp_path / "a"), config=cfg)
        theirs = MinhashDedupSignature(str(tmp_path / "b"), config=cfg, language=WhitespaceWords())
        for n in (1, 5, 300):
            shingles = rng.integers(0, 2**63, size=(n, 1), dtype=np.uint64)
            sig = ours.get_signature(shingles)
            assert sig == theirs.get_signature(shingles)
            assert len(sig) == 14 and all(len(b) == 8 for b in sig)
