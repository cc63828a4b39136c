"""Task-level parity with lm-evaluation-harness (the "done when" of the harness): the same local model, rows and
shots through lm-eval's `simple_evaluate` and jazari's harness give per-example log-likelihoods within 1e-4,
identical accuracies, and identical greedy generations. lm-eval is a dev dependency (installed by .ci/run)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from bench_eval import run_both, write_tasks  # noqa: E402

from jazari_nlp.modeling.tiny import build_tiny_llama  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    model = build_tiny_llama(tmp / "model", max_position_embeddings=256, train_steps=60)
    return model, write_tasks(tmp / "tasks", items=30)


@pytest.mark.parametrize("shots", [0, 3])
def test_multiple_choice_matches_lm_eval(setup, shots):
    model, tasks = setup
    r = run_both(model, tasks["bench_mc"], shots, batch_size=16)
    assert r["jazari"]["n"] == r["lm_eval"]["n"] == 30
    assert r["max_abs_ll_diff"] is not None and r["max_abs_ll_diff"] <= 1e-4, r["max_abs_ll_diff"]
    for metric in ("acc", "acc_norm"):
        assert r["jazari"]["metrics"][metric] == r["lm_eval"]["metrics"][metric]


def test_generation_matches_lm_eval(setup):
    model, tasks = setup
    r = run_both(model, tasks["bench_gen"], 0, batch_size=16)
    assert r["identical_generations"] == r["jazari"]["n"] == r["lm_eval"]["n"] == 10
    assert r["jazari"]["metrics"]["chrf"] == pytest.approx(r["lm_eval"]["metrics"]["chrf"])
