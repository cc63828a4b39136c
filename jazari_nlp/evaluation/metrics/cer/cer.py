"""Character error rate: total character edits / total reference characters.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("cer")))
    metric.compute(predictions=["ktab"], references=["kitab"])  # {"cer": 0.2}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Cer(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("cer")

    def _compute(self, predictions, references):
        return {"cer": registry.compute("cer", predictions, references)}
