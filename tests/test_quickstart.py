"""The shipped quickstart, shortened: bundled samples → corpus → tokenizer → tiny Llama → per-language eval."""

import json
from pathlib import Path

import pytest

from jazari_nlp.config import load_config
from jazari_nlp.pipeline import run_experiment

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "configs" / "quickstart.yaml"
LANGS = {"ary_Arab", "ary_Latn", "arb_Arab", "zgh_Tfng", "tzm_Latn", "fra_Latn"}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("qs") / "run"
    overrides = [f"run_dir={run_dir}", "train.max_steps=8", "train.save_steps=4", "tokenizer.vocab_size=800"]
    return run_experiment(QUICKSTART, overrides=overrides, progress=False)


def test_quickstart_config_is_valid_and_has_all_four_stages():
    cfg = load_config(QUICKSTART)
    assert cfg.stages() == ["corpus", "tokenizer", "train", "eval"]
    assert not cfg.allow_network


def test_corpus_stage_accounts_for_every_sample_line(short_run):
    lines = sum(
        1 for f in (REPO / "jazari_nlp" / "data" / "samples").glob("*.txt") for ln in f.read_text().splitlines()
        if ln.strip()
    )
    manifest = json.loads((short_run.run_dir / "corpus" / "manifest.json").read_text())
    assert manifest["documents_read"] == lines
    assert manifest["documents_kept"] + sum(manifest["rejected"].values()) == lines
    summary = short_run.stages[0].summary
    assert summary["train_docs"] + summary["heldout_docs"] == manifest["documents_kept"]


def test_parquet_shards_load_with_datasets(short_run):
    from datasets import load_dataset

    from jazari_nlp.corpus import corpus_files

    files = [str(p) for p in corpus_files(short_run.run_dir / "corpus", "heldout")]
    ds = load_dataset("parquet", data_files=files, split="train")
    assert {"text", "id", "lang", "lang_score", "script", "source", "license"} <= set(ds.column_names)
    assert set(ds["lang"]) == LANGS
    tifinagh = [t for t, lang in zip(ds["text"], ds["lang"], strict=True) if lang == "zgh_Tfng"]
    assert tifinagh and all(any("\u2d30" <= ch <= "\u2d7f" for ch in t) for t in tifinagh)


def test_eval_reports_every_language(short_run):
    results = json.loads((short_run.run_dir / "eval" / "results.json").read_text())
    assert LANGS | {"all"} == set(results["metrics"])
    for metrics in results["metrics"].values():
        assert metrics["bits_per_byte"] > 0 and metrics["perplexity"] > 1


def test_eval_sample_covers_every_language(short_run):
    from jazari_nlp.corpus import corpus_files
    from jazari_nlp.evaluation.run import _load_texts

    files = corpus_files(short_run.run_dir / "corpus", "heldout")
    texts, groups = _load_texts(files, "text", "lang", limit=60, seed=0)
    assert len(texts) == 60 and set(groups) == LANGS  # not the first 60 rows, which are one or two languages
    assert _load_texts(files, "text", "lang", limit=60, seed=0) == (texts, groups)


def test_eval_scores_the_bundled_tasks(short_run):
    results = json.loads((short_run.run_dir / "eval" / "results.json").read_text())
    mc, tr = results["tasks"]["jazari_quick_mc"], results["tasks"]["jazari_quick_translate"]
    assert (mc["n"], mc["n_skipped"], tr["n"]) == (24, 0, 10)
    assert 0 <= mc["metrics"]["acc"]["value"] <= 1 and 0 <= tr["metrics"]["chrf"]["value"] <= 100
    assert (short_run.run_dir / "eval" / "samples_jazari_quick_mc.jsonl").is_file()


def test_heldout_perplexity_is_a_task_of_the_report_too(short_run):
    from jazari_nlp.evaluation.report import collect_results

    results = json.loads((short_run.run_dir / "eval" / "results.json").read_text())
    task = results["tasks"]["heldout_perplexity"]["metrics"]
    assert task["bits_per_byte"]["value"] == pytest.approx(results["metrics"]["all"]["bits_per_byte"], abs=1e-4)
    assert task["token_perplexity"]["value"] == pytest.approx(results["metrics"]["all"]["perplexity"], rel=1e-4)
    assert set(results["tasks"]) >= {f"heldout_perplexity/{lang}" for lang in LANGS}
    rows = collect_results([short_run.run_dir])
    assert {(r["task"], r["metric"]) for r in rows} >= {("heldout_perplexity", "bits_per_byte"),
                                                        ("jazari_quick_mc", "acc")}
