"""The train stage's modes from YAML, end to end on tiny models: classification, SFT with LoRA (adapter saved and
merged), continued pretraining of a local checkpoint; and their configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jazari_nlp.config import ConfigError
from jazari_nlp.pipeline import run_experiment

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data"


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory) -> Path:
    from jazari_nlp.modeling.tiny import build_tiny_llama, sample_lines
    from jazari_nlp.tokenization.chat import CHATML

    return build_tiny_llama(tmp_path_factory.mktemp("m") / "tiny", texts=sample_lines(), vocab_size=500,
                            train_steps=5, chat_template=CHATML, max_position_embeddings=256)


@pytest.mark.slow
def test_sentiment_recipe_trains_a_classifier_with_heldout_metrics(tmp_path: Path):
    from transformers import AutoModelForSequenceClassification

    result = run_experiment(CONFIGS / "sentiment.yaml", [f"run_dir={tmp_path / 'run'}", "train.max_steps=12",
                                                         "train.classification.eval_steps=6"], progress=False)
    train = next(r for r in result.stages if r.stage == "train")
    assert 0.0 <= train.summary["heldout.accuracy"] <= 1.0 and 0.0 <= train.summary["heldout.macro_f1"] <= 1.0
    model = AutoModelForSequenceClassification.from_pretrained(str(result.run_dir / "model"), local_files_only=True)
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    labels = json.loads((result.run_dir / "model" / "label_map.json").read_text(encoding="utf-8"))
    assert labels["labels"] == ["negative", "neutral", "positive"]  # the label map, saved beside the model
    assert labels["label2id"] == {"negative": 0, "neutral": 1, "positive": 2}


@pytest.mark.slow
def test_sft_lora_recipe_saves_an_adapter_and_a_merged_model(tmp_path: Path, chat_model: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    result = run_experiment(CONFIGS / "after_quickstart" / "sft_lora.yaml", [
        f"run_dir={tmp_path / 'run'}", f"model.path={chat_model}", "train.max_steps=3"], progress=False)
    [train] = result.stages
    assert train.summary["mode"] == "sft"
    assert train.summary["sft_kept"] == 61 and train.summary["sft_rejected"] == 0
    assert 0 < train.summary["assistant_tokens"] < train.summary["train_tokens"]
    assert 0 < train.summary["lora_trainable_parameters"] < train.summary["parameters"]
    model_dir = result.run_dir / "model"
    merged = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True)
    base = AutoModelForCausalLM.from_pretrained(str(chat_model), local_files_only=True)
    with_adapter = PeftModel.from_pretrained(base, str(model_dir / "adapter"))
    import torch

    ids = torch.tensor([[1, 5, 9, 12, 30]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, with_adapter(ids).logits, atol=1e-4)


@pytest.mark.slow
def test_continued_pretraining_recipe_on_a_local_checkpoint(tmp_path: Path, chat_model: Path):
    text = SAMPLES / "samples" / "ary_Arab.txt"
    result = run_experiment(CONFIGS / "after_quickstart" / "continued_pretraining.yaml", [
        f"run_dir={tmp_path / 'run'}", f"model.path={chat_model}", f"train.files=['{text}']", "train.max_steps=3"],
        progress=False)
    [train] = result.stages
    assert train.summary["mode"] == "pretrain" and train.summary["train_blocks"] > 0


def test_sft_without_files_and_classification_with_eval_are_config_errors(tmp_path: Path, chat_model: Path):
    cfg = tmp_path / "x.yaml"
    cfg.write_text(f"name: x\noutput_dir: runs\nmodel: {{path: \"{chat_model}\"}}\ntrain: {{mode: sft}}\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="mode sft: set train.files"):
        run_experiment(cfg, progress=False)
    data = SAMPLES / "classification" / "darija_sentiment_sample.tsv"
    cfg.write_text(f"name: x\noutput_dir: runs\nmodel: {{path: \"{chat_model}\"}}\n"
                   f"train: {{mode: classification, files: [\"{data}\"]}}\neval: {{files: [\"{data}\"]}}\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="eval: scores causal language models"):
        run_experiment(cfg, progress=False)


@pytest.mark.slow
def test_cli_merge_of_the_sft_adapter(tmp_path: Path, chat_model: Path):
    from transformers import AutoModelForCausalLM
    from typer.testing import CliRunner

    from jazari_nlp.cli import app

    result = run_experiment(CONFIGS / "after_quickstart" / "sft_lora.yaml", [
        f"run_dir={tmp_path / 'run'}", f"model.path={chat_model}", "train.max_steps=2"], progress=False)
    out = tmp_path / "merged"
    res = CliRunner().invoke(app, ["merge", str(result.run_dir / "model" / "adapter"), "-o", str(out),
                                   "--base", str(chat_model)])
    assert res.exit_code == 0, res.output
    assert AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True) is not None
    res = CliRunner().invoke(app, ["merge", str(tmp_path / "nothing"), "-o", str(tmp_path / "m2")])
    assert res.exit_code == 2 and "error:" in res.output


@pytest.mark.slow
def test_quiet_training_shows_no_tokenizing_bar(tmp_path: Path, chat_model: Path, capfd):
    text = SAMPLES / "samples" / "ary_Latn.txt"
    run_experiment(CONFIGS / "after_quickstart" / "continued_pretraining.yaml", [
        f"run_dir={tmp_path / 'run'}", f"model.path={chat_model}", f"train.files=['{text}']", "train.max_steps=1"],
        progress=False)
    err = capfd.readouterr().err
    assert "tokenizing" not in err


@pytest.mark.slow
def test_mix_weights_sources_with_a_token_budget(tmp_path: Path, chat_model: Path):
    from jazari_nlp.errors import InputError

    ary, zgh = SAMPLES / "samples" / "ary_Arab.txt", SAMPLES / "samples" / "zgh_Tfng.txt"
    overrides = [f"run_dir={tmp_path / 'run'}", f"model.path={chat_model}", f"train.files=['{ary}', '{zgh}']",
                 "train.max_steps=2", "train.mix={weights: {ary_Arab: 1.0, zgh_Tfng: 3.0}, alpha: 1.0, "
                 "token_budget: 6000}"]
    result = run_experiment(CONFIGS / "after_quickstart" / "continued_pretraining.yaml", overrides, progress=False)
    report = json.loads((result.run_dir / "model" / "mix_report.json").read_text(encoding="utf-8"))
    drawn = {k: v["drawn_tokens"] for k, v in report["sources"].items()}
    assert set(drawn) == {"ary_Arab", "zgh_Tfng"}
    tokens = {k: v["tokens"] for k, v in report["sources"].items()}
    share = 3 * tokens["zgh_Tfng"] / (3 * tokens["zgh_Tfng"] + tokens["ary_Arab"])  # p ∝ (w·n)^1
    assert drawn["zgh_Tfng"] / sum(drawn.values()) == pytest.approx(share, abs=0.05)
    assert 6000 <= sum(drawn.values()) < 6000 + 400  # the budget, overshot by less than a document per source
    with pytest.raises(InputError, match="train.mix.weights: kab_Latn is not a source"):
        run_experiment(CONFIGS / "after_quickstart" / "continued_pretraining.yaml",
                       [f"run_dir={tmp_path / 'bad'}", *overrides[1:-1], "train.mix={weights: {kab_Latn: 2.0}}"],
                       progress=False)
