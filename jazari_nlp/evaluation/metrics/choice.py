"""Multiple-choice scoring: acc, acc_norm, acc_bytes from the choices' log-likelihoods, and classification
F1/MCC.

``score_multiple_choice`` is lm-eval's ``ConfigurableTask.process_results`` for ``multiple_choice``: the
prediction is the argmax of the log-likelihoods (the first on ties, as ``np.argmax``), ``acc_norm`` divides
each log-likelihood by the choice's length in characters, ``acc_bytes`` by its length in UTF-8 bytes (fairer
when choices mix scripts: an Arabic or Tifinagh letter is 2-3 bytes). The choices are the raw choice strings,
without the target delimiter.

Example::

    score_multiple_choice([-4.0, -6.0], ["نعم", "ماشي"], gold=1)
    # {'acc': 0.0, 'acc_norm': 0.0, 'acc_bytes': 0.0, 'exact_match': 0, 'f1': (1, 0), 'mcc': (1, 0), ...}
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any


def _argmax(values: Sequence[float]) -> int:
    # the first maximum, like np.argmax; NaN never wins (np.argmax would return it)
    best = 0
    for i, v in enumerate(values):
        if v > values[best] or math.isnan(values[best]):
            best = i
    return best


def gold_index(gold: Any, choices: Sequence[str]) -> int | list[int]:
    """The gold answer as choice index(es): an int, a choice string, or a list of them (several right
    answers).

    Raises ValueError naming the problem when an index is out of range or a string is not a choice."""
    if isinstance(gold, (list, tuple)):
        return [gold_index(g, choices) for g in gold]  # type: ignore[misc]
    if isinstance(gold, bool) or not isinstance(gold, (int, str)):
        raise ValueError(f"gold answer {gold!r} is not a choice index or a choice string")
    if isinstance(gold, str):
        if gold not in choices:
            raise ValueError(f"gold answer {gold!r} is not one of the choices {list(choices)!r}")
        return list(choices).index(gold)
    if not 0 <= gold < len(choices):
        raise ValueError(f"gold answer index {gold} is out of range for {len(choices)} choices")
    return gold


def score_multiple_choice(
    loglikelihoods: Sequence[float],
    choices: Sequence[str],
    gold: Any,
    is_greedy: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Per-example multiple-choice items: ``acc``, ``acc_norm``, ``acc_bytes`` (0.0/1.0), ``exact_match``
    (1 when the gold choice is the greedy continuation, needs ``is_greedy``), ``f1`` and ``mcc`` items
    ``(gold, pred)`` for the corpus aggregations, plus ``pred``, ``pred_norm``, ``pred_bytes`` indices.

    Raises ValueError when the lists disagree in length, a choice is empty or the gold is not a choice."""
    if len(loglikelihoods) != len(choices):
        raise ValueError(f"{len(loglikelihoods)} log-likelihoods for {len(choices)} choices")
    if not choices:
        raise ValueError("the choice list is empty")
    for i, c in enumerate(choices):
        if not c:
            raise ValueError(f"choice {i} is an empty string: acc_norm cannot divide by its length")
    gold_i = gold_index(gold, choices)
    lls = [float(x) for x in loglikelihoods]
    pred = _argmax(lls)
    pred_norm = _argmax([ll / len(c) for ll, c in zip(lls, choices, strict=True)])
    pred_bytes = _argmax([ll / len(c.encode("utf-8")) for ll, c in zip(lls, choices, strict=True)])
    golds = gold_i if isinstance(gold_i, list) else [gold_i]
    greedy = list(is_greedy) if is_greedy is not None else [False] * len(choices)
    return {
        "acc": 1.0 if pred in golds else 0.0,
        "acc_norm": 1.0 if pred_norm in golds else 0.0,
        "acc_bytes": 1.0 if pred_bytes in golds else 0.0,
        "exact_match": int(any(greedy[g] for g in golds)),
        "f1": (gold_i, pred),
        "mcc": (gold_i, pred),
        "pred": pred,
        "pred_norm": pred_norm,
        "pred_bytes": pred_bytes,
        "gold": gold_i,
    }


def _pairs(items: Sequence[tuple[Any, Any]]) -> tuple[list, list]:
    golds = [g[0] if isinstance(g, list) else g for g, _ in items]  # several golds: the first counts
    preds = [p for _, p in items]
    return golds, preds


def macro_f1(items: Sequence[tuple[Any, Any]]) -> float:
    """Macro-averaged F1 over ``(gold, pred)`` pairs: the mean over every label seen (in golds or predictions)
    of 2·TP / (2·TP + FP + FN), as scikit-learn's ``f1_score(average="macro")``.

    Example: ``macro_f1([(0, 0), (0, 1), (1, 1), (2, 2)]) == (2/3 + 2/3 + 1) / 3``."""
    golds, preds = _pairs(items)
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    for g, p in zip(golds, preds, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    labels = set(golds) | set(preds)
    scores = []
    for label in labels:
        denom = 2 * tp[label] + fp[label] + fn[label]
        scores.append(2 * tp[label] / denom if denom else 0.0)
    return sum(scores) / len(scores)


def binary_f1(items: Sequence[tuple[Any, Any]]) -> float:
    """F1 of the positive label 1 (lm-eval's ``f1`` aggregation: scikit-learn's default
    ``average="binary"``)."""
    golds, preds = _pairs(items)
    tp = sum(1 for g, p in zip(golds, preds, strict=True) if g == 1 and p == 1)
    fp = sum(1 for g, p in zip(golds, preds, strict=True) if g != 1 and p == 1)
    fn = sum(1 for g, p in zip(golds, preds, strict=True) if g == 1 and p != 1)
    denom = 2 * tp + fp + fn
    return 2 * tp / denom if denom else 0.0


def matthews_corrcoef(items: Sequence[tuple[Any, Any]]) -> float:
    """Matthews correlation (multiclass, as scikit-learn) over ``(gold, pred)`` pairs; 0 when undefined."""
    golds, preds = _pairs(items)
    s = len(golds)
    c = sum(1 for g, p in zip(golds, preds, strict=True) if g == p)
    t = Counter(golds)
    p = Counter(preds)
    labels = set(t) | set(p)
    cov = c * s - sum(p[k] * t[k] for k in labels)
    denom = math.sqrt((s * s - sum(v * v for v in p.values())) * (s * s - sum(v * v for v in t.values())))
    return cov / denom if denom else 0.0


def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Share of predictions equal to their reference (a list reference: any of them)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    hits = [
        p in r if isinstance(r, (list, tuple)) else p == r
        for p, r in zip(predictions, references, strict=True)
    ]
    return sum(hits) / len(hits)
