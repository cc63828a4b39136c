"""Generation metrics: exact match, chrF/chrF++/BLEU/TER (sacrebleu), ROUGE that sees Arabic and Tifinagh,
CER/WER.

BLEU, chrF and TER are corpus-level: each example gives the item ``(reference, prediction)`` (reference a
string or a list of strings) and the score is computed once over all items, exactly as lm-eval's
``bleu``/``chrf``/``ter`` aggregations (sacrebleu defaults; a variable number of references per example is
allowed). ROUGE tokenizes with :func:`rouge_tokenize` (rouge_score's default keeps only ``[a-z0-9]`` and
scores Arabic 0). CER and WER are corpus error rates: each example gives ``(edits, reference length)``.

Example::

    corpus_chrf([("ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ")])           # 100.0
    rouge_score_one("rougeL", "سلام عليكم", "سلام")         # 0.666...
    edit_distance("kitab", "ktab")                           # 1
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

Ref = str | Sequence[str]

# --- exact match -------------------------------------------------------------------------------------------

# lm-eval strips string.punctuation (ASCII); Arabic and Tifinagh text also has ، ؛ ؟ « » ⵰ and friends, so
# every Unicode punctuation character goes too (identical results on ASCII punctuation).
_ASCII_PUNCT = set(string.punctuation)


def _strip_punctuation(s: str) -> str:
    return "".join(c for c in s if c not in _ASCII_PUNCT and not unicodedata.category(c).startswith("P"))


def normalize_for_match(
    s: str,
    *,
    regexes_to_ignore: Sequence[str] | None = None,
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    ignore_numbers: bool = False,
) -> str:
    """The text exact_match compares, in lm-eval's order: regexes removed, lowercased, punctuation, digits."""
    for pattern in regexes_to_ignore or ():
        s = re.sub(pattern, "", s)
    if ignore_case:
        s = s.lower()
    if ignore_punctuation:
        s = _strip_punctuation(s)
    if ignore_numbers:
        s = "".join(c for c in s if c not in string.digits)
    return s


def exact_match(prediction: str, reference: Ref, **options: Any) -> float:
    """1.0 when the prediction equals the reference (any of a list) after ``normalize_for_match(**options)``.

    Example: ``exact_match("Salam!", "salam", ignore_case=True, ignore_punctuation=True) == 1.0``."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    pred = normalize_for_match(prediction, **options)
    return 1.0 if any(pred == normalize_for_match(r, **options) for r in refs) else 0.0


# --- sacrebleu corpus metrics ------------------------------------------------------------------------------


def sacreformat(items: Sequence[tuple[Ref, str]]) -> tuple[list[list[str | None]], list[str]]:
    """``(reference, prediction)`` items to sacrebleu's ``(hypotheses, reference streams)`` layout.

    Same as lm-eval's ``_sacreformat`` when every example has the same number of references; with fewer
    references the missing ones are None (sacrebleu's variable-reference convention) instead of being cut."""
    refs = [[r] if isinstance(r, str) else list(r) for r, _ in items]
    preds = [p[0] if not isinstance(p, str) and len(p) == 1 else p for _, p in items]
    for p in preds:
        if not isinstance(p, str):
            raise ValueError(f"a prediction must be a string, got {p!r}")
    width = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]
    return streams, preds  # type: ignore[return-value]


def corpus_bleu(items: Sequence[tuple[Ref, str]], **kw: Any) -> float:
    """sacrebleu corpus BLEU (0-100) over ``(reference, prediction)`` items; ``kw`` go to
    ``sacrebleu.BLEU``."""
    from sacrebleu.metrics import BLEU

    streams, preds = sacreformat(items)
    return BLEU(**kw).corpus_score(preds, streams).score


def corpus_chrf(items: Sequence[tuple[Ref, str]], **kw: Any) -> float:
    """sacrebleu corpus chrF (char_order 6, beta 2, word_order 0 unless ``kw`` say otherwise), 0-100."""
    from sacrebleu.metrics import CHRF

    streams, preds = sacreformat(items)
    return CHRF(**kw).corpus_score(preds, streams).score


def corpus_chrfpp(items: Sequence[tuple[Ref, str]], **kw: Any) -> float:
    """chrF++: chrF with word bigrams (``word_order=2``)."""
    return corpus_chrf(items, **{"word_order": 2, **kw})


def corpus_ter(items: Sequence[tuple[Ref, str]], **kw: Any) -> float:
    """sacrebleu corpus TER (edits per reference word, x100; lower is better)."""
    from sacrebleu.metrics import TER

    streams, preds = sacreformat(items)
    return TER(**kw).corpus_score(preds, streams).score


def sentence_score(name: str, prediction: str, reference: Ref, **kw: Any) -> float:
    """One example's BLEU/chrF/chrF++/TER (sacrebleu's ``sentence_score``; BLEU with effective order, as
    ``sacrebleu.sentence_bleu``), for a samples file; the task's score is the corpus one."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    refs = [reference] if isinstance(reference, str) else list(reference)
    if name == "bleu":
        metric: Any = BLEU(**{"effective_order": True, **kw})
    elif name in ("chrf", "chrf++"):
        metric = CHRF(**{**({"word_order": 2} if name == "chrf++" else {}), **kw})
    elif name == "ter":
        metric = TER(**kw)
    else:
        raise ValueError(f"no sentence score for {name!r}; use bleu, chrf, chrf++ or ter")
    return metric.sentence_score(prediction, refs).score


# --- ROUGE -------------------------------------------------------------------------------------------------

_TATWEEL = "\u0640"  # Arabic elongation: typographic, not a letter (كـتاب is كتاب)


def rouge_tokenize(text: str, *, lowercase: bool = True) -> list[str]:
    """Words for ROUGE: maximal runs of letters, combining marks and digits in any script (Arabic with its
    harakat, Tifinagh, Latin, Arabizi's 3/7/9 inside words), after NFC; everything else separates words.
    Tatweel is dropped; Latin is lowercased as rouge_score does (no stemming).

    Example: ``rouge_tokenize("Salam, ⴰⵣⵓⵍ! كـتاب 3lach") == ["salam", "ⴰⵣⵓⵍ", "كتاب", "3lach"]``."""
    text = unicodedata.normalize("NFC", text).replace(_TATWEEL, "")
    if lowercase:
        text = text.lower()
    tokens: list[str] = []
    current: list[str] = []
    for c in text:
        if unicodedata.category(c)[0] in "LMN":
            current.append(c)
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def rouge_tokenizer(lowercase: bool = True) -> Any:
    """A ``rouge_score.tokenizers.Tokenizer`` that splits with :func:`rouge_tokenize`."""
    from rouge_score import tokenizers

    class UnicodeTokenizer(tokenizers.Tokenizer):
        def tokenize(self, text: str) -> list[str]:
            return rouge_tokenize(text, lowercase=lowercase)

    return UnicodeTokenizer()


@lru_cache(maxsize=8)
def _scorer(rouge_type: str, lowercase: bool) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([rouge_type], use_stemmer=False, tokenizer=rouge_tokenizer(lowercase))


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_score_one(rouge_type: str, prediction: str, reference: Ref, *, lowercase: bool = True) -> float:
    """ROUGE F-measure of one prediction (the best over a list of references), 0-1.

    Example: ``rouge_score_one("rouge1", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "ⴰⵣⵓⵍ") == 2/3``."""
    if rouge_type not in ROUGE_TYPES:
        raise ValueError(f"unknown ROUGE type {rouge_type!r}; use one of {', '.join(ROUGE_TYPES)}")
    refs = [reference] if isinstance(reference, str) else list(reference)
    scorer = _scorer(rouge_type, lowercase)
    return max(scorer.score(r, prediction)[rouge_type].fmeasure for r in refs)


# --- CER / WER ---------------------------------------------------------------------------------------------


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions, each 1) between two sequences.

    Example: ``edit_distance("salam", "slama") == 2``."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _clean(s: str) -> str:
    # as jiwer/evaluate: strip and collapse runs of spaces; NFC so canonically equal text has no edits
    return " ".join(unicodedata.normalize("NFC", s).split())


def cer_item(prediction: str, reference: Ref) -> tuple[int, int]:
    """``(character edits, reference characters)``; with several references, the one with the lowest rate."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    pred = _clean(prediction)
    return min(((edit_distance(pred, r), len(r)) for r in map(_clean, refs)), key=_rate)


def wer_item(prediction: str, reference: Ref) -> tuple[int, int]:
    """``(word edits, reference words)``; words are whitespace-separated."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    pred = _clean(prediction).split()
    return min(((edit_distance(pred, r), len(r)) for r in (_clean(x).split() for x in refs)), key=_rate)


def _rate(item: tuple[int, int]) -> float:
    edits, length = item
    return edits / length if length else (0.0 if edits == 0 else float("inf"))
