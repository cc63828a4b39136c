"""The experiment spine end to end on a tiny model: stages, run directory, skipping, refusal to mix, loading."""

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.pipeline import run_experiment
from jazari_nlp.runs import RunDirConflict

runner = CliRunner()

WORDS = (
    "salam 3likom kifach dayr labas l7amdoulillah wach nta mzyan bzaf daba ghadi nmchi l souk "
    "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ ⵎⴰⵏⵉⵎⴽ ⴰⴽⵯⵎⵎⴰⵙ السلام عليكم كيداير لاباس ڭاع ڤيديو پاكيط bonjour ça va merci"
).split()


@pytest.fixture(scope="module")
def texts_file(tmp_path_factory) -> Path:
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "mixed.txt"
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) for _ in range(400)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_config(folder: Path, data: Path, name: str = "tiny", steps: int = 12) -> Path:
    cfg = folder / f"{name}.yaml"
    cfg.write_text(
        f"""name: {name}
seed: 0
output_dir: runs
tokenizer: {{vocab_size: 400, files: ["{data}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 2, num_heads: 2, max_position_embeddings: 64}}
train: {{max_steps: {steps}, files: ["{data}"], block_size: 32, per_device_batch_size: 8, learning_rate: 0.01,
        logging_steps: 2, save_steps: 5}}
eval: {{files: ["{data}"], max_documents: 60, batch_size: 16}}
""",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, texts_file):
    folder = tmp_path_factory.mktemp("exp")
    cfg = make_config(folder, texts_file)
    result = run_experiment(cfg, progress=False)
    return cfg, result


def test_run_directory_holds_config_hash_env_and_stage_markers(finished_run):
    cfg, result = finished_run
    run = result.run_dir
    assert [r.stage for r in result.stages] == ["tokenizer", "train", "eval"]
    assert all(r.status == "ran" for r in result.stages)
    assert (run / "config.sha256").read_text().strip() == result.config_sha256
    assert "name: tiny" in (run / "config.yaml").read_text()
    env = json.loads((run / "env.json").read_text())
    assert env["seed"] == 0 and "torch" in env["packages"] and env["python"]
    assert "stage train: done" in (run / "log.txt").read_text()
    for stage_dir in ("tokenizer", "model", "eval"):
        marker = json.loads((run / stage_dir / "_SUCCESS.json").read_text())
        assert marker["config_sha256"] == result.config_sha256
        assert marker["versions"]["transformers"]


def test_tokenizer_and_model_load_with_auto_classes(finished_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = finished_run[1].run_dir
    tok = AutoTokenizer.from_pretrained(run / "tokenizer")
    assert tok.eos_token == "</s>" and tok.pad_token == "<pad>" and tok.bos_token == "<s>"
    text = "ⴰⴽⵯⵎⵎⴰⵙ ڭاع 3likom"  # Tifinagh with U+2D6F, Darija letters, Arabizi digit
    assert tok.decode(tok(text)["input_ids"]) == text
    model = AutoModelForCausalLM.from_pretrained(run / "model")
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 2
    assert (run / "model" / "model.safetensors").is_file()
    assert not list((run / "model").glob("*.bin"))
    assert not (run / "model" / "checkpoints").exists()


def test_training_lowers_the_loss_and_eval_reports_ppl_and_bpb(finished_run):
    result = finished_run[1]
    train = next(r for r in result.stages if r.stage == "train").summary
    assert train["steps"] == 12
    assert train["final_loss"] < train["first_loss"]
    results = json.loads((result.run_dir / "eval" / "results.json").read_text())
    overall = results["metrics"]["all"]
    assert 1 < overall["perplexity"] < 400  # better than uniform over the 400-token vocabulary
    assert 0 < overall["bits_per_byte"] < 8
    assert results["config_sha256"] == result.config_sha256
    assert results["versions"]["transformers"]


def test_rerun_skips_finished_stages_without_touching_outputs(finished_run):
    cfg, first = finished_run
    weights = first.run_dir / "model" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    env_before = (first.run_dir / "env.json").read_text()
    again = run_experiment(cfg, progress=False)
    assert [r.status for r in again.stages] == ["skipped"] * 3
    assert again.stages[2].summary == first.stages[2].summary
    assert weights.stat().st_mtime_ns == before
    assert (first.run_dir / "env.json").read_text() == env_before  # describes the run that made the outputs


def test_a_different_config_is_refused_in_the_same_run_directory(finished_run):
    cfg, _ = finished_run
    with pytest.raises(RunDirConflict, match="different config"):
        run_experiment(cfg, overrides=["train.learning_rate=0.02"], progress=False)
    res = runner.invoke(app, ["run", str(cfg), "--set", "train.learning_rate=0.02", "-q"])
    assert res.exit_code == 2 and "different config" in res.output


def test_unfinished_stage_is_redone_and_force_redoes_later_stages(tmp_path, texts_file):
    cfg = make_config(tmp_path, texts_file, name="force", steps=4)
    first = run_experiment(cfg, progress=False)
    (first.run_dir / "eval" / "_SUCCESS.json").unlink()  # as if killed before eval finished
    again = run_experiment(cfg, progress=False)
    assert [r.status for r in again.stages] == ["skipped", "skipped", "ran"]
    forced = run_experiment(cfg, force=["train"], progress=False)
    assert [r.status for r in forced.stages] == ["skipped", "ran", "ran"]
    # forcing one stage alone also un-completes the later ones: they are redone on the next full run
    only_train = run_experiment(cfg, stages=["train"], force=["train"], progress=False)
    assert [r.stage for r in only_train.stages] == ["train"]
    assert not (only_train.run_dir / "eval" / "_SUCCESS.json").exists()
    assert [r.status for r in run_experiment(cfg, progress=False).stages] == ["skipped", "skipped", "ran"]
    # same seed, same data: the redone training reaches the same loss
    assert forced.stages[1].summary["final_loss"] == first.stages[1].summary["final_loss"]


def test_cli_run_prints_the_summary_table(tmp_path, texts_file):
    cfg = make_config(tmp_path, texts_file, name="cli", steps=2)
    res = runner.invoke(app, ["run", str(cfg), "-q"])
    assert res.exit_code == 0, res.output
    assert "bits_per_byte" in res.output and "perplexity" in res.output
    res = runner.invoke(app, ["eval", str(cfg), "-q"])
    assert res.exit_code == 0 and "skipped" in res.output
    res = runner.invoke(app, ["tokenizer", "train", str(cfg), "--force", "-q"])
    assert res.exit_code == 0 and "ran" in res.output


def test_stage_without_its_section_is_a_clear_error(tmp_path, texts_file):
    cfg = tmp_path / "only_tok.yaml"
    cfg.write_text(f'name: t\ntokenizer: {{vocab_size: 300, files: ["{texts_file}"]}}\n')
    res = runner.invoke(app, ["train", str(cfg)])
    assert res.exit_code == 2 and "has no `train` section" in res.output


class Crash(RuntimeError):
    pass


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path, texts_file, monkeypatch):
    from transformers import Trainer

    cfg = make_config(tmp_path, texts_file, name="resume", steps=8)
    original = Trainer.training_step

    def crash_at_step_6(self, *args, **kwargs):
        if self.state.global_step == 6:
            raise Crash("simulated kill")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "training_step", crash_at_step_6)
    with pytest.raises(Crash):
        run_experiment(cfg, progress=False)
    run_dir = tmp_path / "runs" / "resume"
    assert not (run_dir / "model" / "_SUCCESS.json").exists()
    assert (run_dir / "model" / "checkpoints" / "checkpoint-5").is_dir()  # save_steps=5

    monkeypatch.setattr(Trainer, "training_step", original)
    resumed = run_experiment(cfg, progress=False)
    train = next(r for r in resumed.stages if r.stage == "train")
    assert train.status == "ran" and train.summary["resumed_from"] == "checkpoint-5"
    assert train.summary["steps"] == 8
    # the resumed run ends where an uninterrupted one does
    clean = run_experiment(make_config(tmp_path, texts_file, name="clean", steps=8), progress=False)
    clean_train = next(r for r in clean.stages if r.stage == "train")
    assert train.summary["final_loss"] == pytest.approx(clean_train.summary["final_loss"], abs=1e-3)


def test_local_checkpoint_can_be_evaluated_and_fine_tuned(finished_run, tmp_path, texts_file):
    model_dir = finished_run[1].run_dir / "model"
    eval_only = tmp_path / "eval_only.yaml"
    eval_only.write_text(
        f'name: ev\noutput_dir: runs\nmodel: {{path: "{model_dir}"}}\neval: {{files: ["{texts_file}"], max_documents: 60}}\n'
    )
    res = run_experiment(eval_only, progress=False)
    assert [r.stage for r in res.stages] == ["eval"]
    # the same model on the same documents scores the same as in the run that trained it
    assert res.stages[0].summary["perplexity"] == pytest.approx(finished_run[1].stages[2].summary["perplexity"])

    finetune = tmp_path / "finetune.yaml"
    finetune.write_text(
        f'name: ft\noutput_dir: runs\nmodel: {{path: "{model_dir}"}}\n'
        f'train: {{files: ["{texts_file}"], max_steps: 3, block_size: 32, learning_rate: 0.001}}\n'
    )
    res = run_experiment(finetune, progress=False)
    assert res.stages[0].summary["steps"] == 3
    assert (res.run_dir / "model" / "model.safetensors").is_file()
    assert (res.run_dir / "model" / "tokenizer.json").is_file()  # the checkpoint's own tokenizer travels with it


def test_network_policy_sets_and_lifts_the_offline_switches(monkeypatch):
    import os

    from jazari_nlp import offline

    for key in offline.OFFLINE_VARS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(offline, "_set_by_us", set())
    offline.apply_network_policy(False)
    assert all(os.environ[k] == "1" for k in offline.OFFLINE_VARS)
    offline.apply_network_policy(True)
    assert not any(k in os.environ for k in offline.OFFLINE_VARS)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a user's own setting is never lifted
    offline.apply_network_policy(True)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_non_zero_ranks_wait_for_rank_zero_and_touch_nothing(tmp_path, texts_file, monkeypatch):
    """Under torchrun/accelerate, ranks > 0 never run or reset single-process stages: they wait for rank 0."""
    import threading

    import jazari_nlp.pipeline as pipeline

    cfg = tmp_path / "tok.yaml"
    cfg.write_text(f'name: dist\noutput_dir: runs\ntokenizer: {{vocab_size: 300, files: ["{texts_file}"]}}\n')
    first = run_experiment(cfg, progress=False)
    tok_file = first.run_dir / "tokenizer" / "tokenizer.json"
    marker = first.run_dir / "tokenizer" / "_SUCCESS.json"

    monkeypatch.setattr(pipeline, "distributed_rank", lambda: (1, 2))
    again = run_experiment(cfg, progress=False)  # complete already: returns at once
    assert again.stages[0].status == "skipped"

    def rank_zero_finishes():
        marker.write_text(marker.read_text())  # rank 0 rewrites its marker when the forced stage is done

    timer = threading.Timer(0.5, rank_zero_finishes)
    timer.start()
    forced = run_experiment(cfg, force=["tokenizer"], progress=False)
    timer.join()
    assert forced.stages[0].status == "skipped"
    assert forced.stages[0].summary == first.stages[0].summary
    assert tok_file.is_file()  # rank 1 did not reset rank 0's outputs


def test_unusable_jsonl_lines_in_stage_files_are_reported(tmp_path, caplog):
    from jazari_nlp.textio import iter_texts

    f = tmp_path / "a.jsonl"
    f.write_text('{"text": "salam"}\n{broken\n{"body": "x"}\n\n{"text": "ⴰⵣⵓⵍ"}\n', encoding="utf-8")
    with caplog.at_level("WARNING", logger="jazari_nlp.readers"):
        assert list(iter_texts([f])) == ["salam", "ⴰⵣⵓⵍ"]
    assert "2 records not usable (1 malformed_json, 1 missing_text_field), first at line 2" in caplog.text
