"""`train.embeddings_only_steps`: continued pretraining that first moves only the embeddings, then everything."""

import pytest
from safetensors.torch import load_file
from test_stage_store import make_config

from jazari_nlp.pipeline import run_experiment


def _weights(run):
    return load_file(str(run.run_dir / "model" / "model.safetensors"))


def _continue(tmp_path, base_model, name, sets):
    cfg = tmp_path / f"{name}.yaml"
    data = tmp_path / "d.txt"
    cfg.write_text(f"""name: {name}
output_dir: runs
model: {{path: {base_model}}}
train: {{max_steps: 2, block_size: 32, per_device_batch_size: 8, learning_rate: 0.01, files: ["{data}"]}}
""", encoding="utf-8")
    return run_experiment(cfg, overrides=sets, progress=False)


def test_embeddings_first_then_everything(tmp_path):
    base = run_experiment(make_config(tmp_path, name="base", steps=2), progress=False)
    w0 = _weights(base)
    emb = {k for k in w0 if "embed_tokens" in k or "lm_head" in k}
    assert emb and len(emb) < len(w0)
    phased = _continue(tmp_path, base.run_dir / "model", "phased", ["train.embeddings_only_steps=1"])
    w_phased = _weights(phased)
    assert all(not (w_phased[k] == w0[k]).all() for k in emb)
    # after the first step everything trains: every layer weight moved
    assert all(not (w_phased[k] == w0[k]).all() for k in w0 if k not in emb)
    plain = _weights(_continue(tmp_path, base.run_dir / "model", "plain", []))
    # the first step moved only the embeddings: another end point than training everything from the start
    assert any(not (plain[k] == w_phased[k]).all() for k in w0 if k not in emb)


def test_embeddings_only_for_one_step_keeps_every_other_weight(tmp_path, monkeypatch):
    """At the first optimizer step only the embeddings' gradients are left for the optimizer."""
    from jazari_nlp.training import lm

    base = run_experiment(make_config(tmp_path, name="base", steps=2), progress=False)
    w0 = _weights(base)
    seen = {}
    real = lm.embeddings_first

    def spy(model, steps):
        cb = real(model, steps)
        orig = cb.on_pre_optimizer_step

        def on_pre(args, state, control, **kw):
            orig(args, state, control, **kw)
            if state.global_step == 0:  # the first update: only embedding gradients are left
                seen["with_grad"] = sorted(n for n, p in model.named_parameters() if p.grad is not None)
        cb.on_pre_optimizer_step = on_pre
        return cb

    monkeypatch.setattr(lm, "embeddings_first", spy)
    _continue(tmp_path, base.run_dir / "model", "spy", ["train.embeddings_only_steps=1"])
    assert seen["with_grad"] and all("embed_tokens" in n or "lm_head" in n for n in seen["with_grad"])
    assert len(seen["with_grad"]) < len(w0)


def test_bad_combinations_are_config_errors():
    from pydantic import ValidationError

    from jazari_nlp.training.config import TrainConfig

    for kw, msg in (({"embeddings_only_steps": 5, "max_steps": 5}, "must be below"),
                    ({"embeddings_only_steps": 1, "lora": {}}, "train.lora")):
        with pytest.raises(ValidationError, match=msg):
            TrainConfig(**kw)
