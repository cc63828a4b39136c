"""Token perplexity: exp(-total log-likelihood / total tokens); references are token counts.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("token_perplexity")))
    metric.compute(predictions=[-20.0, -10.0], references=[10, 5])  # {"token_perplexity": 7.389...}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class TokenPerplexity(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("token_perplexity")

    def _compute(self, predictions, references):
        return {"token_perplexity": registry.compute("token_perplexity", predictions, references)}
