"""Contamination report: the share of a task's test items that share a word n-gram with a built corpus.

The corpus builder's decontamination index (:mod:`jazari_nlp.corpus.decontam`: ``match``-normalized words,
xxhash n-grams, items shorter than ``n`` matched whole) is built from the items, then every document of the
corpus's train and held-out shards is scanned once.

Example::

    rep = contamination_report(["jazari_quick_mc"], Path("runs/q/corpus"), n=13)
    rep["tasks"]["jazari_quick_mc"]["share"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

MIN_REFERENCE_WORDS = 4  # a shorter reference ("merci beaucoup") is in any corpus (as min_item_words)


def item_texts(task: Any, request: Any) -> list[str]:
    """The texts a test item is looked for by; it is contaminated when any of them overlaps the corpus.

    The text of the row fields its prompt reads (``doc_to_decontamination_query`` when the task sets one), not
    the rendered prompt: a corpus holds the question, never the template's own words around it ("سؤال: ...
    جواب:"), which would keep a short item, matched whole, from ever being found. For generation and
    log-likelihood tasks, also the reference (when it has at least ``MIN_REFERENCE_WORDS`` words).
    Example: ``item_texts(task, req)`` → ``["شنو هي العاصمة ديال المغرب؟"]``.
    """
    from jazari_nlp.evaluation.tasks import template_fields

    cfg, doc = task.config, request.doc
    if cfg.doc_to_decontamination_query is not None:
        query = task.decontamination_query(doc)
    else:
        spec = cfg.doc_to_text if isinstance(cfg.doc_to_text, str) else None
        used = {spec} if spec in doc else template_fields(spec) if spec else set()
        values = [doc[f] for f in doc if f in used and isinstance(doc[f], str)]
        query = " ".join(values) if values else request.context
    texts = [query]
    if cfg.output_type != "multiple_choice":
        for ref in request.gold if isinstance(request.gold, list) else [request.gold]:
            if isinstance(ref, str) and len(ref.split()) >= MIN_REFERENCE_WORDS:
                texts.append(ref)
    return texts


def overlapping_items(items: list[str], corpus_texts, n: int = 13) -> list[bool]:
    """For each item, whether any corpus text contains one of its word n-grams (whole item when shorter): the
    corpus builder's decontamination index, built over the items with their positions, then every text scanned."""
    from jazari_nlp.corpus.decontam import _words, build_index, text_hashes

    idx = build_index(items, n, min_item_words=1, owners=True)
    hit = [False] * len(items)
    for text in corpus_texts:
        for h in text_hashes(_words(text), idx.lengths):
            for i in idx.owners.get(h, ()):
                hit[i] = True
    return hit


def contamination_report(tasks: list[str], corpus_dir: Path, n: int = 13) -> dict[str, Any]:
    """``{"n", "corpus", "tasks": {name: {"items", "contaminated", "share", "doc_ids"}}}``."""
    from jazari_nlp.corpus import corpus_files
    from jazari_nlp.evaluation.tasks import load_tasks
    from jazari_nlp.textio import iter_rows

    corpus_dir = Path(corpus_dir)
    files = corpus_files(corpus_dir, "train") + corpus_files(corpus_dir, "heldout")
    if not files:
        raise InputError(f"{corpus_dir}: no corpus shards (train/ or heldout/ parquet files) there")
    texts = [r["text"] for r in iter_rows(files, ["text"]) if isinstance(r["text"], str)]
    out: dict[str, Any] = {"n": n, "corpus": str(corpus_dir), "corpus_documents": len(texts), "tasks": {}}
    for task in load_tasks(tasks):
        reqs = [r for r in task.build_requests(num_fewshot=0) if not r.skipped]
        pieces = [(i, t) for i, r in enumerate(reqs) for t in item_texts(task, r)]
        hit = [False] * len(reqs)
        for (i, _), h in zip(pieces, overlapping_items([t for _, t in pieces], texts, n), strict=True):
            hit[i] = hit[i] or h
        k = sum(hit)
        out["tasks"][task.name] = {"items": len(reqs), "contaminated": k, "share": k / len(reqs) if reqs else 0.0,
                                   "doc_ids": [r.doc_id for r, h in zip(reqs, hit, strict=True) if h]}
    return out
