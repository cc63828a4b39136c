"""Per-document datatrove stats counted in Python locals and added to a step's ``Stats`` once per block of
documents: a stats update per document and key (``MetricStats.update``, ``TimingStats`` around each document)
cost more than many of the steps' own work. The stats files keep the same keys in the same order, and every
key the same total, n, min and max (mean and variance up to float rounding).

Example::

    tally = Tally(step.stats)
    tally.add("total"); tally.add("doc_len", 12, "doc")
    tally.flush()   # step.stats["total"].total == 1
"""

from __future__ import annotations

from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import Stats

# Documents counted in Python locals before their stats are added to a step's datatrove Stats (bounded memory).
BLOCK = 1024


class Tally:
    """A step's per-document stats, counted in locals and added to its datatrove ``Stats`` once per block
    (:meth:`flush`): the same keys in the same order (a key is created when first seen, as datatrove's own
    ``stat_update`` would), and for every key the same total, n, min and max; the mean and variance of a key
    with values other than 1 are merged per block by datatrove's ``MetricStats.__add__`` (float rounding only).

    Example: ``t = Tally(step.stats); t.add("total"); t.add("doc_len", 12, "doc"); t.flush()``.
    """

    __slots__ = ("stats", "ones", "values", "units")

    def __init__(self, stats: Stats):
        self.stats, self.ones, self.values, self.units = stats, {}, {}, {}

    def add(self, key: str, value=1, unit: str | None = None) -> None:
        """``stat_update(key, value=value, unit=unit)``, counted here until :meth:`flush`."""
        if value == 1 and unit is None and value.__class__ is int:
            n = self.ones.get(key)
            if n is None:
                self._seen(key)
                self.ones[key] = 1
            else:
                self.ones[key] = n + 1
            return
        values = self.values.get(key)
        if values is None:
            self._seen(key)
            values = self.values[key] = []
        values.append(value)
        if unit:
            self.units[key] = unit

    def _seen(self, key: str) -> None:
        self.stats[key]  # noqa: B018 - creates the key now, where datatrove's first update would have

    def flush(self) -> None:
        """Add what was counted to the stats; the tally starts again empty."""
        for key, n in self.ones.items():
            _add_ones(self.stats[key], n)
        for key, values in self.values.items():
            _add_values(self.stats[key], values, self.units.get(key))
        self.ones, self.values, self.units = {}, {}, {}


def _add_values(metric, values: list, unit: str | None = None) -> None:
    """``metric.update(x, unit)`` for every value, at once: the same total, n, min and max; the mean and the
    variance through datatrove's parallel merge (equal up to float rounding)."""
    from datatrove.utils.stats import MetricStats

    if not values:
        return
    n, total = len(values), sum(values)
    mean = total / n
    try:
        block = MetricStats(total=total, n=n, mean=mean, min=min(values), max=max(values),
                            _running_variance=sum((x - mean) * (x - mean) for x in values))
        merged = metric + block
        fields = (merged.total, merged.n, merged.mean, merged.min, merged.max, merged._running_variance)
    except (AttributeError, TypeError):  # another datatrove release: one update per value, as before
        for x in values:
            metric.update(x, unit)
        return
    metric.total, metric.n, metric.mean, metric.min, metric.max, metric._running_variance = fields
    if unit:
        metric.unit = unit


class Tallied:
    """Mixin for a datatrove step: while ``self._tally`` is set (inside its ``run``), every ``stat_update``
    (datatrove's own inside ``DiskWriter.write`` included) is counted there instead of one stats update each."""

    _tally: Tally | None = None

    def stat_update(self, *labels, value: int = 1, unit: str | None = None):
        tally = self._tally
        if tally is None:
            return PipelineStep.stat_update(self, *labels, value=value, unit=unit)
        for label in labels:
            tally.add(label, value, unit)


def _timed(stats: Stats, seconds: float, unit: str) -> None:
    """One time measurement (a block or a batch of documents): ``track_time(unit)`` around the work."""
    if seconds:
        stats.time_stats.update(seconds, unit)


def _add_ones(metric, n: int) -> None:
    """``metric.update(1)`` ``n`` times, at once: the same total, count, mean, min, max and variance (datatrove's
    parallel merge of two stats, exact here: every value is 1), so the task stats files stay as they were."""
    from datatrove.utils.stats import MetricStats

    try:  # datatrove's merge of two MetricStats (its private running variance included)
        merged = metric + MetricStats(total=n, n=n, mean=1.0, min=1, max=1)
        fields = (merged.total, merged.n, merged.mean, merged.min, merged.max, merged._running_variance)
    except (AttributeError, TypeError):  # another datatrove release: one update per document, as before
        for _ in range(n):
            metric.update(1)
        return
    metric.total, metric.n, metric.mean, metric.min, metric.max, metric._running_variance = fields
