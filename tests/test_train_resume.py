"""A training run killed with SIGKILL and resumed with the same command ends on the same weights and the same
loss curve as a run that was never interrupted (issue 10, item 4).

The killed run is a real process: ``python -m jazari_nlp run`` started from a small script that parks the
Trainer at a chosen point (after a checkpoint, or in the middle of writing one) so that the kill lands there
on every run; the parent then sends SIGKILL. The resume is the plain CLI command. Dropout is on and the
scheduler has warmup, so equal weights need the data order, the RNG state, the optimizer and the scheduler all
restored.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jazari_nlp.training.reporting import read_log

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
WORDS = ("azul fellawen mani tellid labas 3lik chno akhbar lyoum ghadi nqra lktab f dar ⵜⴰⴷⴷⴰⵔⵜ ⴰⵎⵟⵟⴰⵍ ⵉⵖⵔⵎ "
         "مزيان بزاف الدار الكتاب salut la famille").split()
STEPS, SAVE = 12, 4

# Run in the killed process: park the Trainer at the point named by argv[2] ("after:6": the 7th training step
# is about to start, checkpoint-4 is complete; "saving:8": checkpoint-8 has its weights but no optimizer, RNG
# or trainer state yet), write argv[3] to tell the parent, and wait for SIGKILL there.
PARK = r"""
import sys, time
from pathlib import Path
from transformers import Trainer

where, step = sys.argv[2].split(":")
step, flag = int(step), Path(sys.argv[3])

def park():
    flag.write_text(str(step))
    time.sleep(600)

if where == "after":
    original = Trainer.training_step
    def training_step(self, *args, **kwargs):
        if self.state.global_step == step:
            park()
        return original(self, *args, **kwargs)
    Trainer.training_step = training_step
else:
    original = Trainer._save_optimizer_and_scheduler
    def save(self, output_dir):
        if self.state.global_step == step:
            park()
        return original(self, output_dir)
    Trainer._save_optimizer_and_scheduler = save

from jazari_nlp.cli import main
sys.argv = ["jazari", "run", sys.argv[1], "-q"]
main()
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("data") / "train.txt"
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) for _ in range(300)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_config(folder: Path, data: Path, name: str) -> Path:
    cfg = folder / f"{name}.yaml"
    cfg.write_text(
        f"""name: {name}
seed: 3
output_dir: runs
tokenizer: {{vocab_size: 300, files: ["{data}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 2, num_heads: 2, max_position_embeddings: 64,
        config_overrides: {{attention_dropout: 0.2}}}}
train: {{max_steps: {STEPS}, files: ["{data}"], block_size: 32, per_device_batch_size: 8, learning_rate: 0.01,
        warmup_steps: 3, logging_steps: 1, save_steps: {SAVE}}}
""", encoding="utf-8")
    return cfg


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env[key] = "1"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    # every process on one thread: the same reduction order in each (bit-identical weights need it), and no
    # thread oversubscription while the uninterrupted run trains alongside the killed one
    env["OMP_NUM_THREADS"] = "1"
    return env


def jazari_run(cfg: Path) -> None:
    """``python -m jazari_nlp run CFG -q`` in its own process, as a user resumes a killed run."""
    res = subprocess.run([sys.executable, "-m", "jazari_nlp", "run", str(cfg), "-q"], cwd=cfg.parent,
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def killed_run(cfg: Path, where: str) -> None:
    """Start the run, wait until it is parked at ``where``, SIGKILL it."""
    flag = cfg.parent / f"{cfg.stem}.parked"
    flag.unlink(missing_ok=True)  # left by an earlier kill of the same run
    proc = subprocess.Popen([sys.executable, "-c", PARK, str(cfg), where, str(flag)], cwd=cfg.parent,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not flag.exists():
            pytest.fail(f"the run never reached {where} (exit status {proc.poll()}):\n"
                        + (proc.stdout.read() if proc.poll() is not None else ""))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def train_losses(model_dir: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in read_log(model_dir / "log.jsonl") if r["event"] == "train"]


def test_sigkill_twice_then_resume_ends_on_the_uninterrupted_weights_and_loss_curve(tmp_path, data):
    import torch

    clean_cfg = make_config(tmp_path, data, "clean")
    # the uninterrupted run, in its own process alongside the killed one (CPU numerics do not depend on load)
    clean_proc = subprocess.Popen([sys.executable, "-m", "jazari_nlp", "run", str(clean_cfg), "-q"],
                                  cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
    try:
        cfg = make_config(tmp_path, data, "killed")
        run = tmp_path / "runs" / "killed"
        model, ckpts = run / "model", run / "model" / "checkpoints"

        # 1. killed between checkpoints: checkpoint-4 complete, steps 5 and 6 trained and logged
        killed_run(cfg, "after:6")
        assert not (model / "_SUCCESS.json").exists() and not (model / "model.safetensors").exists()
        assert sorted(p.name for p in ckpts.glob("checkpoint-*")) == ["checkpoint-4"]
        assert [s for s, _ in train_losses(model)] == [1, 2, 3, 4, 5, 6]  # the killed run's log survives

        # 2. the same command resumes from checkpoint-4, saves checkpoint-8, and is killed while checkpoint-12
        # is written: its weights are there, its optimizer, RNG and trainer state are not
        killed_run(cfg, f"saving:{STEPS}")
        assert sorted(p.name for p in ckpts.glob("checkpoint-*")) == ["checkpoint-12", "checkpoint-8"]
        assert (ckpts / "checkpoint-12" / "model.safetensors").is_file()
        assert not (ckpts / "checkpoint-12" / "trainer_state.json").exists()
        assert [s for s, _ in train_losses(model)] == list(range(1, STEPS + 1))  # 5 and 6 logged once

        # 3. resumed again, from the last complete checkpoint, to the end
        jazari_run(cfg)
        assert json.loads((model / "_SUCCESS.json").read_text())["summary"]["resumed_from"] == "checkpoint-8"
        assert not ckpts.exists()
        out, _ = clean_proc.communicate(timeout=300)
        assert clean_proc.returncode == 0, out
    finally:
        if clean_proc.poll() is None:
            clean_proc.kill()
            clean_proc.communicate()
    clean = tmp_path / "runs" / "clean"

    # each run directory trains its own tokenizer: the comparison is only fair if they are the same
    tokenizer = "tokenizer/tokenizer.json"
    assert (run / tokenizer).read_bytes() == (clean / tokenizer).read_bytes()
    got, want = weights(model), weights(clean / "model")
    assert sorted(got) == sorted(want)
    # bit-identical, no tolerance: the same process layout, thread count and kernels on the CPU, and the
    # resumed stretches replay the uninterrupted one (data order, dropout RNG, optimizer moments, scheduler)
    assert [name for name in want if not torch.equal(got[name], want[name])] == []
    clean_losses = train_losses(clean / "model")
    assert [s for s, _ in clean_losses] == list(range(1, STEPS + 1))
    assert train_losses(model) == clean_losses  # each step once, the same loss to the last bit
    ends = [r["step"] for r in read_log(model / "log.jsonl") if r["event"] == "end"]
    assert ends == [STEPS]
