"""Word error rate: total word edits / total reference words.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("wer")))
    metric.compute(predictions=["salam 3likom"], references=["salam 3alikom"])  # {"wer": 0.5}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Wer(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("wer")

    def _compute(self, predictions, references):
        return {"wer": registry.compute("wer", predictions, references)}
