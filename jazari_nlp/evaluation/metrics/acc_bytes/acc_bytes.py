"""Accuracy with log-likelihoods divided by the choices' UTF-8 bytes: predictions are each example's choice
log-likelihoods.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("acc_bytes")))
    metric.compute(predictions=[[-4.0, -6.0]], references=[1], choices=[["نعم", "ماشي"]])
    # {"acc_bytes": 0.0}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class AccBytes(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("acc_bytes")

    def _compute(self, predictions, references, choices=None):
        return {"acc_bytes": registry.compute("acc_bytes", predictions, references, choices=choices)}
