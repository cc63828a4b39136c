"""Translation edit rate, sacrebleu's corpus score (lower is better).

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("ter")))
    metric.compute(predictions=["salam"], references=["salam"])  # {"ter": 0.0}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Ter(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("ter")

    def _compute(self, predictions, references, normalized=False, no_punct=False, case_sensitive=False):
        options = dict(normalized=normalized, no_punct=no_punct, case_sensitive=case_sensitive)
        return {"ter": registry.compute("ter", predictions, references, **options)}
