"""The quality step's fast paths give exactly the counts of the plain computations (issue 11 item 1: speed,
same decisions): n-gram counts (corpus/ngrams.py), digit counts, and the long/short answer shared by steps."""

from __future__ import annotations

from collections import Counter
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# a tiny vocabulary: repeats are likely, and joins without a separator collide ("ab"+"c" == "a"+"bc")
_WORDS = st.lists(st.sampled_from(["a", "b", "ab", "c", "bc", "abc", "ca", "ⴰ", "س"]), max_size=90)


def _old_chars(words: list[str], n: int) -> int:
    """The previous implementation (string n-grams, one dict per n), kept as the oracle."""
    full, off, end = "".join(words), list(accumulate(map(len, words), initial=0)), len(words) - n + 1
    if end <= 0:
        return 0
    grams = [full[off[i]:off[i + n]] for i in range(end)]
    first = dict(zip(reversed(grams), range(end - 1, -1, -1), strict=True))
    pairs = [(i, first[g]) for i, g in enumerate(grams) if first[g] != i]
    jumped: set[int] = set()
    seen_again: set[int] = set()
    idx = repeated = 0
    for i, f in pairs:
        if i < idx:
            continue
        if f not in jumped or f in seen_again:
            repeated += off[i + n] - off[i]
            jumped.update(range(i + 1, i + n))
            idx = i + n
        else:
            seen_again.add(f)
            idx = i + 1
    return repeated


def _old_top(words: list[str], n: int) -> int:
    if len(words) < n:
        return 0
    gram, count = Counter(" ".join(words[i:i + n]) for i in range(len(words) - n + 1)).most_common(1)[0]
    return len(gram) * count


@settings(max_examples=400, deadline=None)
@given(_WORDS, st.lists(st.integers(1, 11), min_size=1, max_size=6, unique=True))
def test_duplicate_ngram_chars_equal_the_old_count(words, ns):
    from jazari_nlp.corpus.ngrams import _Grams

    grams = _Grams(words, ns)  # the repeat candidates found once for min(ns), then any n asked in any order
    for n in [*ns, 1, 5, 12]:
        assert _Grams(words, ns).chars_bound(n) >= _old_chars(words, n), n
        assert grams.chars(n) == _old_chars(words, n), n
        assert grams.chars_bound(n) == grams.chars(n)  # once counted, the bound is the count


@settings(max_examples=300, deadline=None)
@given(_WORDS, st.integers(1, 8))
def test_repeat_candidates_hold_every_repeated_ngram(words, m):
    from jazari_nlp.corpus.ngrams import _repeat_candidates

    full, off = "".join(words), list(accumulate(map(len, words), initial=0))
    cand = set(_repeat_candidates(full, off, m))
    for n in range(m, m + 4):
        grams = [full[off[i]:off[i + n]] for i in range(len(words) - n + 1)]
        counts = Counter(grams)
        assert {i for i, g in enumerate(grams) if counts[g] > 1} <= cand, n


def test_joins_without_separator_are_one_ngram():
    from jazari_nlp.corpus.ngrams import _Grams

    # "ab c d e f" and "a bc d e f" join to the same "abcdef": the second counts as a repeat, word lists differ
    words = ["ab", "c", "d", "e", "f", "x", "a", "bc", "d", "e", "f"]
    assert _Grams(words).chars(5) == len("abcdef") == _old_chars(words, 5)
    assert _Grams(words).chars(6) == 0


@settings(max_examples=300, deadline=None)
@given(_WORDS)
def test_top_ngram_chars_and_bounds_equal_the_old_count(words):
    from jazari_nlp.corpus.ngrams import _Grams

    grams = _Grams(words)
    for n in (2, 3, 4, 5):
        bound = grams.top_bound(n)
        assert grams.top(n) == _old_top(words, n), n
        if bound is not None:
            assert bound >= grams.top(n)
    assert grams.top_bound(3) == grams.top(3)  # once counted, the bound is the count


def test_top_bound_needs_a_smaller_count_and_plain_words():
    from jazari_nlp.corpus.ngrams import _Grams

    grams = _Grams("one two one two one".split())
    assert grams.top_bound(3) is None  # nothing counted yet
    assert grams.top(2) == len("one two") * 2
    assert grams.top_bound(3) == 2 * (3 + 3 + 3 + 2)  # 2-gram count x the 3 longest words and 2 spaces
    # words holding spaces: equal joins need not be equal words, so no bound from them ("a b c" twice)
    spaced = _Grams(["a b", "c", "a", "b c"])
    assert spaced.top(2) == len("a b c") * 2 and spaced.top_bound(3) is None


def test_digit_count_takes_every_plane():
    from jazari_nlp.corpus.filters import _digit_re, count_digits

    text = "2024 ٣٤ ۵ ² ① 𝟎 𐩀 🄁 abc ½ Ⅻ"  # ASCII, Arabic-Indic, superscript, circled, math bold, Kharoshthi
    assert count_digits(text) == sum(c.isdigit() for c in text) == len(_digit_re().findall(text)) == 12
    assert count_digits("no digits here") == 0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789٣٤۵²³①⑽½ab سxⅫ\U0001d7ce\U00010a40\U0001f101"), max_size=40))
def test_digit_count_is_str_isdigit(text):
    from jazari_nlp.corpus.filters import count_digits

    assert count_digits(text) == sum(c.isdigit() for c in text)


def test_document_is_long_is_asked_once_per_text(monkeypatch):
    from datatrove.data import Document

    from jazari_nlp.corpus import filters

    calls = []
    real = filters.is_long
    monkeypatch.setattr(filters, "is_long", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(filters, "_LONG_ANSWERS", {})
    doc = Document(text="salam " * 120, id="1")
    assert filters.document_is_long(doc, 100) is True  # langid asks first and keeps the answer
    assert filters.document_is_long(doc, 100, keep=False) is True  # quality takes it
    assert len(calls) == 1 and filters._LONG_ANSWERS == {}
    assert filters.document_is_long(doc, 100, keep=False) is True  # taken: asked again
    assert len(calls) == 2
    filters.document_is_long(doc, 100)
    assert filters.document_is_long(doc, 200, keep=False) is False  # another word count: a fresh answer
    assert len(calls) == 4
    filters.document_is_long(doc, 100)
    doc.text = "salam " * 50  # a step changed the text: a fresh answer
    assert filters.document_is_long(doc, 100, keep=False) is False
    assert len(calls) == 6
    assert filters.document_is_long(doc, 100) is False  # kept for the new text
    doc.metadata["source_kind"] = "news"  # another kind: a fresh answer
    assert filters.document_is_long(doc, 100, keep=False) is True
    assert len(calls) == 8


def test_document_is_long_keeps_a_bounded_number_of_texts(monkeypatch):
    from datatrove.data import Document

    from jazari_nlp.corpus import filters

    monkeypatch.setattr(filters, "_LONG_ANSWERS", {})
    monkeypatch.setattr(filters, "_LONG_ANSWERS_MAX", 3)
    docs = [Document(text=f"w{i} " * 5, id=str(i)) for i in range(5)]
    for d in docs:
        filters.document_is_long(d, 3)
    assert [v[0] for v in filters._LONG_ANSWERS.values()] == [d.text for d in docs[2:]]  # the oldest left


def test_counts_equal_datatrove_on_real_text(shared_data):
    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_all_duplicate,
        find_top_duplicate,
        get_n_grams,
    )

    from jazari_nlp.corpus.filters import split_words
    from jazari_nlp.corpus.ngrams import _Grams

    path = shared_data / "kabyle_cc0" / "BabaCarlu.pdf.txt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    words = [w for w in split_words(path.read_text(encoding="utf-8")) if w]
    docs = [words[i:i + 300] for i in range(0, min(len(words), 30_000), 300)]
    assert len(docs) >= 10
    for doc in docs:
        grams = _Grams(doc)
        assert [grams.top(n) for n in (2, 3, 4)] == [find_top_duplicate(get_n_grams(doc, n)) for n in (2, 3, 4)]
        assert [grams.chars(n) for n in range(5, 11)] == [find_all_duplicate(doc, n) for n in range(5, 11)]


def _old_letter_counts(tokens: list[str]) -> tuple[int, int]:
    """The previous ``filters._letter_counts`` (one regex call and one Python loop per token), the oracle."""
    import unicodedata

    from jazari_nlp.corpus.filters import _ARABIZI_DIGITS, _DIGITS, _IGNORED, _RUN

    letters = other = 0
    for tok in tokens:
        if tok.isalpha():
            letters += len(tok)
            continue
        tok = _RUN.sub(r"\1", tok)
        alpha = sum(c.isalpha() for c in tok)
        arabizi = alpha >= sum(c.isdigit() for c in tok)
        if not arabizi:
            tok = _DIGITS.sub("0", tok)
        for c in tok:
            if c.isalpha() or (arabizi and c in _ARABIZI_DIGITS):
                letters += 1
            elif c.isdigit() or unicodedata.category(c) not in _IGNORED:
                other += 1
    return letters, other


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab3l7!!..??-_😀\u064e٣²سⴰ"), min_size=1, max_size=8), max_size=20))
def test_letter_counts_equal_the_old_count(tokens):
    from jazari_nlp.corpus.filters import _letter_counts

    assert _letter_counts(tokens) == _old_letter_counts(tokens)


@settings(max_examples=300, deadline=None)
@given(_WORDS)
def test_frequency_bound_holds(words):
    from jazari_nlp.corpus.ngrams import _Grams

    grams = _Grams(words)
    for n in (1, 2, 3, 4, 6):
        bound = grams.freq_bound(n)
        if "" in words or len(words) < n:
            assert bound is None
        else:
            assert bound >= _old_top(words, n), n
    assert _Grams(["a b", "c", "a", "b c"]).freq_bound(2) is None  # words with spaces: no bound


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["", "a", "ab", "a ", "ⴰⴱ", "سلام"]), max_size=12))
def test_find_duplicates_equals_datatrove(items):
    from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates as dt_find_duplicates

    from jazari_nlp.corpus.filters import find_duplicates

    assert find_duplicates(items) == dt_find_duplicates(items)


def _old_quality_reason(text, t, stopwords):
    """The round-2 ``filters.quality_reason`` without its shortcuts and bounds (every statistic counted in
    full, n-grams by strings, datatrove's ``find_duplicates``), kept as the oracle of decisions."""
    from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates

    from jazari_nlp.corpus.filters import LINE_END_PUNCT, _digit_re, split_words
    from jazari_nlp.corpus.ngrams import _Grams

    if t.max_replacement_ratio is not None and text.count("\ufffd") / max(len(text), 1) > t.max_replacement_ratio:
        return "quality_replacement_chars"
    tokens = split_words(text)
    words = [w for w in tokens if w]
    n = len(words)
    if t.min_words is not None and n < t.min_words:
        return "quality_too_few_words"
    if t.max_words is not None and n > t.max_words:
        return "quality_too_many_words"
    if n == 0:
        return "quality_too_few_words"
    avg = sum(len(w) for w in words) / n
    if t.min_avg_word_length is not None and avg < t.min_avg_word_length:
        return "quality_short_words"
    if t.max_avg_word_length is not None and avg > t.max_avg_word_length:
        return "quality_long_words"
    if t.max_symbol_word_ratio is not None:
        if text.count("#") / n > t.max_symbol_word_ratio:
            return "quality_symbol_ratio"
        if (text.count("...") + text.count("…")) / n > t.max_symbol_word_ratio:
            return "quality_symbol_ratio"
    if t.max_digit_ratio is not None:
        visible = len(text) - text.count(" ") - text.count("\n")
        if visible and len(_digit_re().findall(text)) / visible > t.max_digit_ratio:
            return "quality_digit_ratio"
    if t.min_alpha_words_ratio is not None:
        if sum(any(c.isalpha() for c in w) for w in tokens) / len(tokens) < t.min_alpha_words_ratio:
            return "quality_few_alpha_words"
    if t.min_stop_words and stopwords:
        if len(stopwords.intersection(w.lower() for w in words)) < t.min_stop_words:
            return "quality_few_stopwords"
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    if paragraphs:
        dup, dup_chars = find_duplicates(paragraphs)
        if t.dup_para_frac is not None and dup / len(paragraphs) > t.dup_para_frac:
            return "quality_dup_paragraphs"
        if t.dup_para_char_frac is not None and dup_chars / len(text) > t.dup_para_char_frac:
            return "quality_dup_paragraph_chars"
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if lines:
        dup, dup_chars = find_duplicates(lines)
        if t.dup_line_frac is not None and dup / len(lines) > t.dup_line_frac:
            return "quality_dup_lines"
        if t.dup_line_char_frac is not None and dup_chars / len(text) > t.dup_line_char_frac:
            return "quality_dup_line_chars"
    grams = _Grams(words)
    for k, frac in t.top_n_grams or ():
        if len(words) >= k and grams.top_by_strings(k) / len(text) > frac:
            return f"quality_top_{k}gram"
    for k, frac in t.dup_n_grams or ():
        if len(words) >= k and grams.chars_by_strings(k) / len(text) > frac:
            return f"quality_dup_{k}gram"
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if lines and t.min_line_punct_ratio is not None:
        if sum(ln.endswith(LINE_END_PUNCT) for ln in lines) / len(lines) < t.min_line_punct_ratio:
            return "quality_line_punct"
    if lines and t.max_short_line_ratio is not None and len(lines) > 1:
        if sum(len(ln) <= 30 for ln in lines) / len(lines) > t.max_short_line_ratio:
            return "quality_short_lines"
    return None


# tokens that reach every check: digits, harakat (not letters), symbols, stopwords, repeats, line breaks
_TOKENS = st.sampled_from(["la", "de", "fi", "wa", "maison", "سلام", "مَدرسة", "ⴰⵣⵓⵍ", "2024", "٣٤", "3la", "#tag",
                           "...", "…", "!!", "-", "a.", "x", "\n", "\n\n", "وَ", "²"])
_RATIO = st.one_of(st.none(), st.floats(0, 1))


@settings(max_examples=500, deadline=None)
@given(st.lists(_TOKENS, max_size=120), _RATIO, _RATIO, st.one_of(st.none(), st.integers(0, 5)),
       st.one_of(st.none(), st.floats(0, 0.5)), st.integers(0, 3))
def test_quality_reason_equals_the_plain_rules(tokens, digit, alpha, min_stop, top, min_words):
    from jazari_nlp.corpus.filters import quality_reason
    from jazari_nlp.corpus.thresholds import QualityThresholds

    text = " ".join(tokens)
    t = QualityThresholds(min_words=min_words, max_digit_ratio=digit, min_alpha_words_ratio=alpha,
                          min_stop_words=min_stop, min_avg_word_length=1, max_avg_word_length=20,
                          max_symbol_word_ratio=0.5, top_n_grams=None if top is None else [(2, top), (3, top), (4, top)])
    stopwords = frozenset({"la", "de", "وَ"})
    assert quality_reason(text, t, stopwords) == _old_quality_reason(text, t, stopwords)


def test_stopwords_past_the_first_words_count():
    from jazari_nlp.corpus.filters import _STOP_HEAD, quality_reason
    from jazari_nlp.corpus.thresholds import QualityThresholds

    t = QualityThresholds(min_words=1, top_n_grams=None, dup_n_grams=None, min_line_punct_ratio=None)
    words = ["mot" + "abcdefghij"[i % 10] + "abcdefghij"[i // 10] for i in range(_STOP_HEAD)]  # no stopword
    assert quality_reason(" ".join(words + ["de", "la"]), t, frozenset({"de", "la"})) is None
    assert quality_reason(" ".join(words + ["de"]), t, frozenset({"de", "la"})) == "quality_few_stopwords"



@settings(max_examples=300, deadline=None)
@given(_WORDS, st.lists(st.integers(1, 11), min_size=1, max_size=6, unique=True))
def test_one_bound_holds_every_duplicate_count(words, ns):
    from jazari_nlp.corpus.ngrams import _Grams

    grams = _Grams(words, ns)
    for top in ns:
        bound = grams.chars_bound_upto(top)
        for n in (n for n in ns if min(ns) <= n <= top):
            assert bound >= grams.chars_bound(n) >= _old_chars(words, n), (top, n)
    assert grams.chars_bound_upto(min(ns) - 1) is None  # no n of dup_ns that small
