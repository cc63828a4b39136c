"""ROUGE-1/2/L F-measures with a tokenizer that keeps Arabic, Tifinagh and Latin words.

An ``evaluate`` module shipped with jazari_nlp: load it by path, offline.

Example::

    import evaluate
    from jazari_nlp.evaluation.metrics import metric_path
    metric = evaluate.load(str(metric_path("rouge")))
    metric.compute(predictions=["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"], references=["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"])
    # {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
"""

import evaluate

from jazari_nlp.evaluation.metrics import registry


class Rouge(evaluate.Metric):
    def _info(self):
        return registry.evaluate_info("rouge")

    def _compute(self, predictions, references, rouge_types=("rouge1", "rouge2", "rougeL"), lowercase=True):
        return {t: registry.compute(t, predictions, references, lowercase=lowercase) for t in rouge_types}
