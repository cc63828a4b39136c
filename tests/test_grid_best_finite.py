"""A grid's best run is never a diverged one: a NaN (or infinite) metric is left out of the choice, whatever the
order of the runs."""

from __future__ import annotations

import math

from jazari_nlp.sweep import GridRun, _best


def _run(name, bpb):
    return GridRun(name=name, point={}, metrics={"eval.bits_per_byte": bpb})


def test_nan_first_or_last_is_never_best():
    cols = ["eval.bits_per_byte"]
    for runs in ([_run("diverged", math.nan), _run("good", 5.467)], [_run("good", 5.467), _run("diverged", math.nan)],
                 [_run("inf", math.inf), _run("good", 5.467), _run("worse", 6.0)]):
        assert _best(runs, cols) == ("eval.bits_per_byte", "good", 5.467)


def test_only_diverged_runs_give_no_best_for_that_metric():
    assert _best([_run("a", math.nan), _run("b", math.nan)], ["eval.bits_per_byte"]) is None
