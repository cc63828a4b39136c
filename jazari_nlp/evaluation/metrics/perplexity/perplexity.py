"""Perplexity of continuations: exp(-mean log-likelihood) (lm-eval's loglikelihood perplexity).

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("perplexity")))
    metric.compute(predictions=[-1.0, -3.0])  # {"perplexity": 7.389...}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Perplexity(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("perplexity")

    def _compute(self, predictions):
        return {"perplexity": registry.compute("perplexity", predictions)}
