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
