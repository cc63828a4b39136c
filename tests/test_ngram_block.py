"""The quality step's block repeat search (``ngram_block``) equals the per-document code exactly (issue 11).

Oracles: frozen copies of ``ngrams._repeated_slices`` and ``_repeat_candidates`` as they were before the block
version, and ``quality_reason`` called per document without a prepared block.
"""

from __future__ import annotations

from collections import Counter
from itertools import accumulate, compress
from operator import ne, sub
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.corpus import ngram_block
from jazari_nlp.corpus.ngram_block import prepare_block, repeated_slices_block
from jazari_nlp.corpus.ngrams import _Grams

SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "samples"


def old_repeated_slices(full: str, starts: list[int], k: int) -> list[int]:
    """Frozen copy of ``ngrams._repeated_slices`` (the oracle)."""
    heads = [full[o:o + k] for o in starts]
    end = len(heads)
    first = dict(zip(reversed(heads), range(end - 1, -1, -1), strict=True))
    if len(first) == end:
        return []
    again = set(compress(heads, map(ne, map(first.__getitem__, heads), range(end))))
    return list(compress(range(end), map(again.__contains__, heads)))


def old_args(words: list[str], m: int) -> tuple[str, list[int], int] | None:
    """What the frozen ``_repeat_candidates`` handed ``_repeated_slices``."""
    off = list(accumulate(map(len, words), initial=0))
    end = len(off) - m
    return None if end <= 1 else ("".join(words), off[:end], min(map(sub, off[m:], off)))


# Latin, Arabic, Tifinagh, astral emoji and a lone surrogate; few letters, so that slices repeat
LETTERS = "ab" + "سل" + "ⵣⴰ" + "\U0001F600\U0001F44D" + "\ud800"
WORD = st.text(alphabet=LETTERS, min_size=1, max_size=4)
DOC = st.lists(WORD, min_size=0, max_size=40)


def block_items(docs: list[list[str]], m: int) -> list[tuple[str, list[int], int]]:
    return [a for a in (old_args(w, m) for w in docs) if a is not None]


@settings(max_examples=300, deadline=None)
@given(st.lists(DOC, min_size=1, max_size=12), st.integers(1, 6))
def test_block_equals_per_document(docs, m):
    items = block_items(docs, m)
    assert repeated_slices_block(items) == [old_repeated_slices(*it) for it in items]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=LETTERS, max_size=30), st.lists(st.integers(-3, 35), max_size=12),
                          st.integers(-1, 40)), min_size=1, max_size=8))
def test_any_arguments_equal(items):
    """Windows past the end, negative starts, k < 1, unsorted and repeated starts: Python's slices decide."""
    assert repeated_slices_block(items) == [old_repeated_slices(*it) for it in items]


def test_edge_documents():
    long_words = ["ⵣⴰⵣⴰⵣⴰⵣⴰ" * 30, "سلام" * 40, "\U0001F600" * 50] * 4  # k is hundreds of characters
    docs = [[], ["one"], ["a", "b"], long_words, ["x"] * 30, "a b a b a b".split()]
    for m in (1, 2, 5, 10):
        items = block_items(docs, m)
        assert repeated_slices_block(items) == [old_repeated_slices(*it) for it in items]
    assert repeated_slices_block([]) == []
    assert repeated_slices_block([("abcab", [0, 1, 2, 3, 4], 2), ("xyz", [0, 1], 1)]) == [[0, 3], []]
    assert repeated_slices_block([(long_words[0] * 2, [0, len(long_words[0])], len(long_words[0]))]) == [[0, 1]]


def test_colliding_hashes_are_verified(monkeypatch):
    """Every window hashing alike (all powers 0) must still give the exact answer: the slices are compared."""
    import numpy as np

    monkeypatch.setattr(ngram_block, "_powers", lambda n: (np.zeros(n, np.uint64), np.zeros(n, np.uint64)))
    docs = [["ab", "c", "ab", "d", "e", "f"], ["x", "y", "z", "w", "v"], "ⵣ ⴰ ⵣ ⴰ".split()]
    items = block_items(docs, 1)
    got = repeated_slices_block(items)
    assert got == [old_repeated_slices(*it) for it in items] == [[0, 2], [], [0, 1, 2, 3]]


@settings(max_examples=150, deadline=None)
@given(st.lists(DOC, min_size=1, max_size=8), st.lists(st.integers(1, 10), min_size=1, max_size=6, unique=True))
def test_prepared_grams_count_the_same(docs, dup_ns):
    fresh = [_Grams(w, dup_ns) for w in docs]
    ready = [_Grams(w, dup_ns) for w in docs]
    prepare_block(ready)
    for a, b in zip(fresh, ready, strict=True):
        n_max = max(dup_ns)
        assert b.chars_bound_upto(n_max) == a.chars_bound_upto(n_max)
        assert [b.chars(n) for n in dup_ns] == [a.chars(n) for n in dup_ns]
        assert [b.chars_bound(n) for n in dup_ns] == [a.chars_bound(n) for n in dup_ns]


def quality_docs() -> list[str]:
    """The project's samples, each alone and glued into long documents, some with repeated passages."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    lines = [ln for t in texts for ln in t.splitlines() if ln.strip()]
    docs = texts + ["\n".join(lines[i:i + 12]) for i in range(0, len(lines), 7)]
    docs += ["\n".join(lines[i:i + 4] * 3) for i in range(0, len(lines), 11)]  # repeated lines and n-grams
    docs += [" ".join(lines[i:i + 9]) + " " + " ".join(lines[i:i + 2]) for i in range(0, len(lines), 5)]
    return docs


@pytest.mark.parametrize("lang", ["ary_Arab", "arb_Arab", "zgh_Tfng", "fra_Latn", "ary_Latn", None])
def test_step_decides_as_per_document(lang):
    from datatrove.data import Document

    from jazari_nlp.corpus.builtin_steps.quality import QualityFilter, QualityStep
    from jazari_nlp.corpus.filters import is_long, quality_reason, short_reason

    texts = quality_docs()
    assert len(texts) > 30
    step = QualityFilter("04_quality", QualityStep())
    docs = [Document(text=t, id=str(i), metadata={"lang": lang} if lang else {}) for i, t in enumerate(texts)]
    got = [r for i in range(0, len(docs), step.batch_size) for r in step.filter_batch(docs[i:i + step.batch_size])]
    t, stopwords = step._for(lang)
    want = []
    for d in docs:
        long = is_long(d.text, "auto", step.cfg.long_min_words)
        reason = quality_reason(d.text, t, stopwords) if long else short_reason(d.text, t.short, "auto")
        want.append((False, reason) if reason else True)
    assert got == want
    reasons = Counter(r if r is True else r[1] for r in got)
    assert reasons[True] < len(got) and len(reasons) > 1  # the documents exercise rejections too
    assert [step.filter(d) for d in docs] == got
