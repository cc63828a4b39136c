"""chrF and chrF++ (``word_order=2``), sacrebleu's corpus score, 0-100.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("chrf")))
    metric.compute(predictions=["ⴰⵣⵓⵍ"], references=[["ⴰⵣⵓⵍ"]])  # {"chrf": 100.0, ...}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Chrf(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("chrf")

    def _compute(
        self, predictions, references, char_order=6, word_order=0, beta=2, lowercase=False, whitespace=False
    ):
        options = dict(
            char_order=char_order,
            word_order=word_order,
            beta=beta,
            lowercase=lowercase,
            whitespace=whitespace,
        )
        value = registry.compute("chrf", predictions, references, **options)
        return {"chrf": value, "char_order": char_order, "word_order": word_order, "beta": beta}
