"""Macro-averaged F1 over the labels (``average="binary"``: F1 of label 1, as lm-eval's f1).

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("f1")))
    metric.compute(predictions=[0, 1, 1, 2], references=[0, 0, 1, 2])  # {"f1": 0.777...}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class F1(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("f1")

    def _compute(self, predictions, references, average="macro"):
        return {"f1": registry.compute("f1", predictions, references, average=average)}
