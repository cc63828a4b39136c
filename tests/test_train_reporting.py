"""During and after causal-LM training: held-out loss every N steps, log.jsonl (surviving a kill, continued
without duplicates on resume), loss_curve.png, the model card; on tiny models."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from jazari_nlp.config import ConfigError
from jazari_nlp.pipeline import run_experiment
from jazari_nlp.training.reporting import read_card, read_log

WORDS = ("salam 3likom kifach dayr labas wach nta mzyan bzaf daba ghadi nmchi l souk ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ ⵎⴰⵏⵉⵎⴽ "
         "السلام عليكم كيداير لاباس bonjour merci").split()


def _lines(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) for _ in range(n)) + "\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("data")
    (folder / "train.txt").write_text(_lines(300, 0), encoding="utf-8")
    (folder / "heldout.txt").write_text(_lines(60, 1), encoding="utf-8")
    return folder / "train.txt", folder / "heldout.txt"


def make_config(folder: Path, train: Path, heldout: Path | None, name: str, steps: int, extra: str = "") -> Path:
    cfg = folder / f"{name}.yaml"
    eval_files = f', eval_files: ["{heldout}"]' if heldout else ""
    cfg.write_text(
        f"""name: {name}
seed: 0
output_dir: runs
tokenizer: {{vocab_size: 300, files: ["{train}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 2, num_heads: 2, max_position_embeddings: 64}}
train: {{max_steps: {steps}, files: ["{train}"], block_size: 32, per_device_batch_size: 8, learning_rate: 0.01,
        logging_steps: 2, save_steps: 5{eval_files}{extra}}}
""", encoding="utf-8")
    return cfg


def _train_stage(result):
    return next(r for r in result.stages if r.stage == "train")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, data):
    train, heldout = data
    cfg = make_config(tmp_path_factory.mktemp("exp"), train, heldout, "every2", steps=5, extra=", eval_steps: 2")
    return run_experiment(cfg, progress=False)


def test_eval_every_2_steps_logs_each_evaluation_and_the_summary_has_the_last(evaluated):
    train = _train_stage(evaluated).summary
    model_dir = evaluated.run_dir / "model"
    records = read_log(model_dir / "log.jsonl")
    evals = [r for r in records if r["event"] == "eval"]
    # steps 2 and 4 (eval_steps), and 5: the final weights are always scored
    assert [r["step"] for r in evals] == [2, 4, 5]
    assert [r["step"] for r in records if r["event"] == "train"] == [2, 4, 5]  # logging_steps 2; the last step
    assert [r["step"] for r in records if r["event"] == "end"] == [5]
    assert train["evaluations"] == 3
    assert train["eval_loss"] == round(evals[-1]["eval_loss"], 4)
    assert train["eval_perplexity"] == pytest.approx(math.exp(evals[-1]["eval_loss"]), rel=1e-4)
    assert evals[-1]["eval_perplexity"] == pytest.approx(math.exp(evals[-1]["eval_loss"]), rel=1e-4)
    assert train["eval_blocks"] > 0 and train["eval_tokens"] == train["eval_blocks"] * 32
    # packed blocks: 8 blocks of 32 tokens per step
    assert [r["tokens_seen"] for r in records if r["event"] == "train"] == [2 * 8 * 32, 4 * 8 * 32, 5 * 8 * 32]
    assert train["tokens_seen"] == 5 * 8 * 32
    first = next(r for r in records if r["event"] == "train")
    assert {"loss", "learning_rate", "grad_norm", "epoch", "time"} <= set(first)
    # the run's summary table carries the same figures
    stages = json.loads((evaluated.run_dir / "summary.json").read_text())["stages"]
    assert next(s for s in stages if s["stage"] == "train")["summary"]["eval_perplexity"] == train["eval_perplexity"]


def test_loss_curve_is_a_png(evaluated):
    png = evaluated.run_dir / "model" / "loss_curve.png"
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width >= 600 and height >= 400


def test_model_card_front_matter_and_the_model_loads_beside_it(evaluated):
    from transformers import AutoModelForCausalLM

    model_dir = evaluated.run_dir / "model"
    front, body = read_card(model_dir / "README.md")
    train = _train_stage(evaluated).summary
    assert front["base_model"] == "new llama"
    assert front["language"] == "unknown" and front["license"] == "unknown"  # train.files: nothing is known
    assert len(front["datasets"]) == 1 and front["datasets"][0].endswith("train.txt")
    assert front["library_name"] == "transformers"
    assert front["tags"] == ["jazari_nlp", "pretrain"]
    assert front["metrics"] == ["loss", "perplexity"]
    values = {m["name"]: m["value"] for r in front["model-index"][0]["results"] for m in r["metrics"]}
    assert values == {"final train loss": train["final_loss"], "held-out loss": train["eval_loss"],
                      "held-out perplexity": train["eval_perplexity"]}
    assert "AutoModelForCausalLM.from_pretrained" in body and "eval_steps: 2" in body
    assert f"| optimizer steps | {train['steps']} |" in body
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True)
    assert model.config.num_hidden_layers == 2


def test_corpus_languages_and_licenses_come_from_its_manifest(tmp_path):
    from jazari_nlp.training.reporting import corpus_facts

    (tmp_path / "manifest.json").write_text(json.dumps({
        "languages": {"ary_Arab": {}, "zgh_Tfng": {}, "ary_Latn": {}, "und": {}},
        "sources": [{"name": "a", "license": "CC-BY-4.0"}, {"name": "b", "license": "cc-by-4.0"}],
        "splits": {"train": {"documents": 12}}}))
    assert corpus_facts(tmp_path) == {"languages": ["ary", "zgh"], "licenses": ["cc-by-4.0"], "documents": 12}
    assert corpus_facts(tmp_path / "absent") == {}


class Crash(RuntimeError):
    pass


def test_killed_and_resumed_run_logs_each_step_once(tmp_path, data, monkeypatch):
    from transformers import Trainer

    train, heldout = data
    cfg = make_config(tmp_path, train, heldout, "resume", steps=8, extra=", eval_steps: 2")
    original = Trainer.training_step

    def crash_at_step_6(self, *args, **kwargs):
        if self.state.global_step == 6:
            raise Crash("simulated kill")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "training_step", crash_at_step_6)
    with pytest.raises(Crash):
        run_experiment(cfg, progress=False)
    log_path = tmp_path / "runs" / "resume" / "model" / "log.jsonl"
    killed = read_log(log_path)
    assert max(r["step"] for r in killed) == 6  # the log survives the kill, past the checkpoint of step 5

    monkeypatch.setattr(Trainer, "training_step", original)
    resumed = run_experiment(cfg, progress=False)
    assert _train_stage(resumed).summary["resumed_from"] == "checkpoint-5"
    records = read_log(log_path)
    keys = [(r["step"], r["event"]) for r in records]
    # logging_steps 2, and every checkpoint step (save_steps 5): the loss a resumed run logs first averages the
    # same steps as in an uninterrupted run
    assert keys == [(2, "train"), (2, "eval"), (4, "train"), (4, "eval"), (5, "train"), (6, "train"), (6, "eval"),
                    (8, "train"), (8, "eval"), (8, "end")]
    # the resumed log is the log of an uninterrupted run
    clean = run_experiment(make_config(tmp_path, train, heldout, "clean", steps=8, extra=", eval_steps: 2"),
                           progress=False)
    clean_log = read_log(clean.run_dir / "model" / "log.jsonl")
    assert [(r["step"], r["event"]) for r in clean_log] == keys
    for a, b in zip(records, clean_log, strict=True):
        for key in ("loss", "eval_loss"):
            if key in b:
                assert a[key] == pytest.approx(b[key], abs=1e-3)


def test_no_tensorboard_needed_and_no_heldout_means_no_evaluation(tmp_path, data, monkeypatch):
    import sys

    from jazari_nlp.training import reporting

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` raises ImportError
    assert reporting.tensorboard_available() is False
    train, _ = data
    result = run_experiment(make_config(tmp_path, train, None, "plain", steps=2), progress=False)
    summary = _train_stage(result).summary
    assert summary["eval_loss"] is None and summary["evaluations"] == 0
    model_dir = result.run_dir / "model"
    assert not (model_dir / "tensorboard").exists()
    assert [r["event"] for r in read_log(model_dir / "log.jsonl")] == ["train", "end"]
    front, _ = read_card(model_dir / "README.md")
    assert front["metrics"] == ["loss"] and "held-out loss" not in json.dumps(front["model-index"])
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert "tensorboard" not in pyproject


def test_tensorboard_events_beside_the_model_when_installed(tmp_path, data):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (optional)")
    train, heldout = data
    result = run_experiment(make_config(tmp_path, train, heldout, "tb", steps=2), progress=False)
    assert list((result.run_dir / "model" / "tensorboard").glob("events.out.tfevents.*"))


def test_eval_settings_without_heldout_data_are_config_errors(tmp_path, data):
    train, heldout = data
    with pytest.raises(ConfigError, match="train.eval_steps: there is no held-out text"):
        run_experiment(make_config(tmp_path, train, None, "noeval", steps=2, extra=", eval_steps: 1"),
                       progress=False)
    with pytest.raises(ConfigError, match="no file matches .*nothing_here"):
        run_experiment(make_config(tmp_path, train, tmp_path / "nothing_here*.txt", "glob", steps=2),
                       progress=False)
    chat = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "chat" / "darija_chat_sample.jsonl"
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(f'name: s\noutput_dir: runs\nmodel: {{path: "{tmp_path}"}}\n'
                   f'train: {{mode: sft, files: ["{chat}"], eval_steps: 2}}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="mode sft has no default held-out data"):
        run_experiment(cfg, progress=False)


def test_sft_scores_heldout_chat_rows(tmp_path):
    from jazari_nlp.modeling.tiny import build_tiny_llama, sample_lines
    from jazari_nlp.tokenization.chat import CHATML

    model = build_tiny_llama(tmp_path / "tiny", texts=sample_lines(), vocab_size=300, train_steps=1,
                             chat_template=CHATML, max_position_embeddings=256)
    chat = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "chat" / "darija_chat_sample.jsonl"
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(f'name: s\noutput_dir: runs\nmodel: {{path: "{model}"}}\n'
                   f'train: {{mode: sft, files: ["{chat}"], eval_files: ["{chat}"], eval_steps: 2, max_steps: 3, '
                   f'eval_max_documents: 10, per_device_batch_size: 4, logging_steps: 1, sft: {{max_length: 128}}}}\n',
                   encoding="utf-8")
    result = run_experiment(cfg, progress=False)
    summary = _train_stage(result).summary
    assert summary["eval_rows"] == 10 and summary["evaluations"] == 2  # step 2, and the final step 3
    records = read_log(result.run_dir / "model" / "log.jsonl")
    assert [r["step"] for r in records if r["event"] == "eval"] == [2, 3]
    assert [r["step"] for r in records if r["event"] == "train"] == [1, 2, 3]
    front, _ = read_card(result.run_dir / "model" / "README.md")
    assert front["base_model"] == str(model) and front["tags"] == ["jazari_nlp", "sft"]
    assert all(r["tokens_seen"] > 0 for r in records if r["event"] == "train")  # the Trainer's non-padding count
