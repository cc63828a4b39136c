"""An extension with no held-out text (no evaluate_files, no corpus heldout split, as in
configs/after_quickstart/extend_quickstart.yaml) is measured per source language on a seeded share of each
source's lines held out of its learning, not as one `und` row on its own training text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jazari_nlp.modeling.tiny import SAMPLES, build_tiny_llama
from jazari_nlp.tokenization import stage
from jazari_nlp.tokenization.config import TokenizerConfig
from jazari_nlp.tokenization.extend import REPORT_FILE, extend_model
from jazari_nlp.tokenization.sampling import inputs_from_config

# Written for this test: the base model knows English only.
ENGLISH = [f"the {a} {b} walked to the {c} every {d} morning" for a in ("old", "young", "tall") for b in
           ("man", "woman", "child", "farmer") for c in ("market", "station", "river") for d in ("sunday", "cold")]
SOURCES = {"ary_Arab": SAMPLES / "ary_Arab.txt", "zgh_Tfng": SAMPLES / "zgh_Tfng.txt",
           "ary_Latn": SAMPLES / "ary_Latn.txt"}


def _distinct(path: Path) -> set[str]:
    return {line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("polish") / "base", texts=ENGLISH, vocab_size=300,
                            train_steps=5)


def _tcfg(base: Path, **extra) -> TokenizerConfig:
    return TokenizerConfig.model_validate({
        "extend": {"model": str(base), "num_tokens": 40},
        "sources": [{"path": str(p), "language": lang} for lang, p in SOURCES.items()], **extra})


@pytest.fixture(scope="module")
def stage_run(base: Path, tmp_path_factory) -> tuple[dict, dict, Path]:
    out = tmp_path_factory.mktemp("polish_run") / "tokenizer"
    summary = stage.run_tokenizer_stage(_tcfg(base), out, seed=0, progress=False, keep_sample=True)
    return summary, json.loads((out / REPORT_FILE).read_text(encoding="utf-8")), out


def test_fertility_is_per_source_language_on_held_out_lines(stage_run, base):
    summary, report, out = stage_run
    assert set(report["fertility"]) == set(SOURCES)  # one row per source language, no "und"
    held = stage.hold_out_lines(inputs_from_config(_tcfg(base)), sorted(SOURCES), seed=0, max_line_bytes=16384)
    for lang, path in SOURCES.items():
        lines = _distinct(path)
        assert set(held[lang]) <= lines
        assert 0 < len(held[lang]) < 0.25 * len(lines)  # about 10% of ~300 lines
        row = report["fertility"][lang]
        assert row["texts"] == len(held[lang]) and row["in_training_texts"] == 0.0
        assert row["after"] < row["before"]
    assert report["fertility_measured_on"] == "report texts"
    assert summary["fertility_on"] == "held-out 10% of the sources"
    assert {f"fertility.{lang}" for lang in SOURCES} <= set(summary) and "fertility.und" not in summary
    # the extension learned from the sample without any held-out line (every copy of it removed)
    drop = {t for ts in held.values() for t in ts}
    sample = [line for line in (out / "sample.txt").read_text(encoding="utf-8").splitlines() if line]
    assert report["texts"] == sum(line not in drop for line in sample) < len(sample)
    # and the held-out lines give the step-0 loss too
    assert report["heldout"]["texts"] == len(drop)
    assert "heldout_bits_per_byte" in summary


def test_held_out_lines_are_seeded_capped_and_independent_of_order(tmp_path: Path, monkeypatch):
    lines = [f"jomla {i} dyal darija" for i in range(400)]
    fwd, rev = tmp_path / "fwd.txt", tmp_path / "rev.txt"
    fwd.write_text("\n".join(lines + lines[:50]) + "\n", encoding="utf-8")  # 50 lines twice
    rev.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")

    def held(path: Path, seed: int = 0, share: float | None = None) -> list[str]:
        tcfg = TokenizerConfig.model_validate({"sources": [{"path": str(path), "language": "ary_Latn"}]})
        return stage.hold_out_lines(inputs_from_config(tcfg), ["ary_Latn"], seed=seed, max_line_bytes=16384,
                                    share=share).get("ary_Latn", [])

    a = held(fwd)
    assert a == held(rev) == sorted(set(a))  # same lines whatever the order, each once though repeated
    assert 10 <= len(a) <= 80 and a != held(fwd, seed=1)
    monkeypatch.setattr(stage, "MAX_REPORT_TEXTS", 7)
    capped = held(fwd, share=1.0)
    assert len(capped) == 7 and capped == held(rev, share=1.0)


def test_given_report_texts_are_used_and_training_text_is_labelled(base: Path, tmp_path: Path):
    darija = sorted(_distinct(SOURCES["ary_Arab"]))
    report = extend_model(base, darija[:200], tmp_path / "a", num_tokens=20, progress=False)
    assert list(report["fertility"]) == ["und"]
    assert report["fertility"]["und"]["in_training_texts"] == 1.0
    assert report["fertility_measured_on"] == "training texts (no report texts given)"
    report = extend_model(base, darija[:200], tmp_path / "b", num_tokens=20, progress=False,
                          report_texts={"ary_Arab": darija[190:]})
    assert report["fertility"]["ary_Arab"]["in_training_texts"] == round(10 / len(darija[190:]), 4)


def test_evaluate_files_still_win_over_the_held_out_share(base: Path, tmp_path: Path):
    ev = tmp_path / "ary_Arab" / "dev.tsv"
    ev.parent.mkdir()
    ev.write_text("index_id\ttext\n1\tسلام عليكم كيداير\n2\tلاباس الحمد لله\n", encoding="utf-8")
    summary = stage.run_tokenizer_stage(_tcfg(base, evaluate_files=[str(ev)]), tmp_path / "tok", seed=0,
                                        progress=False)
    report = json.loads((tmp_path / "tok" / REPORT_FILE).read_text(encoding="utf-8"))
    assert list(report["fertility"]) == ["ary_Arab"] and report["fertility"]["ary_Arab"]["texts"] == 2
    assert summary["fertility_on"] == "evaluate_files" and report["heldout"] is None
