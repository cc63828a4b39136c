"""Exact match, with lm-eval's options (punctuation: every Unicode punctuation mark).

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("exact_match")))
    metric.compute(predictions=["Salam!"], references=["salam"], ignore_case=True, ignore_punctuation=True)
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class ExactMatch(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("exact_match")

    def _compute(
        self,
        predictions,
        references,
        regexes_to_ignore=None,
        ignore_case=False,
        ignore_punctuation=False,
        ignore_numbers=False,
    ):
        options = dict(
            regexes_to_ignore=regexes_to_ignore,
            ignore_case=ignore_case,
            ignore_punctuation=ignore_punctuation,
            ignore_numbers=ignore_numbers,
        )
        return {"exact_match": registry.compute("exact_match", predictions, references, **options)}
