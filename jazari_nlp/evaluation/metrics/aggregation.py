"""Aggregations of per-example metric items, with standard errors, as lm-evaluation-harness computes them.

The formulas (and their floating-point order) follow ``lm_eval.api.metrics`` so that a task scored here and by
lm-eval reports the same value and stderr: ``mean`` with ``mean_stderr`` (sample stddev / sqrt(n)), corpus
metrics with a seeded bootstrap (chunk ``i`` drawn from ``random.Random(seed + i)``, lm-eval uses seed 0),
``weighted_perplexity`` and ``bits_per_byte`` over ``(loglikelihood, count)`` pairs, and the size-weighted
group aggregate with the pooled stderr.

Example::

    mean([1, 0, 1, 1]), mean_stderr([1, 0, 1, 1])       # (0.75, 0.25)
    bootstrap_stderr(AGGREGATIONS["chrf"], items, iters=100)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from jazari_nlp.evaluation.metrics import choice, text

# lm-eval runs 100000 bootstrap draws by default, and at most 100 for the corpus MT metrics (each draw
# recomputes sacrebleu over the whole corpus). The other bootstrapped aggregations (f1, mcc, cer/wer,
# perplexity) are pure Python here: 1000 draws unless the caller asks for more, so a task scores in seconds.
DEFAULT_BOOTSTRAP_ITERS = 100000
CAPPED_BOOTSTRAP_ITERS = 100
CAPPED_METRICS = frozenset({"bleu", "chrf", "chrf++", "ter"})
DEFAULT_OTHER_BOOTSTRAP_ITERS = 1000


def mean(arr: Sequence[float]) -> float:
    """Arithmetic mean; ``mean([1, 0]) == 0.5``."""
    return sum(arr) / len(arr)


def median(arr: Sequence[float]) -> float:
    """lm-eval's median: the upper middle element; ``median([3, 1, 2, 4]) == 3``."""
    return sorted(arr)[len(arr) // 2]


def sample_stddev(arr: Sequence[float]) -> float:
    """Standard deviation with Bessel's correction; ``sample_stddev([1, 3]) == 2 ** 0.5``."""
    mu = mean(arr)
    return math.sqrt(sum([(x - mu) ** 2 for x in arr]) / (len(arr) - 1))


def mean_stderr(arr: Sequence[float]) -> float:
    """Standard error of the mean; ``mean_stderr([1, 0, 1, 1]) == 0.25``."""
    return sample_stddev(arr) / math.sqrt(len(arr))


def weighted_mean(items: Sequence[tuple[float, float]]) -> float:
    """``sum(a) / sum(b)`` over ``(a, b)`` pairs; ``weighted_mean([(1, 2), (3, 2)]) == 1.0``."""
    a, b = zip(*items, strict=True)
    return sum(a) / sum(b)


def perplexity(items: Sequence[float]) -> float:
    """exp of minus the mean log-likelihood (lm-eval's ``perplexity``, for ``loglikelihood`` tasks)."""
    return math.exp(-mean(items))


def weighted_perplexity(items: Sequence[tuple[float, float]]) -> float:
    """exp(-sum(loglikelihood) / sum(count)) over ``(loglikelihood, words or bytes or tokens)`` pairs."""
    return math.exp(-weighted_mean(items))


def bits_per_byte(items: Sequence[tuple[float, float]]) -> float:
    """-sum(loglikelihood in nats) / sum(bytes) / ln 2 over ``(loglikelihood, bytes)`` pairs."""
    return -weighted_mean(items) / math.log(2)


def error_rate(items: Sequence[tuple[int, int]]) -> float:
    """Corpus CER/WER: total edits / total reference length over ``(edits, length)`` pairs (as jiwer and
    evaluate's ``cer``/``wer``); when every reference is empty: 0.0 without edits, else NaN (undefined)."""
    edits = sum(e for e, _ in items)
    length = sum(n for _, n in items)
    if not length:
        return 0.0 if edits == 0 else float("nan")
    return edits / length


def bootstrap_stderr(
    f: Callable[[Sequence[Any]], float], xs: Sequence[Any], iters: int, seed: int = 0
) -> float:
    """Bootstrap estimate of the standard error of ``f(xs)``, drawn exactly as lm-eval's ``bootstrap_stderr``
    (chunks of ``min(1000, iters)`` resamples, chunk ``i`` from ``random.Random(seed + i)``); single process.

    Example: ``bootstrap_stderr(mean, [0, 1, 1, 0], iters=1000)`` is close to ``mean_stderr`` without Bessel.
    """
    xs = list(xs)
    res = []
    chunk_size = min(1000, iters)
    for i in range(iters // chunk_size):
        rnd = random.Random(seed + i)
        for _ in range(chunk_size):
            res.append(f(rnd.choices(xs, k=len(xs))))
    return sample_stddev(res)


def pooled_sample_stderr(stderrs: Sequence[float], sizes: Sequence[int]) -> float:
    """Stderr of a size-weighted group mean from its subtasks' stderrs (lm-eval's pooled variance)."""
    if len(stderrs) != len(sizes):
        raise ValueError(f"{len(stderrs)} stderrs for {len(sizes)} sizes")
    pooled_sample_var = (
        sum([(size - 1) * stderr**2 * size for size, stderr in zip(sizes, stderrs, strict=True)])
    ) / (sum(sizes) - len(sizes))
    return math.sqrt(pooled_sample_var / sum(sizes))


def unweighted_mean_stderr(stderrs: Sequence[float]) -> float:
    """Stderr of the plain mean of k independent subtask means: sqrt(sum(se**2)) / k."""
    return math.sqrt(sum(stderr**2 for stderr in stderrs)) / len(stderrs)


def aggregate_subtask_metrics(
    metrics: Sequence[float], sizes: Sequence[int], weight_by_size: bool = True
) -> float:
    """A group's score from its subtasks' scores, weighted by their sizes (lm-eval's default) or not."""
    if not weight_by_size:
        sizes = [1] * len(sizes)
    if len(metrics) != len(sizes):
        raise ValueError(f"{len(metrics)} metrics for {len(sizes)} sizes")
    return sum([metric * size for metric, size in zip(metrics, sizes, strict=True)]) / sum(sizes)


def aggregate_group(
    values: Sequence[float],
    sizes: Sequence[int],
    stderrs: Sequence[float | None] | None = None,
    *,
    weight_by_size: bool = True,
) -> tuple[float, float | None]:
    """A group's ``(value, stderr)`` from its subtasks' values, sizes and stderrs, as lm-eval's ``Group``.

    The stderr is None when any subtask has none. Example::

        aggregate_group([0.5, 1.0], [10, 30], [0.1, 0.0])    # (0.875, pooled stderr)
    """
    value = aggregate_subtask_metrics(values, sizes, weight_by_size)
    if stderrs is None or len(stderrs) != len(values) or any(s is None for s in stderrs):
        return value, None
    if weight_by_size:
        return value, pooled_sample_stderr(stderrs, sizes)  # type: ignore[arg-type]
    return value, unweighted_mean_stderr(stderrs)  # type: ignore[arg-type]


def nanmean(arr: Sequence[float]) -> float:
    """Mean of the non-NaN values (NaN when there are none)."""
    kept = [x for x in arr if not (isinstance(x, float) and math.isnan(x))]
    return sum(kept) / len(kept) if kept else float("nan")


# name -> function over the list of per-example items
AGGREGATIONS: dict[str, Callable[[Sequence[Any]], float]] = {
    "mean": mean,
    "median": median,
    "nanmean": nanmean,
    "perplexity": perplexity,
    "weighted_perplexity": weighted_perplexity,
    "bits_per_byte": bits_per_byte,
    "error_rate": error_rate,
    "f1": choice.macro_f1,
    "f1_binary": choice.binary_f1,
    "matthews_corrcoef": choice.matthews_corrcoef,
    "bleu": text.corpus_bleu,
    "chrf": text.corpus_chrf,
    "chrf++": text.corpus_chrfpp,
    "ter": text.corpus_ter,
}

# lm-eval's `stderr_for_metric`: these get a bootstrap stderr, `mean` its closed form, the others none.
BOOTSTRAPPABLE = frozenset(
    {"median", "nanmean", "perplexity", "error_rate", "f1", "f1_binary", "matthews_corrcoef"} | CAPPED_METRICS
)
