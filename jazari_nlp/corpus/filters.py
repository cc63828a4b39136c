"""Quality heuristics (Gopher, FineWeb) with thresholds per language and script.

``quality_reason(text, thresholds, stopwords)`` returns ``None`` for a document that passes, else the reason.
Words are whitespace tokens stripped of punctuation: script-agnostic and fast (datatrove's word tokenizers
pick an English tokenizer for bare codes, which splits Arabic and Tifinagh badly).

The shipped table starts from FineWeb-2's published per-language thresholds (huggingface/fineweb-2,
``configs/<lang>.yml``) for ary_Arab, arb_Arab, zgh_Tfng and fra_Latn; ary_Latn (Arabizi) and Amazigh in Latin
script are jazari's own choices (FineWeb-2's kab_Latn values are degenerate: zero duplicate-line tolerance).

Example::

    >>> quality_reason("ok", QualityThresholds(min_words=5), set())
    'quality_too_few_words'
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Any

from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates

from jazari_nlp.corpus.config import QualityThresholds

PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’…،؛؟۔–—•·"
LINE_END_PUNCT = tuple(".!?…:;\"'»”)]،؛؟۔")
_FW2_OFF = None  # FineWeb-2 disables a check with -1 or ratios above 1

# language -> overrides of QualityThresholds. Values from FineWeb-2 configs unless marked "jazari".
SHIPPED_TABLE: dict[str, dict[str, Any]] = {
    "ary_Arab": {
        "dup_line_frac": 0.355,
        "dup_n_grams": [(5, 0.242), (6, 0.214), (7, 0.201), (8, 0.186), (9, 0.181), (10, 0.169)],
        "top_n_grams": [(2, 0.121), (3, 0.147), (4, 0.173)],
        "min_avg_word_length": 3,
        "max_avg_word_length": 7,
        "min_alpha_words_ratio": 0.743,
        "min_line_punct_ratio": 0.111,
    },
    "arb_Arab": {
        "dup_line_frac": 0.304,
        "dup_n_grams": [(5, 0.165), (6, 0.153), (7, 0.142), (8, 0.131), (9, 0.12), (10, 0.109)],
        "top_n_grams": [(2, 0.197), (3, 0.172), (4, 0.146)],
        "min_avg_word_length": 2,
        "max_avg_word_length": 9,
        "min_alpha_words_ratio": 0.787,
        "min_line_punct_ratio": 0.143,
    },
    "zgh_Tfng": {
        "dup_line_frac": 0.433,
        "dup_n_grams": [(5, 0.417), (6, 0.409), (7, 0.407), (8, 0.396), (9, 0.385), (10, 0.388)],
        "top_n_grams": [],  # FineWeb-2: 1.163 / 1.815 / 2.441, i.e. off
        "min_avg_word_length": 3,
        "max_avg_word_length": 10,
        "min_alpha_words_ratio": 0.913,
        "min_line_punct_ratio": _FW2_OFF,
    },
    "fra_Latn": {
        "dup_line_frac": 0.264,
        "dup_n_grams": [(5, 0.15), (6, 0.141), (7, 0.131), (8, 0.121), (9, 0.111), (10, 0.1)],
        "top_n_grams": [(2, 0.161), (3, 0.149), (4, 0.134)],
        "min_avg_word_length": 2,
        "max_avg_word_length": 11,
        "min_alpha_words_ratio": 0.812,
        "min_line_punct_ratio": 0.1,
    },
    # jazari: Arabizi writes letters with digits (3, 7, 9) and social-media lines rarely end in punctuation.
    "ary_Latn": {
        "min_avg_word_length": 2,
        "max_avg_word_length": 10,
        "max_digit_ratio": 0.5,
        "min_alpha_words_ratio": 0.7,
        "min_line_punct_ratio": None,
    },
    # jazari: Amazigh in Latin script has many one-letter particles (d, n, i, s, g).
    "tzm_Latn": {
        "min_avg_word_length": 2,
        "max_avg_word_length": 11,
        "min_alpha_words_ratio": 0.8,
        "min_line_punct_ratio": 0.1,
    },
}
# Varieties that share a table row and a stopword list.
ALIASES = {"zgh_Latn": "tzm_Latn", "kab_Latn": "tzm_Latn", "shi_Latn": "tzm_Latn", "rif_Latn": "tzm_Latn",
           "tzm_Tfng": "zgh_Tfng", "shi_Tfng": "zgh_Tfng", "rif_Tfng": "zgh_Tfng"}


def thresholds_for(lang: str | None, defaults: QualityThresholds, per_language: dict[str, dict],
                   use_shipped: bool = True) -> QualityThresholds:
    """Defaults, then the shipped row for ``lang`` (or its alias), then the user's overrides."""
    update: dict[str, Any] = {}
    key = ALIASES.get(lang or "", lang or "")
    if use_shipped and key in SHIPPED_TABLE:
        update.update(SHIPPED_TABLE[key])
    update.update(per_language.get(key, {}))
    if lang != key:
        update.update(per_language.get(lang or "", {}))
    return defaults.model_copy(update=QualityThresholds.model_validate(update).model_dump(include=set(update)))


def _read_list(name: str) -> frozenset[str]:
    try:
        text = resources.files("jazari_nlp.corpus").joinpath(f"stopwords/{name}.txt").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return frozenset()
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=64)
def shipped_stopwords(lang: str) -> frozenset[str]:
    """jazari's stopword list for a language (empty set when none ships). Example: ``shipped_stopwords('fra_Latn')``."""
    return _read_list(lang) or _read_list(ALIASES.get(lang, lang))


def split_words(text: str) -> list[str]:
    """Whitespace tokens with surrounding punctuation removed (symbol-only tokens become '')."""
    return [w.strip(PUNCT) for w in text.split()]


@lru_cache(maxsize=1)
def _digit_re() -> re.Pattern[str]:
    """Exactly the characters ``str.isdigit`` accepts: ``\\d`` (Unicode Nd) plus the other digits (², ①...).

    Planes 2-16 hold no digit (checked for Python 3.11's Unicode 14), so the scan stops at U+1FFFF.
    """
    extra = "".join(chr(c) for c in range(0x20000) if chr(c).isdigit() and not chr(c).isdecimal())
    return re.compile(r"[\d" + re.escape(extra) + "]")


def _has_alpha(token: str) -> bool:
    return token.isalpha() or any(c.isalpha() for c in token)  # the first test settles most words at C speed


def quality_reason(text: str, t: QualityThresholds, stopwords: frozenset[str] | set[str] | None) -> str | None:
    """The first failed check's reason (``quality_*``), or ``None``. ``stopwords=None`` skips the stopword check.

    Each statistic is computed once, only when its check is on and every earlier check passed.
    """
    tokens = split_words(text)
    words = [w for w in tokens if w]
    n = len(words)
    if t.min_words is not None and n < t.min_words:
        return "quality_too_few_words"
    if t.max_words is not None and n > t.max_words:
        return "quality_too_many_words"
    if n == 0:
        return "quality_too_few_words"
    avg = sum(map(len, words)) / n
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
        if sum(map(_has_alpha, tokens)) / len(tokens) < t.min_alpha_words_ratio:
            return "quality_few_alpha_words"
    if t.min_stop_words and stopwords:
        if len(stopwords.intersection(w.lower() for w in words)) < t.min_stop_words:
            return "quality_few_stopwords"
    if reason := _repetition_reason(text, words, t):
        return reason
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if lines and t.min_line_punct_ratio is not None:
        if sum(ln.endswith(LINE_END_PUNCT) for ln in lines) / len(lines) < t.min_line_punct_ratio:
            return "quality_line_punct"
    if lines and t.max_short_line_ratio is not None and len(lines) > 1:
        if sum(len(ln) <= 30 for ln in lines) / len(lines) > t.max_short_line_ratio:
            return "quality_short_lines"
    return None


def top_ngram_chars(words: list[str], n: int) -> int:
    """Characters covered by the most frequent word n-gram (datatrove's ``find_top_duplicate`` of
    ``get_n_grams``, same result, without the Python loops). Example: ``top_ngram_chars("a b a b".split(), 2)`` → 6.
    """
    if len(words) < n:
        return 0
    gram, count = Counter(map(" ".join, zip(*[words[i:] for i in range(n)], strict=False))).most_common(1)[0]
    return len(gram) * count


class _DupNgrams:
    """Gopher's duplicate n-gram characters (datatrove's ``find_all_duplicate``, same result): the n-grams are
    slices of one concatenation instead of fresh joins, shared by every n of a document."""

    def __init__(self, words: list[str]):
        self.words, self.full = words, "".join(words)
        self.off = list(accumulate(map(len, words), initial=0))

    def chars(self, n: int) -> int:
        full, off, seen = self.full, self.off, set()
        repeated, idx, end = 0, 0, len(self.words) - n + 1
        while idx < end:
            gram = full[off[idx]:off[idx + n]]
            if gram in seen:
                repeated += len(gram)
                idx += n
            else:
                seen.add(gram)
                idx += 1
        return repeated


def _repetition_reason(text: str, words: list[str], t: QualityThresholds) -> str | None:
    """Gopher repetition checks (Rae et al. 2021, table A1), counted like datatrove's GopherRepetitionFilter."""
    stripped = text.strip()
    paragraphs = [p for p in stripped.split("\n\n") if p.strip()]
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
    for k, frac in t.top_n_grams:
        if len(words) >= k and top_ngram_chars(words, k) / len(text) > frac:
            return f"quality_top_{k}gram"
    dups = _DupNgrams(words) if t.dup_n_grams else None
    for k, frac in t.dup_n_grams:
        if len(words) >= k and dups.chars(k) / len(text) > frac:
            return f"quality_dup_{k}gram"
    return None
