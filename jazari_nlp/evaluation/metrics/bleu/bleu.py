"""BLEU, sacrebleu's corpus score, 0-100.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("bleu")))
    metric.compute(predictions=["salam 3likom a sahbi"], references=["salam 3likom a sahbi"])
    # {"bleu": 100.0}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Bleu(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("bleu")

    def _compute(self, predictions, references, tokenize="13a", lowercase=False, smooth_method="exp"):
        options = dict(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method)
        return {"bleu": registry.compute("bleu", predictions, references, **options)}
