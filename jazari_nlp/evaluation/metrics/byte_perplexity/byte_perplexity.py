"""Byte perplexity: exp(-total log-likelihood / total UTF-8 bytes); predictions are document log-likelihoods,
references the documents.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("byte_perplexity")))
    metric.compute(predictions=[-20.0], references=["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"])
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class BytePerplexity(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("byte_perplexity")

    def _compute(self, predictions, references):
        return {"byte_perplexity": registry.compute("byte_perplexity", predictions, references)}
