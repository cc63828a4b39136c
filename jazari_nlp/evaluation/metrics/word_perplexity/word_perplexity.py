"""Word perplexity: exp(-total log-likelihood / total words); predictions are document log-likelihoods,
references the documents.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("word_perplexity")))
    metric.compute(predictions=[-20.0], references=["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"])
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class WordPerplexity(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("word_perplexity")

    def _compute(self, predictions, references):
        return {"word_perplexity": registry.compute("word_perplexity", predictions, references)}
