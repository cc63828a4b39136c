"""The quality step's shipped per-language thresholds and stopword lists (re-exported by ``filters``).

The table starts from FineWeb-2's published per-language thresholds (huggingface/fineweb-2,
``configs/<lang>.yml``) for ary_Arab, arb_Arab, zgh_Tfng and fra_Latn; ary_Latn (Arabizi) and Amazigh in Latin
script are jazari's own choices (FineWeb-2's kab_Latn values are degenerate: zero duplicate-line tolerance).

Example: ``thresholds_for("ary_Arab", QualityThresholds(), {}).dup_line_frac`` → ``0.355``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from jazari_nlp.corpus.thresholds import QualityThresholds

_FW2_OFF = None  # FineWeb-2 disables a check with -1 or ratios above 1

# language -> overrides of QualityThresholds (a nested "short" mapping overrides ShortThresholds). Values from
# FineWeb-2 configs unless marked "jazari".
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


def _deep_update(base: dict[str, Any], over: dict[str, Any]) -> None:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v


def _written(over: QualityThresholds | dict[str, Any]) -> dict[str, Any]:
    return (over if isinstance(over, QualityThresholds) else QualityThresholds.model_validate(over)).written()


def thresholds_for(lang: str | None, defaults: QualityThresholds, per_language: dict[str, Any],
                   use_shipped: bool = True) -> QualityThresholds:
    """The thresholds of one language, the last level winning key by key (``short`` keys too):
    (a) the class defaults, then jazari's shipped row for ``lang`` (or its alias), (b) the keys written in
    ``defaults``, (c) the keys written in ``per_language`` for the alias row, then for ``lang`` itself.

    Example: ``thresholds_for("ary_Arab", QualityThresholds(min_words=3), {}).min_words`` → ``3``.
    """
    key = ALIASES.get(lang or "", lang or "")
    merged: dict[str, Any] = {}
    if use_shipped and key in SHIPPED_TABLE:
        _deep_update(merged, SHIPPED_TABLE[key])
    _deep_update(merged, defaults.written())
    for code in dict.fromkeys((key, lang or "")):
        if code in per_language:
            _deep_update(merged, _written(per_language[code]))
    return QualityThresholds.model_validate(merged)


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
