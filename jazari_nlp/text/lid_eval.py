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


# ---------------------------------------------------------------- the language-ID targets on a recipe split

ARABIC = ("ary_Arab", "arb_Arab", "ar_other")
TARGET6 = ["ary_Arab", "arb_Arab", "zgh_Tfng", "kab_Latn", "fra_Latn", "eng_Latn"]


def source_name(source) -> str:
    """A short name for a recipe source: ``flores`` for every sib200 file, else its path after ``data/`` and
    ``[field]``."""
    first = str(source.files[0])
    if "sib200" in first:
        return "flores"
    path = first.replace("\\", "/").split("/data/")[-1]
    return path + (f" [{source.text_field}]" if source.text_field != "text" else "")


def split_predictions(cfg, ident, split: str) -> dict[str, list[tuple[str, str, str, str]]]:
    """Source name -> ``(gold, gold before aliasing, key, predicted)`` for every row of ``split`` (``dev`` or
    ``test``), predicted in one batch per source."""
    from jazari_nlp.text.langid_recipe import iter_rows

    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for src in cfg.sources:
        rows = list(iter_rows(src, split))
        if rows:
            preds = ident.predict_batch([text for *_, text in rows])
            out.setdefault(source_name(src), []).extend(
                (gold, raw, key, p.label) for (gold, raw, key, _), p in zip(rows, preds, strict=True))
    return out


def najdi_ceiling(cfg, split: str) -> tuple[int, int]:
    """``(MSA sentences, Najdi sentences that are their MSA sentence verbatim)`` among the FLORES rows of
    ``split``: a verbatim copy cannot be told from MSA, so arb_Arab precision is at most ``n / (n + same)``."""
    from jazari_nlp.text.langid import prepare
    from jazari_nlp.text.langid_recipe import iter_rows

    arb, ars = {}, {}
    for src in cfg.sources:
        if source_name(src) == "flores":
            for _, raw, key, text in iter_rows(src, split):
                if raw in ("arb_Arab", "ars_Arab"):
                    (arb if raw == "arb_Arab" else ars)[key] = prepare(text)
    return len(arb), sum(arb.get(key) == text for key, text in ars.items())


def lid_targets(cfg, ident, split: str) -> dict[str, float]:
    """The issue's figures on one split: Darija and MSA F1 among the FLORES Arabic varieties (MSA also without
    the Najdi sentences, and its ceiling with them), Tamazight and Kabyle F1 among all FLORES varieties and
    among every source of the split, Arabizi recall on Darija tweets and on DODa."""
    groups = split_predictions(cfg, ident, split)
    flores = [(g, p) for g, _, _, p in groups.get("flores", [])]
    arabic = [(g, p) for g, p in flores if g in ARABIC]
    no_najdi = [(g, p) for g, raw, _, p in groups.get("flores", []) if g in ARABIC and raw != "ars_Arab"]
    everything = [(g, p) for rows in groups.values() for g, _, _, p in rows]
    s_ar, s_nn, s_fl, s_all = prf(arabic), prf(no_najdi), prf(flores), prf(everything)
    n_arb, same = najdi_ceiling(cfg, split)
    ceiling_p = n_arb / (n_arb + same) if n_arb else 0.0
    out = {"ary_Arab F1 (FLORES Arabic)": s_ar.get("ary_Arab", {}).get("f1", 0.0),
           "ary_Arab P (FLORES Arabic)": s_ar.get("ary_Arab", {}).get("precision", 0.0),
           "ary_Arab R (FLORES Arabic)": s_ar.get("ary_Arab", {}).get("recall", 0.0),
           "arb_Arab F1 (FLORES Arabic)": s_ar.get("arb_Arab", {}).get("f1", 0.0),
           "arb_Arab F1 ceiling (Najdi verbatim MSA)": 2 * ceiling_p / (ceiling_p + 1) if ceiling_p else 0.0,
           "arb_Arab F1 (FLORES Arabic without Najdi)": s_nn.get("arb_Arab", {}).get("f1", 0.0),
           "zgh_Tfng F1 (FLORES, all varieties)": s_fl.get("zgh_Tfng", {}).get("f1", 0.0),
           "kab_Latn F1 (FLORES, all varieties)": s_fl.get("kab_Latn", {}).get("f1", 0.0),
           "zgh_Tfng F1 (every source)": s_all.get("zgh_Tfng", {}).get("f1", 0.0),
           "kab_Latn F1 (every source)": s_all.get("kab_Latn", {}).get("f1", 0.0),
           "6-way macro-F1 (FLORES, those six)": macro_f1([(g, p) for g, p in flores if g in TARGET6], TARGET6)}
    for name, label in (("afrisenti/ary", "ary_Latn"), ("doda_v1", "ary_Latn"), ("afrisenti/ary", "ary_Arab")):
        rows = [(g, p) for key, rows in groups.items() if key.startswith(name) for g, _, _, p in rows]
        if any(g == label for g, _ in rows):
            out[f"{label} R ({name})"] = prf(rows)[label]["recall"]
    arq = [p for key, rows in groups.items() if key.startswith("afrisenti/arq") for *_, p in rows]
    if arq:
        out["Algerian tweets called Darija (afrisenti/arq)"] = sum(p.startswith("ary") for p in arq) / len(arq)
    return out


__all__ += ["ARABIC", "TARGET6", "source_name", "split_predictions", "najdi_ceiling", "lid_targets"]
