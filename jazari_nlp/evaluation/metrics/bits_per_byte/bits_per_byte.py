"""Bits per byte: -total log-likelihood / total UTF-8 bytes / ln 2; predictions are document log-likelihoods,
references the documents.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("bits_per_byte")))
    metric.compute(predictions=[-20.0], references=["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"])
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class BitsPerByte(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("bits_per_byte")

    def _compute(self, predictions, references):
        return {"bits_per_byte": registry.compute("bits_per_byte", predictions, references)}
