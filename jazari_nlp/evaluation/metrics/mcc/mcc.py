"""Matthews correlation coefficient (multiclass).

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("mcc")))
    metric.compute(predictions=[0, 1, 1], references=[0, 1, 0])  # {"mcc": 0.5}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Mcc(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("mcc")

    def _compute(self, predictions, references):
        return {"mcc": registry.compute("mcc", predictions, references)}
