"""The GPU speed options of the train stage, exercised on CPU: torch.compile, the optimizer choice, and Liger's
fused kernels refused with a clear error (before any work) where they cannot run. Their speed on a GPU is
measured by scripts/bench_train.py --device cuda, not here."""

import json

import pytest
import torch
from test_stage_store import make_config

from jazari_nlp.config import ConfigError
from jazari_nlp.pipeline import run_experiment


def _train(tmp_path, name, sets):
    cfg = make_config(tmp_path, name=name, steps=3, extra="share_stages: true")
    return run_experiment(cfg, overrides=sets, progress=False)


def _args(run_dir):
    return json.loads((run_dir / "model" / "training_args.json").read_text())


def test_compile_trains_the_same_model_as_eager(tmp_path):
    eager = _train(tmp_path, "eager", ["train.optimizer=adamw_torch"])
    compiled = _train(tmp_path, "compiled", ["train.optimizer=adamw_torch", "train.compile=true"])
    assert _args(compiled.run_dir)["torch_compile"] is True and _args(eager.run_dir)["torch_compile"] is False
    a, b = eager.stages[-1].summary, compiled.stages[-1].summary
    assert a["steps"] == b["steps"] == 3
    # the same numbers up to the compiler's reordering of floating-point operations
    assert b["final_loss"] == pytest.approx(a["final_loss"], rel=1e-3)


def test_optimizer_reaches_the_trainer(tmp_path):
    run = _train(tmp_path, "ada", ["train.optimizer=adafactor"])
    assert _args(run.run_dir)["optim"] == "adafactor"
    assert _args(run.run_dir)["logging_nan_inf_filter"] is False  # no host read of the loss every step
    with pytest.raises(ConfigError, match="train.optimizer"):
        _train(tmp_path, "bad", ["train.optimizer=lion"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_fused_kernels_without_a_gpu_fail_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="fused_kernels: Liger's kernels are Triton kernels for CUDA GPUs"):
        _train(tmp_path, "liger", ["train.fused_kernels=true"])
    assert not (tmp_path / "runs" / "liger").exists() and not (tmp_path / "runs" / "_stages").exists()
