"""Accuracy: predictions are each example's choice log-likelihoods (or predicted labels, without choices).

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("acc")))
    metric.compute(predictions=[[-4.0, -6.0]], references=[1], choices=[["نعم", "ماشي"]])  # {"acc": 0.0}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Acc(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("acc")

    def _compute(self, predictions, references, choices=None):
        return {"acc": registry.compute("acc", predictions, references, choices=choices)}
