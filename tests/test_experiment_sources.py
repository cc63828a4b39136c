"""An experiment's `languages:` extend the registry for its corpus; `save_to_disk` folders are sources."""

import json

from jazari_nlp.corpus import corpus_files
from jazari_nlp.pipeline import run_experiment
from jazari_nlp.textio import iter_rows


def test_languages_from_the_config_reach_the_corpus(tmp_path):
    (tmp_path / "rif.txt").write_text("adrar n arrif\nthamurth nnegh\n", encoding="utf-8")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        "name: rif\noutput_dir: runs\n"
        "languages: [{code: rif_Latn2, script: Latn, name: Tarifit (test), aliases: [tarifit]}]\n"
        "corpus:\n  sources: [{name: r, paths: [rif.txt], language: tarifit}]\n"
        "  steps: [{langid: {use_hint: true}}]\n  heldout_fraction: 0\n",
        encoding="utf-8",
    )
    res = run_experiment(cfg, progress=False)
    rows = list(iter_rows(corpus_files(res.run_dir / "corpus", "train"), ["text", "lang"]))
    assert {r["lang"] for r in rows} == {"rif_Latn2"}  # the alias resolved through the registered variety
    assert len(rows) == 2


def test_save_to_disk_folder_is_a_source(tmp_path):
    from datasets import Dataset

    Dataset.from_dict({"body": ["ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "salam 3likom", ""]}).save_to_disk(str(tmp_path / "ds"))
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        "name: disk\noutput_dir: runs\n"
        "corpus:\n  sources: [{name: d, paths: [ds], text_field: body}]\n"
        "  steps: [repair, {langid: {}}]\n  heldout_fraction: 0\n",
        encoding="utf-8",
    )
    res = run_experiment(cfg, progress=False)
    manifest = json.loads((res.run_dir / "corpus" / "manifest.json").read_text())
    assert manifest["documents_read"] == 3
    assert manifest["documents_kept"] == 2 and sum(manifest["rejected"].values()) == 1
    rows = list(iter_rows(corpus_files(res.run_dir / "corpus", "train"), ["text", "lang"]))
    assert sorted(r["lang"] for r in rows) == ["ary_Latn", "zgh_Tfng"]


def test_registered_alias_survives_worker_processes(tmp_path):
    """Hints are made canonical when the config validates, so worker processes need no registry of their own."""
    for k in range(2):
        (tmp_path / f"rif{k}.txt").write_text(f"adrar n arrif {k}\nthamurth nnegh {k}\n", encoding="utf-8")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        "name: rifw\noutput_dir: runs\n"
        "languages: [{code: rif_Latn3, script: Latn, name: Tarifit (test), aliases: [tarifit3]}]\n"
        "corpus:\n  sources: [{name: r, paths: ['rif*.txt'], language: tarifit3}]\n"
        "  steps: [{langid: {use_hint: true}}]\n  heldout_fraction: 0\n"
        "  executor: {tasks: 2, workers: 2}\n",
        encoding="utf-8",
    )
    res = run_experiment(cfg, progress=False)
    rows = list(iter_rows(corpus_files(res.run_dir / "corpus", "train"), ["lang"]))
    assert len(rows) == 4 and {r["lang"] for r in rows} == {"rif_Latn3"}


def test_a_corpus_run_as_train_and_eval_files_gives_its_train_and_heldout_splits(tmp_path, caplog):
    """``train.files: [RUN_DIR]`` trains on the run's corpus train split only (never its heldout split nor its
    manifest and logs); ``eval.files`` / ``train.eval_files`` with a corpus folder score its heldout split."""
    from test_stage_store import make_config

    corpus_run = run_experiment(make_config(tmp_path, name="base"), stages=["corpus"], progress=False).run_dir
    train_n = sum(1 for _ in iter_rows(corpus_files(corpus_run / "corpus", "train"), ["text"]))
    held_n = sum(1 for _ in iter_rows(corpus_files(corpus_run / "corpus", "heldout"), ["text"]))
    assert train_n > 0 and held_n > 0
    cfg = tmp_path / "cont.yaml"
    cfg.write_text(f"""name: cont
output_dir: runs
tokenizer: {{vocab_size: 300, files: ["{corpus_run / 'corpus' / 'train'}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 1, num_heads: 2, max_position_embeddings: 64}}
train: {{max_steps: 2, block_size: 32, per_device_batch_size: 4, files: ["{corpus_run}"],
        eval_files: ["{corpus_run / 'corpus'}"]}}
eval: {{files: ["{corpus_run / 'corpus'}"], batch_size: 8}}
""", encoding="utf-8")
    with caplog.at_level("INFO", logger="jazari_nlp.train"):
        res = run_experiment(cfg, progress=False)
    packed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("packed ")]
    # training: the documents of the train split, nothing else; held-out loss during training: the heldout split
    assert f"of {train_n} documents" in packed[0] and f"of {held_n} documents" in packed[1]
    assert res.stages[2].summary["documents"] == held_n
