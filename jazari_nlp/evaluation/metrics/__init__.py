"""Evaluation metrics, shipped with the package and computed offline, right on Arabic script and Tifinagh.

Names follow lm-evaluation-harness (``acc``, ``acc_norm``, ``acc_bytes``, ``f1``, ``mcc``, ``exact_match``,
``chrf``, ``chrf++``, ``bleu``, ``ter``, ``perplexity``, ``word_perplexity``, ``byte_perplexity``,
``bits_per_byte``) plus ``rouge1``/``rouge2``/``rougeL``, ``cer``, ``wer`` and ``token_perplexity``. How the
harness uses them, per output type:

- ``multiple_choice``: ``score_multiple_choice(lls, choices, gold, is_greedy)`` gives each example's items;
- ``generate_until``: ``score(name, generation, reference, **options)`` gives one metric's item, or
  ``score_generation(name, generations, references, **options) -> (value, stderr, per-example values)``;
- ``loglikelihood_rolling``: ``score_rolling(ll, text, tokens=None)``;
- then ``aggregate(name, items, bootstrap_iters=...) -> (value, stderr)`` per metric, ``example_value(name,
  item)`` for the samples file, and ``aggregate_group(values, sizes, stderrs)`` for a group of tasks.

``compute(name, predictions, references, **options)`` does it all at once. Each metric is also an ``evaluate``
module in this folder, for use in your own code (offline; ``evaluate.load("chrf")`` by name would go to the
Hub)::

    from jazari_nlp.evaluation.metrics import compute, load_metric
    compute("chrf", ["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"], ["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"])            # 100.0
    load_metric("rouge").compute(predictions=["سلام"], references=["سلام"])   # {'rouge1': 1.0, ...}

Nothing heavy is imported here: sacrebleu, rouge_score and evaluate load when a metric needs them.
"""

from jazari_nlp.evaluation.metrics.aggregation import (
    AGGREGATIONS,
    aggregate_group,
    aggregate_subtask_metrics,
    bits_per_byte,
    bootstrap_stderr,
    mean,
    mean_stderr,
    pooled_sample_stderr,
    sample_stddev,
    weighted_perplexity,
)
from jazari_nlp.evaluation.metrics.choice import macro_f1, matthews_corrcoef, score_multiple_choice
from jazari_nlp.evaluation.metrics.registry import (
    METRICS,
    MetricSpec,
    aggregate,
    aggregation_name,
    compute,
    example_value,
    get_metric,
    items_for,
    load_metric,
    metric_path,
    score,
    score_generation,
)
from jazari_nlp.evaluation.metrics.rolling import count_bytes, count_words, score_rolling
from jazari_nlp.evaluation.metrics.text import edit_distance, rouge_tokenize, rouge_tokenizer

__all__ = [
    "AGGREGATIONS",
    "METRICS",
    "MetricSpec",
    "aggregate",
    "aggregate_group",
    "aggregate_subtask_metrics",
    "aggregation_name",
    "bits_per_byte",
    "bootstrap_stderr",
    "compute",
    "count_bytes",
    "count_words",
    "edit_distance",
    "example_value",
    "get_metric",
    "items_for",
    "load_metric",
    "macro_f1",
    "matthews_corrcoef",
    "mean",
    "mean_stderr",
    "metric_path",
    "pooled_sample_stderr",
    "rouge_tokenize",
    "rouge_tokenizer",
    "sample_stddev",
    "score",
    "score_generation",
    "score_multiple_choice",
    "score_rolling",
    "weighted_perplexity",
]
