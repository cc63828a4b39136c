"""Weighted mixing of tokenized sources (or languages) with temperature and a token budget, seeded.

A source ``s`` holding ``n_s`` tokens, with weight ``w_s`` (default 1), gets the share

    p_s = (w_s · n_s) ** alpha / Σ_t (w_t · n_t) ** alpha

of the budget ``B`` (``token_budget``, default: all the tokens there are, ``Σ n_s``). ``alpha = 1``: as found,
scaled by the weights; ``alpha = 0``: every source (with a non-zero weight) the same; in between, a temperature
that raises the small ones (0.3 in XLM-R/mT5). The target ``t_s = p_s · B`` is capped at ``max_repeat · n_s``
(what a capped source cannot take is shared by the others in proportion to their ``p``, as in
:func:`jazari_nlp.tokenization.sampling.plan_targets`). Each source then gives documents in a seeded random
order, whole passes when ``t_s > n_s`` (each pass in a new order), until its tokens reach ``t_s`` (the document
that reaches it is kept: a source overshoots by less than one document). All drawn documents are shuffled
together, so that batches mix sources.

Example::

    mixed, report = mix_datasets({"ary_Arab": ary, "zgh_Tfng": zgh}, {"zgh_Tfng": 2.0}, alpha=0.5,
                                 token_budget=10_000_000, seed=0)
    print(report["sources"]["zgh_Tfng"]["drawn_tokens"])
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import Field

from jazari_nlp.errors import InputError
from jazari_nlp.schema import StrictModel

log = logging.getLogger("jazari_nlp.train")


class MixConfig(StrictModel):
    """Mixing of sources: ``p_s ∝ (weight_s × tokens_s) ** alpha``, a token budget, a cap on repetition.

    Example::

        mix: {weights: {zgh_Tfng: 3.0}, alpha: 0.5, token_budget: 100_000_000}
    """

    weights: dict[str, float] = Field(default_factory=dict, description="Weight per source name (default 1; 0 "
                                      "leaves a source out).")
    alpha: float = Field(1.0, ge=0.0, le=1.0, description="Temperature exponent: 1 as found, 0 uniform.")
    token_budget: int | None = Field(None, ge=1, description="Tokens to draw in all (None: as many as there are).")
    max_repeat: float = Field(4.0, ge=1.0, description="A source is repeated at most this many times.")
    seed: int | None = Field(None, description="Seed of the draw (None: the experiment's seed).")


@dataclass
class MixSource:
    """One source of a mix: what it holds, its share and target, and what was drawn from it."""

    name: str
    documents: int
    tokens: int
    weight: float
    share: float  # p_s before the max_repeat cap
    target_tokens: int
    drawn_documents: int = 0
    drawn_tokens: int = 0
    repeat: float = 0.0  # drawn_tokens / tokens (> 1: the source is repeated)


def mix_weights(sizes: dict[str, int], weights: dict[str, float] | None, alpha: float,
                key: str = "train.packing.mix.weights") -> dict[str, float]:
    """Sampling shares ``p_s = (w_s · n_s) ** alpha / Σ (w_t · n_t) ** alpha`` (sources with no tokens or weight 0
    get 0). Example: ``mix_weights({"a": 900, "b": 100}, None, 0.5)`` → ``{'a': 0.75, 'b': 0.25}``."""
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(sizes))
    if unknown:
        raise InputError(f"{key}.{unknown[0]}: no source is named {unknown[0]!r} (sources: "
                         f"{', '.join(sorted(sizes))}): use one of these names")
    for name, w in weights.items():
        if not w >= 0:
            raise InputError(f"{key}.{name}: weight {w} is negative; give a weight >= 0 (0 leaves the source out)")
    if alpha < 0:
        raise InputError(f"alpha {alpha}: give an exponent between 0 (uniform) and 1 (as found)")
    mass = {s: float(weights.get(s, 1.0)) * n for s, n in sizes.items()}
    # alpha = 0 must still leave out empty or zero-weight sources (0 ** 0 is 1)
    raised = {s: (m ** alpha if m > 0 else 0.0) for s, m in mass.items()}
    total = sum(raised.values())
    if total <= 0:
        raise InputError(f"{key}: no source has tokens and a weight above 0 (sources: {sizes})")
    return {s: r / total for s, r in raised.items()}


def plan_mix(sizes: dict[str, int], shares: dict[str, float], token_budget: int | None,
             max_repeat: float) -> dict[str, int]:
    """Target tokens per source: ``p_s · budget``, none above ``max_repeat · n_s`` (water-filling: the excess of
    the capped ones goes to the others by their ``p``). Example: ``plan_mix({"a": 10, "b": 1000}, {"a": .5,
    "b": .5}, 100, 2.0)`` → ``{'a': 20, 'b': 80}``."""
    budget = float(token_budget if token_budget is not None else sum(sizes.values()))
    free = [s for s in sizes if shares[s] > 0]  # a list: the same order (and float sums) in every process
    targets: dict[str, float] = {s: 0.0 for s in sizes}
    while free:
        left = budget - sum(targets.values())
        norm = sum(shares[s] for s in free)
        over = [s for s in free if left * shares[s] / norm > max_repeat * sizes[s]]
        if not over:
            targets.update({s: left * shares[s] / norm for s in free})
            break
        for s in over:
            targets[s] = max_repeat * sizes[s]
            free.remove(s)
    return {s: int(round(t)) for s, t in targets.items()}


def mix_datasets(datasets_by_source: dict[str, Any], weights: dict[str, float] | None, alpha: float,
                 token_budget: int | None, seed: int, *, max_repeat: float = 4.0) -> tuple[Any, dict[str, Any]]:
    """The mixed documents (one ``input_ids`` column, rows shuffled; a lazy index over the sources' Arrow
    files, nothing copied) and the report: per source its tokens, share, target and what was drawn.
    Example: ``mixed, report = mix_datasets({"a": da, "b": db}, None, 0.3, 1_000_000, seed=0)``."""
    import numpy as np
    import pyarrow.compute as pc
    from datasets import Features, List, Value, concatenate_datasets

    if not datasets_by_source:
        raise InputError("mixing: no source to mix")
    lengths: dict[str, Any] = {}
    for name, ds in datasets_by_source.items():
        if "input_ids" not in ds.column_names:
            raise InputError(f"mixing: source {name!r} has no input_ids column (columns: "
                             f"{', '.join(ds.column_names)}): tokenize it with tokenize_documents first")
        parts = [pc.list_value_length(t.column("input_ids")).to_numpy(zero_copy_only=False)
                 for t in ds.select_columns(["input_ids"]).with_format("arrow").iter(batch_size=100_000)]
        lengths[name] = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    sizes = {s: int(n.sum()) for s, n in lengths.items()}
    shares = mix_weights(sizes, weights, alpha)
    targets = plan_mix(sizes, shares, token_budget, max_repeat)
    rng = np.random.default_rng(seed)
    picked: list[Any] = []
    offset = 0
    report: dict[str, MixSource] = {}
    for name, n in lengths.items():
        idx = _draw(n, targets[name], rng)
        picked.append(idx + offset)
        offset += len(n)
        drawn = int(n[idx].sum())
        report[name] = MixSource(name=name, documents=len(n), tokens=sizes[name],
                                 weight=float((weights or {}).get(name, 1.0)), share=round(shares[name], 6),
                                 target_tokens=targets[name], drawn_documents=len(idx), drawn_tokens=drawn,
                                 repeat=round(drawn / sizes[name], 4) if sizes[name] else 0.0)
        if targets[name] and not len(idx):
            log.warning("mixing: source %s has no tokens to give", name)
    feats = Features({"input_ids": List(Value("int32"))})
    parts = [ds.select_columns(["input_ids"]) for ds in datasets_by_source.values()]
    parts = [p if p.features == feats else p.cast(feats) for p in parts]
    order = np.concatenate(picked)
    order = order[rng.permutation(len(order))]
    mixed = concatenate_datasets(parts).select(order)
    total = sum(r.drawn_tokens for r in report.values())
    for r in report.values():
        log.info("mixing: %s: %d of %d tokens drawn (share %.3f, %.2f× its text)", r.name, r.drawn_tokens,
                 r.tokens, r.share, r.repeat)
    return mixed, {"seed": seed, "alpha": alpha, "token_budget": token_budget, "max_repeat": max_repeat,
                   "drawn_tokens": total, "drawn_documents": len(order),
                   "sources": {s: asdict(r) for s, r in report.items()}}


def _draw(lengths: Any, target: int, rng: Any) -> Any:
    """Document indices reaching ``target`` tokens: whole shuffled passes, then a shuffled prefix up to and
    including the document that reaches the target."""
    import numpy as np

    total = int(lengths.sum())
    if target <= 0 or total == 0:
        return np.zeros(0, np.int64)
    passes = []
    while target - total * len(passes) >= total:  # whole passes while a full one still fits
        passes.append(rng.permutation(len(lengths)))
    left = target - total * len(passes)
    if left > 0:
        perm = rng.permutation(len(lengths))
        k = int(np.searchsorted(np.cumsum(lengths[perm]), left)) + 1  # first prefix with >= left tokens
        passes.append(perm[:k])
    return np.concatenate(passes).astype(np.int64)
