"""Corpus builder: exact reasons and counts on tiny inline corpora, bad input, dedup quality, resume, CLI."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jazari_nlp.corpus import corpus_files
from jazari_nlp.corpus.build import CorpusBuildError, build_corpus, run_corpus_stage
from jazari_nlp.corpus.config import CorpusConfig

# Invented Arabizi-like vocabulary (written for these tests), enough for documents that pass no quality filter.
VOCAB = ("salam labas wach nta mzyan bzaf daba ghadi nmchi l dar dyal khouya f lmdina lyoum ma kaynch "
         "chi haja jdida wla gha nfs lkhdma kolchi 3la ma yram lbared chta tl3at lqahwa skhouna f sba7 ").split()


def make_doc(rng: random.Random, n_words: int = 80) -> str:
    return " ".join(rng.choice(VOCAB) + str(rng.randrange(10_000)) for _ in range(n_words))


def cfg_of(sources: list[dict], steps: list, tmp: Path, **kw) -> CorpusConfig:
    # These tiny corpora lose records on purpose: the loss alarms have their own tests (test_data_loss.py).
    kw.setdefault("alarms", {"accept": ["*"]})
    return CorpusConfig.model_validate({"sources": sources, "steps": steps, **kw}, context={"base_dir": tmp})


def read_rows(out: Path) -> list[dict]:
    rows = []
    for split in ("train", "heldout"):
        for f in corpus_files(out, split):
            rows += pq.read_table(f).to_pylist()
    return sorted(rows, key=lambda r: r["id"])


def read_rejects(out: Path) -> list[dict]:
    rows = []
    for f in sorted((out / "rejects").rglob("*.jsonl.gz")):
        rows += [json.loads(line) for line in gzip.open(f, "rt", encoding="utf-8")]
    return rows


def test_bad_input_every_document_accounted_for(tmp_path):
    (tmp_path / "good.jsonl").write_text(
        json.dumps({"text": "salam labas"}) + "\n" + "{not json\n" + json.dumps({"body": "no text field"}) + "\n"
        + json.dumps({"text": None}) + "\n", encoding="utf-8")
    # cp1252 "café" is decoded (on_invalid_utf8: decode, the default); 0x81 0x8D are no character in cp1252 and
    # the line is not Arabic for cp1256: still invalid_utf8, rejected with its bytes
    undecodable = b'{"text": "ab\x81\x8d cd"}'
    (tmp_path / "bad_utf8.jsonl").write_bytes(b'{"text": "caf\xe9 ok"}\n' + json.dumps({"text": "fine"}).encode()
                                              + b"\n" + undecodable + b"\n")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    big = "a" * (50 * 2**20)
    (tmp_path / "big.jsonl").write_text(json.dumps({"text": big}) + "\n", encoding="utf-8")
    (tmp_path / "lines.txt").write_text("wach nta mzyan\n\nwach nta mzyan\n", encoding="utf-8")
    cfg = cfg_of([{"name": "j", "paths": ["*.jsonl"]}, {"name": "t", "paths": ["lines.txt"], "language": "ary_Latn"},
                  {"name": "none", "paths": ["missing/*.jsonl"]}],
                 ["repair", {"langid": {"use_hint": True}}, "exact_dedup"], tmp_path)
    out = tmp_path / "out"
    summary = build_corpus(cfg, out, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    assert m["rejected"] == {"exact_duplicate": 1, "invalid_utf8": 1, "malformed_json": 1,
                             "missing_text_field": 2, "too_long": 1}
    assert m["documents_read"] == 10 and m["documents_kept"] == 4
    assert m["documents_read"] == m["documents_kept"] + sum(m["rejected"].values())
    assert summary["rejected_total"] == 6 and m["accounting_ok"] is True
    assert m["encodings"] == {"cp1252": 1} and m["unreadable_files"] == 0
    assert any("matches no file" in w for w in m["warnings"]) and any("empty.jsonl" in w for w in m["warnings"])
    rejects = read_rejects(out)
    assert sorted(r["reason"] for r in rejects) == sorted(
        ["exact_duplicate", "invalid_utf8", "malformed_json", "missing_text_field", "missing_text_field", "too_long"])
    assert next(r for r in rejects if r["reason"] == "too_long")["text"] == big
    import base64

    assert base64.b64decode(next(r for r in rejects if r["reason"] == "invalid_utf8")["raw_b64"]) == undecodable
    rows = read_rows(out)
    assert sorted(r["text"] for r in rows) == ["café ok", "fine", "salam labas", "wach nta mzyan"]
    assert {r["text"]: r["encoding"] for r in rows}["café ok"] == "cp1252"
    assert {r["text"]: r["encoding"] for r in rows}["fine"] is None


def test_output_rows_columns_and_heldout_split(tmp_path):
    rng = random.Random(0)
    lines = [make_doc(rng, 8) for _ in range(200)]
    (tmp_path / "d.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = cfg_of([{"name": "d", "paths": ["d.txt"], "language": "ary_Latn", "license": "CC0-1.0"}],
                 ["normalize", {"langid": {"use_hint": True}}, "pii"], tmp_path, heldout_fraction=0.2)
    summary = run_corpus_stage(cfg, tmp_path / "stage", seed=3, progress=False)
    assert summary["train_docs"] + summary["heldout_docs"] == 200
    assert 20 <= summary["heldout_docs"] <= 60
    rows = read_rows(tmp_path / "stage")
    assert {"text", "id", "lang", "lang_score", "script", "source", "license"} <= set(rows[0])
    assert {r["lang"] for r in rows} == {"ary_Latn"} and {r["license"] for r in rows} == {"CC0-1.0"}
    assert all(r["script"] == "Latn" and r["lang_score"] == 1.0 for r in rows)
    import datasets

    ds = datasets.load_dataset("parquet", data_files=[str(p) for p in corpus_files(tmp_path / "stage", "train")],
                               split="train")
    assert len(ds) == summary["train_docs"]
    # same seed → same split; another seed → another split
    again = run_corpus_stage(cfg, tmp_path / "stage2", seed=3, progress=False)
    other = run_corpus_stage(cfg, tmp_path / "stage3", seed=4, progress=False)
    assert again["heldout_docs"] == summary["heldout_docs"]
    assert {r["id"] for r in read_rows(tmp_path / "stage3") if r} == {r["id"] for r in rows}
    assert other["heldout_docs"] != summary["heldout_docs"] or read_rows(tmp_path / "stage3") != rows


def test_quality_langid_pii_reasons(tmp_path):
    rng = random.Random(1)
    good = make_doc(rng, 80) + " ."
    docs = [
        {"id": "short", "text": "wach nta mzyan ."},
        {"id": "dups", "text": "\n".join(["ha hiya nfs ljomla dyal lbare7 ."] * 20)},
        {"id": "digits", "text": " ".join(str(rng.randrange(10**6)) + "x" for _ in range(80))},
        {"id": "ok", "text": good + " 3yet l 0612345678 wla kteb l ana@mail.ma"},
    ]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    # kind web: the long-document (Gopher) rules, whatever the length (short items: tests/test_quality_short_text.py)
    cfg = cfg_of([{"name": "d", "paths": ["d.jsonl"], "id_field": "id", "language": "ary_Latn", "kind": "web"}],
                 [{"langid": {"use_hint": True, "keep": ["ary_Latn"]}},
                  {"quality": {"defaults": {"min_stop_words": None}}}, "pii"], tmp_path)
    build_corpus(cfg, tmp_path / "out", progress=False)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    by_id = {r["id"]: r["reason"] for r in read_rejects(tmp_path / "out")}
    assert by_id == {"short": "quality_too_few_words", "dups": "quality_dup_lines",  # the input's own ids
                     "digits": "quality_digit_ratio"}
    (row,) = read_rows(tmp_path / "out")
    assert row["text"].endswith("3yet l <PHONE> wla kteb l <EMAIL>") and row["pii_replaced"] == 2
    assert m["pii"] == {"EMAIL": 1, "PHONE": 1}
    step = next(s for s in m["steps"] if s["kind"] == "quality")
    assert step["in"] == 4 and step["out"] == 1 and sum(step["dropped"].values()) == 3


def test_langid_keep_and_threshold(tmp_path):
    (tmp_path / "a.txt").write_text("salam\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("bonjour\n", encoding="utf-8")
    cfg = cfg_of([{"name": "a", "paths": ["a.txt"], "language": "ary_Latn"},
                  {"name": "b", "paths": ["b.txt"], "language": "fra_Latn"}],
                 [{"langid": {"use_hint": True, "keep": ["ary_Latn"]}}], tmp_path)
    build_corpus(cfg, tmp_path / "out", progress=False)
    assert [(r["id"], r["reason"]) for r in read_rejects(tmp_path / "out")] == [("b/b.txt:0", "lang_not_kept")]


def test_near_dedup_recall_and_precision_on_planted_duplicates(tmp_path):
    rng = random.Random(7)
    originals = [make_doc(rng, 120) for _ in range(150)]
    planted = []
    for i in range(60):
        words = originals[i].split()
        for _ in range(rng.randint(1, 3)):  # small edits: substitute, delete or insert a word
            j = rng.randrange(len(words))
            op = rng.choice("sdi")
            if op == "s":
                words[j] = rng.choice(VOCAB)
            elif op == "d":
                del words[j]
            else:
                words.insert(j, rng.choice(VOCAB))
        planted.append(" ".join(words))
    rows = [{"id": f"o{i}", "text": t} for i, t in enumerate(originals)]
    rows += [{"id": f"p{i}", "text": t} for i, t in enumerate(planted)]
    rng.shuffle(rows)
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cfg = cfg_of([{"name": "d", "paths": ["d.jsonl"], "id_field": "id"}], ["near_dedup"], tmp_path)
    build_corpus(cfg, tmp_path / "out", progress=False)
    removed = {r["id"] for r in read_rejects(tmp_path / "out") if r["reason"] == "near_duplicate"}  # own ids kept
    # each planted pair (o_i, p_i) should lose exactly one member
    pairs_caught = sum(1 for i in range(60) if f"o{i}" in removed or f"p{i}" in removed)
    true_removals = {x for x in removed if int(x[1:]) < 60}
    recall = pairs_caught / 60
    precision = len(true_removals) / max(len(removed), 1)
    assert recall >= 0.9, recall
    assert precision >= 0.95, precision
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["rejected"] == {"near_duplicate": len(removed)} and m["documents_kept"] == 210 - len(removed)


def test_decontaminate_drop_and_tag(tmp_path):
    bench = "wach nta mzyan had nhar kamlo f dar"
    (tmp_path / "bench.txt").write_text(bench + "\n", encoding="utf-8")
    (tmp_path / "d.txt").write_text(f"qal lia {bench} o mcha\nchi haja okhra mab9atch\n", encoding="utf-8")
    for mode, n_kept in (("drop", 1), ("tag", 2)):
        cfg = cfg_of([{"name": "d", "paths": ["d.txt"]}],
                     [{"decontaminate": {"benchmarks": ["bench.txt"], "n": 5, "mode": mode}}], tmp_path)
        build_corpus(cfg, tmp_path / mode, progress=False)
        rows = read_rows(tmp_path / mode)
        assert len(rows) == n_kept
        if mode == "drop":
            assert [r["reason"] for r in read_rejects(tmp_path / mode)] == ["contaminated"]
        else:
            assert sorted(r["contaminated"] for r in rows) == [False, True]


def test_config_errors_before_any_work(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="did you mean 'quality'"):
        cfg_of([{"name": "d", "paths": ["*.txt"]}], [{"qualty": {}}], tmp_path)
    with pytest.raises(ValidationError, match="min_wrds"):
        cfg_of([{"name": "d", "paths": ["*.txt"]}], [{"quality": {"per_language": {"ary_Arab": {"min_wrds": 3}}}}],
               tmp_path)
    with pytest.raises(ValidationError, match="file not found"):
        cfg_of([{"name": "d", "paths": ["nope.txt"]}], [], tmp_path)
    cfg = cfg_of([{"name": "d", "paths": ["*.none"]}], [], tmp_path)
    with pytest.raises(CorpusBuildError, match="matches no file"):
        build_corpus(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    default = CorpusConfig.model_validate({"sources": [{"name": "d", "paths": ["*.txt"]}]}, context={"base_dir": tmp_path})
    assert [k for k, _ in default.step_list()] == ["repair", "normalize", "langid", "quality", "decontaminate",
                                                   "exact_dedup", "near_dedup", "pii"]


RESUME_SCRIPT = """
import sys, json
from pathlib import Path
from jazari_nlp.corpus.config import CorpusConfig
from jazari_nlp.corpus.build import build_corpus
tmp = Path(sys.argv[1])
cfg = CorpusConfig.model_validate(json.loads((tmp / "cfg.json").read_text()), context={"base_dir": tmp})
build_corpus(cfg, Path(sys.argv[2]), progress=False)
"""


def test_resume_after_sigkill_equals_clean_build(tmp_path):
    rng = random.Random(3)
    shared = make_doc(random.Random(99), 60) + " ."  # one document in every file: 7 exact duplicates
    for k in range(8):
        rows = [{"text": make_doc(rng, 60) + " ."} for _ in range(40)] + [{"text": shared}]
        (tmp_path / f"s{k}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cfg = {"sources": [{"name": "s", "paths": ["s*.jsonl"]}],
           "steps": ["repair", {"quality": {"defaults": {"min_stop_words": None, "min_words": 10, "max_digit_ratio": None}}},
                     "exact_dedup", "near_dedup"],
           "executor": {"tasks": 8, "workers": 1}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    (tmp_path / "run.py").write_text(RESUME_SCRIPT)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(tmp_path), str(killed)],
                            stderr=subprocess.DEVNULL, start_new_session=True)
    marks = killed / "_work" / "logs" / "pass0" / "completions"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(marks.glob("*"))) < 3:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, workers included (start_new_session=True)
    proc.wait()
    n_done = len(list(marks.glob("*")))
    assert 3 <= n_done < 8, "the build was not killed mid-way"
    assert not (killed / "manifest.json").exists()
    c = CorpusConfig.model_validate(cfg, context={"base_dir": tmp_path})
    build_corpus(c, killed, progress=False)  # resumes
    clean = tmp_path / "clean"
    build_corpus(c, clean, progress=False)
    strip = lambda rows: [(r["id"], r["text"]) for r in rows]  # noqa: E731
    assert strip(read_rows(killed)) == strip(read_rows(clean))
    mk, mc = (json.loads((d / "manifest.json").read_text()) for d in (killed, clean))
    assert (mk["documents_read"], mk["documents_kept"], mk["rejected"]) == \
        (mc["documents_read"], mc["documents_kept"], mc["rejected"])
    assert mk["rejected"]["exact_duplicate"] == 7 and mk["documents_read"] == 8 * 41
    assert [s["in"] for s in mk["steps"]] == [s["in"] for s in mc["steps"]]


def test_cli_build_stats_card(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from jazari_nlp.cli import app

    rng = random.Random(5)
    docs = [{"text": make_doc(rng, 70) + " ."} for _ in range(30)]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["corpus", "build", "--input", "*.jsonl", "--output", "out"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["documents_read"] == 30
    assert m["documents_read"] == m["documents_kept"] + sum(m["rejected"].values())
    assert [s["kind"] for s in m["steps"]][1:] == ["repair", "normalize", "langid", "quality", "decontaminate",
                                                    "exact_dedup", "near_dedup", "pii"]
    res = runner.invoke(app, ["corpus", "build", "--input", "nothing*.jsonl", "--output", "out2"])
    assert res.exit_code == 2 and "matches no file" in res.output
    # stats and card on a build that keeps documents
    (tmp_path / "s.txt").write_text("salam labas\nⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ\n", encoding="utf-8")
    cfg = cfg_of([{"name": "s", "paths": ["s.txt"], "license": "CC0-1.0"}], ["langid"], tmp_path)
    build_corpus(cfg, tmp_path / "small", progress=False)
    res = runner.invoke(app, ["corpus", "stats", "small", "--json"])
    assert res.exit_code == 0, res.output
    stats = json.loads(res.output)
    assert stats["total"]["docs"] == 2 and stats["by_script"]["Tfng"]["words"] == 2
    assert stats["by_script"]["Latn"]["bytes"] == len("salam labas")
    res = runner.invoke(app, ["corpus", "card", "small"])
    assert res.exit_code == 0, res.output
    card = (tmp_path / "small" / "README.md").read_text()
    assert card.startswith("---\nlanguage:") and "- cc0-1.0" in card and "size_categories:\n- n<1K" in card
    for section in ("## Sources and licenses", "## Language and script distribution", "## What each filter removed",
                    "## Deduplication", "## PII handling", "## Examples per language", "## Intended use",
                    "## Limitations"):
        assert section in card
    assert (tmp_path / "small" / "lang_script.png").read_bytes()[:4] == b"\x89PNG"


def test_one_big_file_is_shared_by_every_task(tmp_path, monkeypatch):
    from jazari_nlp.corpus import sources

    monkeypatch.setattr(sources, "SPLIT_MIN_BYTES", 1000)  # workers=1 runs the tasks in this process
    rng = random.Random(9)
    lines = [json.dumps({"text": make_doc(rng, 12)}) for _ in range(300)]
    lines[40] = lines[10]  # one exact duplicate, found across the two pieces' boundary or not
    (tmp_path / "one.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    steps = ["repair", "exact_dedup"]
    one = cfg_of([{"name": "j", "paths": ["one.jsonl"]}], steps, tmp_path, executor={"tasks": 1})
    two = cfg_of([{"name": "j", "paths": ["one.jsonl"]}], steps, tmp_path, executor={"tasks": 2, "workers": 1})
    build_corpus(one, tmp_path / "one", progress=False)
    build_corpus(two, tmp_path / "two", progress=False)
    per_task = [json.loads(f.read_text())[0]["stats"]["documents"]
                for f in sorted((tmp_path / "two" / "_work" / "logs" / "pass0" / "stats").glob("*.json"))]
    assert len(per_task) == 2 and min(per_task) > 100 and sum(per_task) == 300
    m1, m2 = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("one", "two"))
    assert m2["input_units"] == 1 and m2["rejected"] == m1["rejected"] == {"exact_duplicate": 1}
    assert [r["id"] for r in read_rows(tmp_path / "two")] == [r["id"] for r in read_rows(tmp_path / "one")]
