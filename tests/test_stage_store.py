"""Sweeps without waste (issue 10 item 6): corpus and tokenizer outputs are addressed by the hash of their own
config and inputs and shared through the stage store; training settings and a new name reuse them."""

import json
import os
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.config import load_config
from jazari_nlp.pipeline import run_experiment
from jazari_nlp.safety import UnsafeOutput
from jazari_nlp.stage_store import fingerprint, key_hash, stage_keys

runner = CliRunner()
WORDS = "salam 3likom kifach dayr labas wach nta mzyan bzaf daba ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ السلام عليكم ڭاع bonjour merci".split()


def write_data(path: Path, seed: int = 0, n: int = 300) -> Path:
    rng = random.Random(seed)
    path.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(n)) + "\n",
                    encoding="utf-8")
    return path


def make_config(folder: Path, name: str = "s", steps: int = 3, extra: str = "") -> Path:
    write_data(folder / "d.txt") if not (folder / "d.txt").exists() else None
    cfg = folder / f"{name}.yaml"
    cfg.write_text(f"""name: {name}
output_dir: runs
{extra}
corpus:
  sources:
    - {{name: s, paths: [d.txt], language: ary_Latn}}
  steps: [{{normalize: {{profile: train}}}}]
  heldout_fraction: 0.1
  executor: {{type: local, tasks: 1, workers: 1}}
tokenizer: {{vocab_size: 300}}
model: {{architecture: llama, hidden_size: 32, num_layers: 1, num_heads: 2, max_position_embeddings: 64}}
train: {{max_steps: {steps}, block_size: 32, per_device_batch_size: 8, learning_rate: 0.01, logging_steps: 1}}
""", encoding="utf-8")
    return cfg


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_new_name_with_other_training_settings_reuses_corpus_and_tokenizer(tmp_path):
    cfg = make_config(tmp_path)
    first = run_experiment(cfg, progress=False)
    assert [r.status for r in first.stages] == ["ran", "ran", "ran"]
    corpus_link = first.run_dir / "corpus"
    assert corpus_link.is_symlink() and not os.path.isabs(os.readlink(corpus_link))  # relative: runs/ can move
    entry = Path(os.path.realpath(corpus_link))
    assert entry.parent == tmp_path / "runs" / "_stages" and entry.name.startswith("corpus-")
    before = mtimes(entry) | {"tok/" + k: v for k, v in mtimes(Path(os.path.realpath(first.run_dir / "tokenizer"))).items()}

    second = run_experiment(cfg, overrides=["train.learning_rate=0.003", "name=s_lr3e-3"], progress=False)
    assert [(r.stage, r.status) for r in second.stages] == [("corpus", "reused"), ("tokenizer", "reused"),
                                                            ("train", "ran")]
    for stage in ("corpus", "tokenizer"):
        assert os.path.realpath(second.run_dir / stage) == os.path.realpath(first.run_dir / stage)
    after = mtimes(entry) | {"tok/" + k: v for k, v in mtimes(Path(os.path.realpath(first.run_dir / "tokenizer"))).items()}
    assert after == before  # not rebuilt, not touched
    assert second.stages[0].summary == first.stages[0].summary  # the summary of the build it reuses
    assert (second.run_dir / "corpus" / "train").is_dir() and (second.run_dir / "model" / "config.json").is_file()
    # the first run is still whole and re-runs as complete
    assert [r.status for r in run_experiment(cfg, progress=False).stages] == ["skipped"] * 3


def test_jazari_train_alone_with_a_new_name_finds_the_shared_upstream(tmp_path):
    cfg = make_config(tmp_path)
    run_experiment(cfg, progress=False)
    res = runner.invoke(app, ["train", str(cfg), "--set", "train.learning_rate=0.02", "--set", "name=lr2", "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "runs" / "lr2" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "runs" / "lr2" / "corpus").is_symlink()


def test_stage_keys_change_with_their_own_section_and_inputs_only(tmp_path):
    cfg = make_config(tmp_path)
    base = stage_keys(load_config(cfg))
    h = {s: key_hash(k) for s, k in base.items()}
    other_train = stage_keys(load_config(cfg, ["train.learning_rate=0.5", "name=x", "output_dir=elsewhere"]))
    assert {s: key_hash(k) for s, k in other_train.items()} == h
    tok = stage_keys(load_config(cfg, ["tokenizer.vocab_size=310"]))
    assert key_hash(tok["corpus"]) == h["corpus"] and key_hash(tok["tokenizer"]) != h["tokenizer"]
    seed = stage_keys(load_config(cfg, ["seed=1"]))
    assert key_hash(seed["corpus"]) != h["corpus"] and key_hash(seed["tokenizer"]) != h["tokenizer"]
    # the input file's size and mtime are part of the key; its path is absolute, so no other string matches
    fp = fingerprint(load_config(cfg).corpus.model_dump(mode="json"))
    assert [Path(p).name for p, _, _ in fp] == ["d.txt"]
    write_data(tmp_path / "d.txt", seed=1, n=301)
    changed = stage_keys(load_config(cfg))
    assert key_hash(changed["corpus"]) != h["corpus"] and key_hash(changed["tokenizer"]) != h["tokenizer"]


def test_changed_inputs_build_a_new_entry_and_never_swap_a_finished_runs_stage(tmp_path, caplog):
    cfg = make_config(tmp_path)
    first = run_experiment(cfg, progress=False)
    old_entry = os.path.realpath(first.run_dir / "corpus")
    write_data(tmp_path / "d.txt", seed=5, n=320)  # the data changed
    other = run_experiment(cfg, overrides=["name=s2"], progress=False)
    assert [r.status for r in other.stages] == ["ran", "ran", "ran"]  # a new entry for the new inputs
    assert os.path.realpath(other.run_dir / "corpus") != old_entry
    # the first run keeps the corpus its model was trained on, and says so
    with caplog.at_level("WARNING", logger="jazari_nlp"):
        again = run_experiment(cfg, progress=False)
    assert [r.status for r in again.stages] == ["skipped"] * 3
    assert os.path.realpath(first.run_dir / "corpus") == old_entry
    assert "input files changed" in caplog.text and "--force corpus" in caplog.text
    # --force corpus re-points it at the entry of the current files (already built by s2: rebuilt in place)
    forced = run_experiment(cfg, force=["corpus"], progress=False)
    assert [r.status for r in forced.stages] == ["ran", "ran", "ran"]
    assert os.path.realpath(first.run_dir / "corpus") == os.path.realpath(other.run_dir / "corpus")
    assert Path(old_entry).is_dir()  # never deleted: another run may use it


def test_share_stages_false_keeps_every_stage_inside_the_run(tmp_path):
    cfg = make_config(tmp_path, extra="share_stages: false")
    res = run_experiment(cfg, progress=False)
    assert not (res.run_dir / "corpus").is_symlink() and (res.run_dir / "corpus" / "_SUCCESS.json").is_file()
    assert not (tmp_path / "runs" / "_stages").exists()
    # and the switch is not part of the experiment's identity: the same run directory reopens with sharing on
    assert load_config(cfg).sha256() == load_config(cfg, ["share_stages=true"]).sha256()
    again = run_experiment(cfg, overrides=["share_stages=true"], progress=False)
    assert [r.status for r in again.stages] == ["skipped"] * 3
    assert not (res.run_dir / "corpus").is_symlink()  # a run's own stage folder is kept as it is


def test_a_link_jazari_did_not_make_is_still_refused(tmp_path):
    cfg = make_config(tmp_path)
    run_dir = run_experiment(cfg, stages=["corpus"], progress=False).run_dir
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("mine")
    (run_dir / "corpus").unlink()
    (run_dir / "corpus").symlink_to(tmp_path / "elsewhere")  # someone else's link, not into the store
    with pytest.raises(UnsafeOutput, match="is a symbolic link"):
        run_experiment(cfg, force=["corpus"], progress=False)
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == ["keep.txt"]


def test_an_entry_recording_another_key_is_refused(tmp_path):
    cfg = make_config(tmp_path)
    first = run_experiment(cfg, stages=["corpus"], progress=False)
    entry = Path(os.path.realpath(first.run_dir / "corpus"))
    key_file = entry.with_name(entry.name + ".json")
    doc = json.loads(key_file.read_text())
    key_file.write_text(json.dumps({**doc, "sha256": "0" * 64}))
    with pytest.raises(UnsafeOutput, match="records another key"):
        run_experiment(cfg, overrides=["name=other"], progress=False)


def test_a_second_run_waits_for_the_one_building_a_shared_stage(tmp_path, monkeypatch):
    """The entry's lock is held by another (live) process: the run waits, then reuses what it built."""
    from jazari_nlp import stage_store

    cfg = make_config(tmp_path)
    first = run_experiment(cfg, stages=["corpus"], progress=False)
    entry = Path(os.path.realpath(first.run_dir / "corpus"))
    lock = entry.parent / f".jazari-lock.{entry.name}"
    lock.write_text(json.dumps({"pid": os.getppid(), "host": os.uname().nodename, "what": "corpus stage"}))
    waits = []

    def fake_sleep(seconds):
        waits.append(seconds)
        lock.unlink()  # the other run finishes

    monkeypatch.setattr(stage_store.time, "sleep", fake_sleep)
    res = run_experiment(cfg, overrides=["name=waiter"], stages=["corpus"], progress=False)
    assert waits and [r.status for r in res.stages] == ["reused"]
