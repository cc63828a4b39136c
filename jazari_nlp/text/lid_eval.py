"""Scoring language identification and transliteration: per-label P/R/F1, confusion matrix, CER.

Example::

    >>> prf([("a", "a"), ("b", "a")])["a"]["recall"]
    1.0
"""

from __future__ import annotations

from collections import Counter


def prf(pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Per-label precision, recall, F1 and support from ``(gold, predicted)`` pairs."""
    tp, fp, fn, support = Counter(), Counter(), Counter(), Counter()
    for gold, pred in pairs:
        support[gold] += 1
        if gold == pred:
            tp[gold] += 1
        else:
            fp[pred] += 1
            fn[gold] += 1
    out = {}
    for label in sorted(set(support) | set(fp)):
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[label] = {"precision": p, "recall": r, "f1": f, "support": support[label]}
    return out


def macro_f1(pairs: list[tuple[str, str]], labels: list[str]) -> float:
    """Macro-F1 over ``labels`` (predictions outside them still count as errors)."""
    scores = prf(pairs)
    return sum(scores.get(lab, {"f1": 0.0})["f1"] for lab in labels) / len(labels)


def confusion(pairs: list[tuple[str, str]]) -> tuple[list[str], list[list[int]]]:
    """Labels and the matrix ``m[gold][pred]``."""
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for gold, pred in pairs:
        matrix[index[gold]][index[pred]] += 1
    return labels, matrix


def cer(pairs: list[tuple[str, str]]) -> float:
    """Character error rate: total edit distance over total reference length, from ``(reference, hypothesis)``.
    (Raw strings; the harness's ``cer`` metric also NFC-normalizes and collapses spaces.)"""
    from jazari_nlp.evaluation.metrics.text import edit_distance

    total = sum(len(ref) for ref, _ in pairs)
    return sum(edit_distance(ref, hyp) for ref, hyp in pairs) / total if total else 0.0


__all__ = ["prf", "macro_f1", "confusion", "cer"]
