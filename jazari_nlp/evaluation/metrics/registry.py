"""The metric registry: lm-eval's metric names, their aggregations, and one ``compute`` / ``aggregate`` for
all.

Example::

    compute("chrf", ["ⴰⵣⵓⵍ"], ["ⴰⵣⵓⵍ"])                 # 100.0
    aggregate("acc", [1.0, 0.0, 1.0, 1.0])                # (0.75, 0.25)
    load_metric("rouge").compute(predictions=[...], references=[...])   # the shipped evaluate module
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.evaluation.metrics import aggregation as agg
from jazari_nlp.evaluation.metrics import choice, rolling, text

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class MetricSpec:
    """One metric: where it applies, which way is better, how per-example items aggregate, its evaluate
    module.

    ``inputs`` says what ``compute`` takes: ``text`` (generated strings and references), ``labels`` (predicted
    and gold labels), ``choice`` (per-example choice log-likelihoods with ``choices=``, or labels for acc),
    ``loglikelihood`` (continuation log-likelihoods), ``rolling`` (document log-likelihoods and texts; token
    counts for token_perplexity)."""

    name: str
    output_types: tuple[str, ...]
    higher_is_better: bool
    aggregation: str
    inputs: str
    module: str
    description: str


_MC = ("multiple_choice",)
_LL = ("multiple_choice", "loglikelihood")
_CLS = ("multiple_choice", "generate_until")
_GEN = ("generate_until",)
_ROLL = ("loglikelihood_rolling",)

# fmt: off
_TABLE = [
    # name, output types, higher is better, aggregation, inputs, evaluate module, description
    ("acc", _LL, True, "mean", "choice", "acc", "accuracy: the highest-likelihood choice is the gold one"),
    ("acc_norm", _MC, True, "mean", "choice", "acc_norm",
     "accuracy with each choice's log-likelihood divided by its length in characters (lm-eval)"),
    ("acc_bytes", _MC, True, "mean", "choice", "acc_bytes",
     "accuracy with each choice's log-likelihood divided by its length in UTF-8 bytes"),
    ("f1", _CLS, True, "f1", "labels", "f1", "macro-averaged F1 over the labels (classification)"),
    ("mcc", _CLS, True, "matthews_corrcoef", "labels", "mcc", "Matthews correlation (multiclass)"),
    ("exact_match", ("generate_until", "multiple_choice"), True, "mean", "text", "exact_match",
     "1 when the generation equals the reference (options: ignore_case, ignore_punctuation, ignore_numbers, "
     "regexes_to_ignore)"),
    ("chrf", _GEN, True, "chrf", "text", "chrf", "sacrebleu corpus chrF (character 6-grams, beta 2)"),
    ("chrf++", _GEN, True, "chrf++", "text", "chrf", "sacrebleu corpus chrF++ (chrF + word bigrams)"),
    ("bleu", _GEN, True, "bleu", "text", "bleu", "sacrebleu corpus BLEU"),
    ("ter", _GEN, False, "ter", "text", "ter", "sacrebleu corpus translation edit rate"),
    ("rouge1", _GEN, True, "mean", "text", "rouge", "ROUGE-1 F-measure, Unicode words"),
    ("rouge2", _GEN, True, "mean", "text", "rouge", "ROUGE-2 F-measure, Unicode words"),
    ("rougeL", _GEN, True, "mean", "text", "rouge", "ROUGE-L F-measure, Unicode words"),
    ("cer", _GEN, False, "error_rate", "text", "cer", "character error rate (corpus edits / characters)"),
    ("wer", _GEN, False, "error_rate", "text", "wer", "word error rate (corpus edits / words)"),
    ("perplexity", ("loglikelihood",), False, "perplexity", "loglikelihood", "perplexity",
     "exp(-mean log-likelihood of the continuations)"),
    ("word_perplexity", _ROLL, False, "weighted_perplexity", "rolling", "word_perplexity",
     "exp(-total log-likelihood / total words)"),
    ("byte_perplexity", _ROLL, False, "weighted_perplexity", "rolling", "byte_perplexity",
     "exp(-total log-likelihood / total UTF-8 bytes)"),
    ("bits_per_byte", _ROLL, False, "bits_per_byte", "rolling", "bits_per_byte",
     "-total log-likelihood / total UTF-8 bytes / ln 2"),
    ("token_perplexity", _ROLL, False, "weighted_perplexity", "rolling", "token_perplexity",
     "exp(-total log-likelihood / total tokens): depends on the tokenizer"),
]
# fmt: on

METRICS: dict[str, MetricSpec] = {row[0]: MetricSpec(*row) for row in _TABLE}

# the aggregations of the sacrebleu metrics take sacrebleu options; the others take the per-example options
_CORPUS_AGGREGATIONS = frozenset({"bleu", "chrf", "chrf++", "ter"})


def get_metric(name: str) -> MetricSpec:
    """The metric called ``name``; an InputError with a did-you-mean and the valid names otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        near = difflib.get_close_matches(name, list(METRICS), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else "."
        raise InputError(f"unknown metric {name!r}{hint} Valid metrics: {', '.join(METRICS)}") from None


# the options each metric takes (from a task's metric_list entry or a compute call)
_SACREBLEU_OPTIONS = {
    "bleu": {
        "lowercase",
        "force",
        "tokenize",
        "smooth_method",
        "smooth_value",
        "max_ngram_order",
        "effective_order",
    },
    "chrf": {"char_order", "word_order", "beta", "lowercase", "whitespace", "eps_smoothing"},
    "ter": {"normalized", "no_punct", "asian_support", "case_sensitive"},
}
OPTIONS: dict[str, frozenset[str]] = {
    "exact_match": frozenset({"regexes_to_ignore", "ignore_case", "ignore_punctuation", "ignore_numbers"}),
    "rouge1": frozenset({"lowercase"}),
    "rouge2": frozenset({"lowercase"}),
    "rougeL": frozenset({"lowercase"}),
    "bleu": frozenset(_SACREBLEU_OPTIONS["bleu"]),
    "chrf": frozenset(_SACREBLEU_OPTIONS["chrf"]),
    "chrf++": frozenset(_SACREBLEU_OPTIONS["chrf"]),
    "ter": frozenset(_SACREBLEU_OPTIONS["ter"]),
    "f1": frozenset({"average"}),
    "acc": frozenset({"choices"}),
    "acc_norm": frozenset({"choices"}),
    "acc_bytes": frozenset({"choices"}),
}


def check_options(name: str, options: dict[str, Any]) -> None:
    """An InputError naming the metric, the unknown option(s) and the valid ones."""
    valid = OPTIONS.get(get_metric(name).name, frozenset())
    bad = sorted(set(options) - valid)
    if bad:
        near = difflib.get_close_matches(bad[0], sorted(valid), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else "."
        valid_text = ", ".join(sorted(valid)) if valid else "none"
        raise InputError(
            f"metric {name!r}: unknown option(s) {', '.join(map(repr, bad))}{hint} Valid: {valid_text}"
        )


def score(name: str, prediction: str, reference: Any, **options: Any) -> Any:
    """One generation's item for metric ``name`` (what ``aggregate`` takes): a float for exact_match and
    ROUGE, ``(reference, prediction)`` for BLEU/chrF/TER, ``(edits, length)`` for CER/WER.

    Example: ``score("cer", "ktab", "kitab") == (1, 5)``."""
    spec = get_metric(name)
    if spec.inputs != "text":
        raise InputError(f"metric {name!r} does not score generations; its inputs are {spec.inputs}")
    if not isinstance(prediction, str):
        raise ValueError(f"metric {name!r}: a prediction must be a string, got {prediction!r}")
    if name == "exact_match":
        return text.exact_match(prediction, reference, **options)
    if name in text.ROUGE_TYPES:
        return text.rouge_score_one(name, prediction, reference, **options)
    if name == "cer":
        return text.cer_item(prediction, reference)
    if name == "wer":
        return text.wer_item(prediction, reference)
    return (reference, prediction)


def example_value(name: str, item: Any, **options: Any) -> float:
    """A single example's value of metric ``name`` from its item, for a samples file (sentence BLEU/chrF/TER
    with the sacrebleu ``options``, that example's CER, 1.0/0.0 for a label, exp(-ll/count) for a
    perplexity)."""
    spec = get_metric(name)
    if spec.aggregation in _CORPUS_AGGREGATIONS:
        reference, prediction = item
        return text.sentence_score(spec.aggregation, prediction, reference, **options)
    if spec.aggregation in ("f1", "matthews_corrcoef"):
        gold, pred = item
        return 1.0 if (pred in gold if isinstance(gold, list) else pred == gold) else 0.0
    return float(agg.AGGREGATIONS[spec.aggregation]([item]))


def _choice_items(
    name: str, predictions: Sequence[Any], references: Sequence[Any], choices: Any
) -> list[float]:
    if choices is None:
        raise InputError(
            f"metric {name!r} needs choices=[[...], ...] with the choice strings of each example"
        )
    if len(choices) != len(predictions):
        raise ValueError(f"{len(choices)} choice lists for {len(predictions)} predictions")
    return [
        choice.score_multiple_choice(p, c, r)[name]
        for p, c, r in zip(predictions, choices, references, strict=True)
    ]


def _check_lengths(name: str, predictions: Sequence[Any], references: Sequence[Any] | None) -> None:
    if not len(predictions):
        raise ValueError(f"metric {name!r}: no predictions to score")
    if references is not None and len(references) != len(predictions):
        raise ValueError(f"metric {name!r}: {len(predictions)} predictions for {len(references)} references")


def items_for(
    name: str, predictions: Sequence[Any], references: Sequence[Any] | None = None, **options: Any
) -> list[Any]:
    """The per-example items of ``compute``'s inputs (see :class:`MetricSpec` ``inputs``)."""
    spec = get_metric(name)
    _check_lengths(name, predictions, references)
    if spec.inputs == "loglikelihood":
        return [float(p) for p in predictions]
    if references is None:
        raise InputError(f"metric {name!r} needs references")
    if spec.inputs == "text":
        return [score(name, p, r, **options) for p, r in zip(predictions, references, strict=True)]
    if spec.inputs == "labels":
        return list(zip(references, predictions, strict=True))
    if spec.inputs == "choice":
        if name == "acc" and options.get("choices") is None:
            return [
                float(p in r if isinstance(r, (list, tuple)) else p == r)
                for p, r in zip(predictions, references, strict=True)
            ]
        return _choice_items(name, predictions, references, options.get("choices"))
    if name == "token_perplexity":
        return [(float(p), int(n)) for p, n in zip(predictions, references, strict=True)]
    return [rolling.score_rolling(p, t)[name] for p, t in zip(predictions, references, strict=True)]


def compute(
    name: str, predictions: Sequence[Any], references: Sequence[Any] | None = None, **kw: Any
) -> float:
    """The corpus value of metric ``name`` (no stderr; see :func:`aggregate`).

    Inputs by metric: generations and references (a string or a list of strings each) for exact_match,
    chrf, chrf++, bleu, ter, rouge1/2/L, cer, wer; labels for f1, mcc, acc; per-example choice
    log-likelihoods and ``choices=`` for acc, acc_norm, acc_bytes; continuation log-likelihoods for
    perplexity; document log-likelihoods and the documents' texts for word_perplexity, byte_perplexity,
    bits_per_byte (token counts for token_perplexity). Options: exact_match's ``ignore_case``,
    ``ignore_punctuation``, ``ignore_numbers``, ``regexes_to_ignore``; ROUGE's ``lowercase``; sacrebleu's
    (``tokenize``, ``word_order``, ...) for bleu/chrf/ter; ``average="binary"`` for lm-eval's binary f1.

    Example: ``compute("wer", ["salam 3likom"], ["salam 3alikom"]) == 0.5``."""
    spec = get_metric(name)
    check_options(name, kw)
    aggregation = spec.aggregation
    if aggregation in _CORPUS_AGGREGATIONS:
        return agg.AGGREGATIONS[aggregation](items_for(name, predictions, references), **kw)
    if name == "f1" and kw.pop("average", "macro") == "binary":
        aggregation = "f1_binary"
    return agg.AGGREGATIONS[aggregation](items_for(name, predictions, references, **kw))


def score_generation(
    name: str,
    predictions: Sequence[str],
    references: Sequence[Any],
    *,
    bootstrap_iters: int | None = None,
    seed: int = 0,
    **options: Any,
) -> tuple[float, float | None, list[float]]:
    """A generation task's ``(value, stderr, per-example values)`` for metric ``name``: the corpus value and
    stderr of :func:`aggregate`, and each example's own value (:func:`example_value`) for the samples file.
    ``options`` are the metric's (a task's metric_list entry: ``ignore_case``, ``tokenize``,
    ``word_order``...).

    Example: ``score_generation("cer", ["ktab"], [["kitab"]]) == (0.2, None, [0.2])``."""
    spec = get_metric(name)
    check_options(name, options)
    aggregation = "f1_binary" if name == "f1" and options.pop("average", "macro") == "binary" else None
    corpus = spec.aggregation in _CORPUS_AGGREGATIONS
    items = items_for(name, predictions, references, **({} if corpus else options))
    value, stderr = aggregate(
        name,
        items,
        bootstrap_iters=bootstrap_iters,
        seed=seed,
        aggregation=aggregation,
        **(options if corpus else {}),
    )
    per_example = [example_value(name, item, **(options if corpus else {})) for item in items]
    return value, stderr, per_example


def aggregation_name(name: str) -> str:
    """The aggregation of a metric (``acc`` -> ``mean``), or ``name`` itself when it is an aggregation."""
    if name in METRICS:
        return METRICS[name].aggregation
    if name in agg.AGGREGATIONS:
        return name
    known = list(METRICS) + [a for a in agg.AGGREGATIONS if a not in METRICS]
    near = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else "."
    raise InputError(f"unknown metric or aggregation {name!r}{hint} Valid: {', '.join(known)}")


def aggregate(
    name: str,
    values: Sequence[Any],
    *,
    bootstrap_iters: int | None = None,
    seed: int = 0,
    aggregation: str | None = None,
    **kw: Any,
) -> tuple[float, float | None]:
    """``(value, stderr)`` of per-example items, as lm-eval reports them: ``mean`` with its closed-form
    stderr, bootstrap stderrs (seeded) for corpus metrics (BLEU/chrF/TER: at most 100 draws, as lm-eval; f1,
    mcc, cer, wer, perplexity: ``bootstrap_iters``, 1000 when not given), no stderr for weighted perplexities,
    bits per byte, a single item or ``bootstrap_iters <= 0``.

    ``name`` is a metric (its aggregation is used) or an aggregation name; ``aggregation=`` overrides it (a
    task's ``metric_list`` entry); ``kw`` go to the aggregation (sacrebleu options).

    Example: ``aggregate("acc", [1, 0, 1, 1]) == (0.75, 0.25)``."""
    agg_name = aggregation_name(aggregation or name)
    if not len(values):
        raise ValueError(f"metric {name!r}: no values to aggregate")
    fn = agg.AGGREGATIONS[agg_name]
    if kw:
        fn = partial(fn, **kw)
    values = list(values)
    value = fn(values)
    iters = agg.DEFAULT_BOOTSTRAP_ITERS if bootstrap_iters is None else bootstrap_iters
    if name in agg.CAPPED_METRICS or agg_name in agg.CAPPED_METRICS:
        iters = min(iters, agg.CAPPED_BOOTSTRAP_ITERS)
    elif bootstrap_iters is None:
        iters = agg.DEFAULT_OTHER_BOOTSTRAP_ITERS
    if iters <= 0 or len(values) <= 1:
        return value, None
    if agg_name == "mean":
        return value, agg.mean_stderr(values)
    if agg_name in agg.BOOTSTRAPPABLE:
        return value, agg.bootstrap_stderr(fn, values, iters, seed=seed)
    return value, None


# --- evaluate modules --------------------------------------------------------------------------------------


def metric_path(name: str) -> Path:
    """The folder of the ``evaluate`` module shipped for metric ``name`` (chrf++ -> chrf, rougeL -> rouge) or
    of the module called ``name`` (``rouge``).

    Example: ``evaluate.load(str(metric_path("chrf")))`` works offline (never ``evaluate.load("chrf")``, which
    goes to the Hub)."""
    modules = {m.module for m in METRICS.values()}
    path = HERE / (name if name in modules and name not in METRICS else get_metric(name).module)
    if not (path / f"{path.name}.py").is_file():
        raise InputError(f"the evaluate module of metric {name!r} is missing: {path}; reinstall jazari_nlp")
    return path


def load_metric(name: str, **kwargs: Any) -> Any:
    """``evaluate.load`` on the module shipped with the package (offline; ``kwargs`` go to evaluate.load)."""
    import evaluate

    return evaluate.load(str(metric_path(name)), **kwargs)


def evaluate_info(module: str, citation: str = "", homepage: str = "") -> Any:
    """The ``evaluate.MetricInfo`` of a shipped module (its features follow the metrics' inputs)."""
    import datasets
    import evaluate

    specs = [m for m in METRICS.values() if m.module == module]
    if not specs:
        raise InputError(f"no metric uses the evaluate module {module!r}")
    inputs = specs[0].inputs
    string, floats = datasets.Value("string"), datasets.Value("float64")
    if inputs == "text":
        features: Any = [
            datasets.Features({"predictions": string, "references": datasets.Sequence(string)}),
            datasets.Features({"predictions": string, "references": string}),
        ]
    elif inputs == "labels":
        features = [
            datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
            datasets.Features({"predictions": string, "references": string}),
        ]
    elif inputs == "choice":
        features = [
            datasets.Features(
                {"predictions": datasets.Sequence(floats), "references": datasets.Value("int64")}
            ),
            datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        ]
    elif inputs == "loglikelihood":
        features = datasets.Features({"predictions": floats})
    elif module == "token_perplexity":
        features = datasets.Features({"predictions": floats, "references": datasets.Value("int64")})
    else:
        features = datasets.Features({"predictions": floats, "references": string})
    description = "; ".join(f"{m.name}: {m.description}" for m in specs)
    return evaluate.MetricInfo(
        description=description,
        citation=citation,
        homepage=homepage,
        inputs_description=compute.__doc__ or "",
        features=features,
    )
