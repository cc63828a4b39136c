"""Training with several processes: `torchrun` with 2 CPU processes (gloo) ends on the losses and weights of one
process seeing the same global batch; the shipped accelerate configs load; the module entry points run.

Why equality is possible: the Trainer shards each global batch of the seeded sampler across the ranks (rank r
takes the r-th per-device slice) and averages the loss over the tokens of all ranks, so 2 x 2 blocks per step
are the 4 blocks one process gets with batch 4. What differs is only the float32 summation order (the gradient
all-reduce adds two half-batch sums): about 1e-7 relative per step. Adam's update is about lr (1e-3) per weight
and step, so after 6 steps weights agree far better than one update (atol 5e-5 is 5% of one step); the
losses to 1e-4, and the first loss (same weights, same blocks, before any update) to 1e-6 relative.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = ROOT / "configs" / "accelerate"
STEPS = 6

# Original text written for this test: a small grammar, sentences drawn with a fixed seed.
SUBJECTS = ["the miller", "a young weaver", "my neighbour", "the old potter", "a quiet farmer", "the baker"]
VERBS = ["carries", "paints", "mends", "counts", "sells", "finds"]
OBJECTS = ["blue baskets", "warm bread", "copper pots", "olive jars", "woollen rugs", "fresh figs"]
PLACES = ["near the river", "at the market", "before sunrise", "in the hills", "under the arch", "by the well"]


def _experiment(tmp_path: Path) -> Path:
    import random

    rng = random.Random(7)
    lines = [" ".join(rng.choice(words) for words in (SUBJECTS, VERBS, OBJECTS, PLACES)) + "." for _ in range(400)]
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = {
        "name": "one", "seed": 0, "output_dir": "runs",
        "tokenizer": {"kind": "byte_bpe", "vocab_size": 300, "files": ["train.txt"]},
        "model": {"architecture": "llama", "hidden_size": 32, "num_layers": 2, "num_heads": 2,
                  "intermediate_size": 64, "max_position_embeddings": 64},
        "train": {"files": ["train.txt"], "max_steps": STEPS, "per_device_batch_size": 4, "block_size": 32,
                  "learning_rate": 1.0e-3, "lr_scheduler": "constant", "logging_steps": 1, "save_steps": 1000},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env[k] = "1"
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", TOKENIZERS_PARALLELISM="false")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):  # a clean launch either way
        env.pop(k, None)
    return env


def _run(cmd: list[str], cwd: Path, timeout: int = 240) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"


def _result(run_dir: Path) -> tuple[dict, list[float], dict]:
    from safetensors.torch import load_file

    summary = json.loads((run_dir / "summary.json").read_text())
    train = next(s for s in summary["stages"] if s["stage"] == "train")
    assert train["status"] == "ran"
    history = json.loads((run_dir / "model" / "train_log.json").read_text())
    losses = [h["loss"] for h in history if "loss" in h]
    return train["summary"], losses, load_file(str(run_dir / "model" / "model.safetensors"))


@pytest.mark.slow
def test_two_cpu_processes_train_like_one(tmp_path):
    pytest.importorskip("torch")
    exp = _experiment(tmp_path)
    jazari = [sys.executable, "-m", "jazari_nlp", "run", str(exp), "-q"]
    _run([*jazari, "--set", "name=one", "--set", "train.per_device_batch_size=4"], tmp_path)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    _run([*launcher, "-m", "jazari_nlp.cli", "run", str(exp), "-q", "--set", "name=two",
          "--set", "train.per_device_batch_size=2"], tmp_path)

    one, losses_one, weights_one = _result(tmp_path / "runs" / "one")
    two, losses_two, weights_two = _result(tmp_path / "runs" / "two")
    assert one["steps"] == two["steps"] == STEPS
    # tokens per step = per-device batch x world size x block: 4 x 1 x 32 and 2 x 2 x 32 (a run that fell back to
    # one process would count 2 x 1 x 32 per step)
    assert one["tokens_seen"] == two["tokens_seen"] == STEPS * 4 * 32
    assert one["train_blocks"] == two["train_blocks"]  # rank 0 packed, rank 1 read the same cached blocks
    assert len(losses_one) == len(losses_two) == STEPS
    assert losses_two[0] == pytest.approx(losses_one[0], rel=1e-6)
    assert losses_two == pytest.approx(losses_one, abs=1e-4)
    assert losses_one[0] - losses_one[-1] > 0.05  # it trained: the comparison is not of untouched weights
    assert weights_one.keys() == weights_two.keys()
    worst = max(float((weights_one[k] - weights_two[k]).abs().max()) for k in weights_one)
    assert worst < 5e-5, f"weights differ by up to {worst:.3g}"


def test_accelerate_configs_load():
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.utils import DistributedType

    names = sorted(p.name for p in ACCELERATE.glob("*.yaml"))
    assert names == ["ddp.yaml", "deepspeed_zero2.yaml", "deepspeed_zero3.yaml", "fsdp.yaml"]
    configs = {}
    for name in names:
        raw = yaml.safe_load((ACCELERATE / name).read_text())
        assert raw["num_machines"] == 1 and raw["num_processes"] >= 2
        cfg = load_config_from_file(str(ACCELERATE / name))  # accelerate's own parser: unknown keys are errors
        assert isinstance(cfg, ClusterConfig)
        configs[name] = cfg
    assert configs["ddp.yaml"].distributed_type == DistributedType.MULTI_GPU
    fsdp = configs["fsdp.yaml"]
    assert fsdp.distributed_type == DistributedType.FSDP and fsdp.mixed_precision == "bf16"
    assert fsdp.fsdp_config["fsdp_reshard_after_forward"] is True  # full shard
    assert fsdp.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fsdp.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    from transformers.models.llama import modeling_llama

    assert hasattr(modeling_llama, fsdp.fsdp_config["fsdp_transformer_layer_cls_to_wrap"])
    for name, stage in (("deepspeed_zero2.yaml", 2), ("deepspeed_zero3.yaml", 3)):
        cfg = configs[name]
        assert cfg.distributed_type == DistributedType.DEEPSPEED
        ds = json.loads((ROOT / cfg.deepspeed_config["deepspeed_config_file"]).read_text())
        assert ds["zero_optimization"]["stage"] == stage
        # "auto": the Trainer fills batch sizes, accumulation, clipping and precision from train.*
        assert ds["train_micro_batch_size_per_gpu"] == ds["gradient_accumulation_steps"] == "auto"
    assert json.loads((ACCELERATE / "ds_zero3.json").read_text())["zero_optimization"][
        "stage3_gather_16bit_weights_on_model_save"] is True


@pytest.mark.parametrize("module", ["jazari_nlp", "jazari_nlp.cli"])
def test_module_entry_points(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, env=_env(),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and " run " in done.stdout
